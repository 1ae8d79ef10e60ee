"""Run a list of independent tasks on a Dask cluster (or here, one after the other).

:func:`run_tasks` is the one executor of geoface's distributed steps. Tasks are
picklable values, ``fn(task)`` is a module-level function; each task runs under
a thread budget, is retried on failure and, when its worker dies, runs again
on another one. The result of every task comes back in task order, with who
ran it and how long it took, so that a step can write an exactly-once output
whatever happened on the way (tasks write their parts under names fixed by
their input, so a repeated task rewrites the same part).
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import GeofaceError
from .._threads import thread_budget

__all__ = ["TaskRun", "run_tasks"]


@dataclass
class _Done:
    index: int
    result: Any
    worker: str
    seconds: float
    threads: int


def _call(fn: Callable, task: Any, index: int, threads: int | None, *shared: Any) -> _Done:
    """Run one task under its thread budget; note where and how long (runs on the worker).

    ``shared`` (zero or one value): the shared value the task needs, passed as ``fn``'s
    second argument."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            worker = str(get_worker().address)
        except ValueError:  # not inside a worker
            pass
    t0 = time.perf_counter()
    with thread_budget(threads) as n:
        result = fn(task, *shared)
    return _Done(index, result, worker, time.perf_counter() - t0, n)


@dataclass
class TaskRun:
    """What :func:`run_tasks` did.

    Attributes
    ----------
    results : list
        ``fn(task)`` of every task, in task order.
    n_tasks : int
    n_items : int
        Items over all tasks (images, frames …).
    elapsed_s : float
        Wall time of the whole run (cluster start excluded).
    workers : dict
        Per worker (address, or ``host:pid`` when run here): ``tasks``,
        ``items``, ``busy_s`` (time inside tasks), ``threads``.
    where : str
        ``"here"`` or the cluster's description.
    task_workers : list of str
        Who ran each task, in task order (keys of ``workers``).
    n_shared : int
        Shared values sent (each once, however many tasks need it).
    """

    results: list
    n_tasks: int
    n_items: int
    elapsed_s: float
    workers: dict = field(default_factory=dict)
    where: str = "here"
    task_workers: list = field(default_factory=list)
    n_shared: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary for a sidecar (without the results)."""
        return {
            "where": self.where,
            "tasks": self.n_tasks,
            "items": self.n_items,
            "elapsed_s": round(self.elapsed_s, 3),
            "shared_values": self.n_shared,
            "items_per_s": round(self.n_items / self.elapsed_s, 2) if self.elapsed_s > 0 else None,
            "workers": {
                w: {**v, "busy_s": round(v["busy_s"], 3)} for w, v in sorted(self.workers.items())
            },
        }


def _count(items: Callable[[Any], int] | None, task: Any) -> int:
    if items is not None:
        return int(items(task))
    try:
        return len(task)
    except TypeError:
        return 1


def run_tasks(
    tasks: Sequence[Any],
    fn: Callable[[Any], Any],
    *,
    cluster=None,
    threads: int | None = None,
    retries: int = 2,
    progress: bool = True,
    items: Callable[[Any], int] | None = None,
    unit: str = "item",
    desc: str = "tasks",
    name: str = "geoface",
    shared: Mapping[Hashable, Any] | None = None,
    key_of: Callable[[Any], Hashable] | None = None,
) -> TaskRun:
    """Run ``fn`` on every task, on a Dask cluster or here, and return the results in order.

    Parameters
    ----------
    tasks : sequence
        Picklable task values.
    fn : callable
        A module-level function (importable on the workers) taking one task.
    cluster : str, ClusterSpec or distributed.Client, optional
        Where to run (:func:`parse_cluster`); None runs the tasks here, one
        after the other.
    threads : int, optional
        Thread budget of each task (:func:`geoface.cluster.thread_budget`).
        Default: here, this process's allotment; on a local cluster, the cores
        shared out among its workers; elsewhere, each worker's own allotment.
    retries : int, default=2
        Extra attempts of a task that raised. A task whose worker died is
        rescheduled by Dask without counting as a retry (up to
        ``distributed.scheduler.allowed-failures`` deaths).
    progress : bool, default=True
        A progress bar over tasks, with items/s.
    items : callable, optional
        Items of a task (for the bar and counts); default ``len(task)``, else 1.
    unit, desc : str
        Labels of the progress bar.
    name : str
        Prefix of the Dask task keys.
    shared : mapping, optional
        Values several tasks need (a video's frame-time index, the decoded
        faces of a training set), each sent to the cluster once rather than
        inside every task: a task is then called as ``fn(task, shared[key_of(task)])``.
        On a cluster each value is a small task of its own whose result the
        workers fetch, so a worker that dies holding it loses nothing (the
        scheduler sends it again); a value larger than 8 MiB (decoded faces)
        goes from here straight to every worker instead (Dask's broadcast
        scatter), so it does not pass through the scheduler, and it survives as
        long as one worker holds it.
    key_of : callable, optional
        The key in ``shared`` of the value a task needs (required with ``shared``).

    Returns
    -------
    TaskRun

    Raises
    ------
    GeofaceError
        When a task still fails after its retries (the message names it and its error).
    """
    tasks = list(tasks)
    if shared is not None and key_of is None:
        raise ValueError("run_tasks: shared values need key_of(task) naming each task's value")
    keys = [key_of(t) for t in tasks] if shared is not None else None
    n_items = sum(_count(items, t) for t in tasks)
    bar = _bar(len(tasks), n_items, progress, unit, desc)
    done: list[_Done | None] = [None] * len(tasks)
    where = "here"
    t0 = time.perf_counter()
    try:
        if cluster is None or not tasks:  # nothing to send: no cluster is started
            for i, task in enumerate(tasks):
                extra = () if keys is None else (shared[keys[i]],)
                try:
                    d = _call(fn, task, i, threads, *extra)
                except GeofaceError:
                    raise
                except Exception as exc:
                    raise _task_error(i, len(tasks), "here", exc) from exc
                done[i] = d
                bar.advance(_count(items, task))
        else:
            from ._spec import ClusterSpec, open_client, parse_cluster

            spec = None
            if isinstance(cluster, str | os.PathLike | ClusterSpec):
                spec = parse_cluster(cluster)
                if threads is None:
                    threads = spec.task_threads()
            with open_client(spec if spec is not None else cluster) as client:
                where = spec.describe() if spec is not None else str(client.scheduler.address)
                t0 = time.perf_counter()
                _run_on(client, tasks, fn, threads, retries, items, name, done, bar, shared, keys)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    workers: dict[str, dict] = {}
    for d, task in zip(done, tasks, strict=True):
        w = workers.setdefault(d.worker, {"tasks": 0, "items": 0, "busy_s": 0.0, "threads": 0})
        w["tasks"] += 1
        w["items"] += _count(items, task)
        w["busy_s"] += d.seconds
        w["threads"] = max(w["threads"], d.threads)
    return TaskRun(
        results=[d.result for d in done],
        n_tasks=len(tasks),
        n_items=n_items,
        elapsed_s=elapsed,
        workers=workers,
        where=where,
        task_workers=[d.worker for d in done],
        n_shared=len(set(keys)) if keys is not None else 0,
    )


#: Shared values above this many bytes are scattered to every worker rather than sent as tasks.
SCATTER_BYTES = 8 * 2**20


def _nbytes(value: Any) -> int:
    from dask.sizeof import sizeof

    return int(sizeof(value))


def _value(value: Any) -> Any:
    """A shared value, as the result of a task (runs on a worker)."""
    return value


def _run_on(client, tasks, fn, threads, retries, items, name, done, bar, shared, keys) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    # each shared value once, as a task's result: the scheduler holds what makes it, so a
    # worker that dies holding the value loses nothing (it is made again where needed)
    held: dict = {}
    for key in keys or ():
        if key in held:
            continue
        if _nbytes(shared[key]) > SCATTER_BYTES:  # large: to every worker, not via the scheduler
            held[key] = client.scatter(shared[key], broadcast=True, hash=False)
        else:
            held[key] = client.submit(
                _value, shared[key], key=f"{name}-{token}-shared-{len(held)}", pure=False
            )
    futures = [
        client.submit(
            _call,
            fn,
            task,
            i,
            threads,
            *(() if keys is None else (held[keys[i]],)),
            key=f"{name}-{token}-{i}",
            retries=retries,
            pure=False,
        )
        for i, task in enumerate(tasks)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for future in as_completed(futures):
            i = index[future.key]
            try:
                d = future.result()
            except GeofaceError:
                raise
            except Exception as exc:
                raise _task_error(i, len(tasks), "the cluster", exc) from exc
            done[i] = d
            bar.advance(_count(items, tasks[i]))
    finally:
        client.cancel(futures + list(held.values()))


def _task_error(i: int, n: int, where: str, exc: BaseException) -> GeofaceError:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return GeofaceError(
        f"task {i + 1} of {n} failed on {where} after its retries: {type(exc).__name__}: {first}"
    )


class _Bar:
    """Progress over tasks, counting items (images, frames) for the rate."""

    def __init__(self, n_tasks, n_items, enabled, unit, desc):
        self.n_tasks, self.done = n_tasks, 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            tty = sys.stderr.isatty()
            self.bar = tqdm(
                total=n_items,
                unit=unit,
                desc=desc,
                file=sys.stderr,
                dynamic_ncols=tty,
                mininterval=0.2 if tty else 30.0,
                maxinterval=10.0 if tty else 120.0,
                ascii=not tty,
            )

    def advance(self, n_items: int) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(n_items)
            self.bar.set_postfix_str(f"tasks {self.done}/{self.n_tasks}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _bar(n_tasks, n_items, enabled, unit, desc) -> _Bar:
    return _Bar(n_tasks, n_items, enabled, unit, desc)
