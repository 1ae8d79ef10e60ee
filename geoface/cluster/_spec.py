"""``--cluster SPEC``: where the work runs (a local cluster, a scheduler, or an HPC job queue).

Three spellings:

* ``local`` or ``local:N`` — a :class:`distributed.LocalCluster` of N worker
  processes (one Dask thread each) on this machine (``local``: one per core);
* ``tcp://host:8786`` (or ``tls://…``) — an existing Dask scheduler;
* ``cluster.yaml`` — a config file naming a ``dask_jobqueue`` class, its
  options and the number of jobs::

      class: SLURMCluster
      jobs: 4                  # batch jobs to submit
      setup:                   # shell lines run before each worker starts
        - source /shared/envs/geoface/bin/activate
      options:                 # passed to dask_jobqueue.SLURMCluster
        queue: compute         # the SLURM partition
        cores: 8
        processes: 8           # worker processes per job (one thread each)
        memory: 32GB
        walltime: "04:00:00"
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import GeofaceError, MissingDependencyError
from .._threads import cpu_allotment

__all__ = ["JOBQUEUE_CLASSES", "ClusterSpec", "job_script", "open_client", "parse_cluster"]

#: The dask_jobqueue classes a config file may name.
JOBQUEUE_CLASSES = (
    "SLURMCluster",
    "PBSCluster",
    "SGECluster",
    "LSFCluster",
    "OARCluster",
    "HTCondorCluster",
    "MoabCluster",
)

_FORMS = (
    "local, local:N (N worker processes on this machine), a scheduler address "
    "(tcp://host:8786) or a cluster config file (.yaml)"
)


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value.

    Attributes
    ----------
    kind : {"local", "address", "jobqueue"}
    n_workers : int or None
        ``local``: worker processes.
    address : str or None
        ``address``: the scheduler.
    cls : str or None
        ``jobqueue``: the dask_jobqueue class name.
    options : dict
        ``jobqueue``: keyword arguments of that class (``setup`` lines merged
        into ``job_script_prologue``).
    jobs : int
        ``jobqueue``: batch jobs to submit.
    source : str
        What the user wrote.
    """

    kind: str
    n_workers: int | None = None
    address: str | None = None
    cls: str | None = None
    options: dict = field(default_factory=dict)
    jobs: int = 1
    source: str = ""

    def describe(self) -> str:
        """One line: ``local cluster of 2 workers``, ``scheduler tcp://…``, ``SLURMCluster × 4``."""
        if self.kind == "local":
            return f"local cluster of {self.n_workers} worker processes"
        if self.kind == "address":
            return f"scheduler {self.address}"
        return f"{self.cls} × {self.jobs} jobs ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able facts for a sidecar."""
        out: dict[str, Any] = {"kind": self.kind, "spec": self.source}
        if self.kind == "local":
            out["n_workers"] = self.n_workers
        elif self.kind == "address":
            out["address"] = self.address
        else:
            out.update({"class": self.cls, "jobs": self.jobs, "options": _jsonable(self.options)})
        return out

    def task_threads(self) -> int | None:
        """Threads each task may use when none are given: the local cores shared out, else
        None (each worker's own allotment, decided on the worker)."""
        if self.kind == "local":
            return max(1, cpu_allotment() // max(1, int(self.n_workers or 1)))
        return None


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def parse_cluster(spec: str | os.PathLike | ClusterSpec) -> ClusterSpec:
    """Parse a ``--cluster`` value (see the module docstring); one-line GeofaceError if wrong.

    Parameters
    ----------
    spec : str, path-like or ClusterSpec

    Returns
    -------
    ClusterSpec
    """
    if isinstance(spec, ClusterSpec):
        return spec
    text = str(spec).strip()
    if text == "local" or text.startswith("local:"):
        n_text = text.partition(":")[2]
        if not n_text:
            return ClusterSpec("local", n_workers=cpu_allotment(), source=text)
        try:
            n = int(n_text)
        except ValueError:
            n = 0
        if n < 1 or str(n) != n_text.strip():
            raise GeofaceError(
                f"--cluster {text!r}: {n_text!r} is not a whole number of workers ≥ 1; "
                "give e.g. local:4"
            )
        return ClusterSpec("local", n_workers=n, source=text)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme not in ("tcp", "tls", "ucx", "inproc", "ws", "wss") or not rest:
            raise GeofaceError(
                f"--cluster {text!r} is not a scheduler address like tcp://host:8786"
            )
        return ClusterSpec("address", address=text, source=text)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_config(path)
    raise GeofaceError(f"--cluster {text!r} is not one of: {_FORMS}")


def _read_config(path: Path) -> ClusterSpec:
    import yaml

    if not path.is_file():
        raise GeofaceError(f"--cluster config file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GeofaceError(f"cannot read cluster config {path} as YAML: {first}") from None
    if not isinstance(doc, dict):
        raise GeofaceError(
            f"cluster config {path} is not a mapping; give 'class:', 'options:' and 'jobs:'"
        )
    unknown = sorted(set(doc) - {"class", "options", "jobs", "setup"})
    if unknown:
        raise GeofaceError(
            f"cluster config {path}: unknown keys {unknown}; allowed: class, options, jobs, setup"
        )
    cls = doc.get("class")
    if cls not in JOBQUEUE_CLASSES:
        raise GeofaceError(
            f"cluster config {path}: class={cls!r} is not one of {list(JOBQUEUE_CLASSES)}"
        )
    options = doc.get("options") or {}
    if not isinstance(options, dict):
        raise GeofaceError(f"cluster config {path}: 'options' must be a mapping of {cls} options")
    jobs = doc.get("jobs", 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GeofaceError(f"cluster config {path}: jobs={jobs!r} is not a whole number ≥ 1")
    setup = doc.get("setup") or []
    if isinstance(setup, str):
        setup = [setup]
    if not isinstance(setup, list) or not all(isinstance(s, str) for s in setup):
        raise GeofaceError(f"cluster config {path}: 'setup' must be a list of shell lines")
    options = dict(options)
    options["job_script_prologue"] = [
        *setup,
        *_thread_pins(options),
        *list(options.get("job_script_prologue") or []),
    ]
    return ClusterSpec("jobqueue", cls=cls, options=options, jobs=jobs, source=str(path))


def _thread_pins(options: dict) -> list[str]:
    """A shell line that pins BLAS/OpenMP pools to one thread per Dask worker thread.

    dask-jobqueue gives each worker process ``cores / processes`` threads, each
    running one task, so each task's share is one core. geoface's tasks set their
    own budget at run time too; this line covers libraries loaded before that.
    """
    del options
    return ["export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"]


def _jobqueue_class(spec: ClusterSpec):
    try:
        import dask_jobqueue
    except ImportError as exc:  # pragma: no cover - a dependency
        raise MissingDependencyError(
            f"--cluster {spec.source} needs dask-jobqueue: pip install dask-jobqueue"
        ) from exc
    return getattr(dask_jobqueue, spec.cls)


def job_script(spec: str | os.PathLike | ClusterSpec, *, scheduler: str = "tcp://SCHEDULER:8786"):
    """The batch script each job of a config file would run, built without submitting anything.

    Parameters
    ----------
    spec : str, path-like or ClusterSpec
        A cluster config file.
    scheduler : str
        The scheduler address written into the script (the real one is known
        only once the cluster starts).

    Returns
    -------
    str
    """
    spec = parse_cluster(spec)
    if spec.kind != "jobqueue":
        raise GeofaceError(f"--cluster {spec.source!r} is not a cluster config file (.yaml)")
    job_cls = _jobqueue_class(spec).job_cls
    try:
        job = job_cls(scheduler=scheduler, name="geoface-worker", **spec.options)
    except (TypeError, ValueError) as exc:
        raise GeofaceError(f"cluster config {spec.source}: {spec.cls} options: {exc}") from None
    return job.job_script()


@contextmanager
def open_client(spec, *, quiet: bool = True) -> Iterator[Any]:
    """A ``distributed.Client`` for a ``--cluster`` value, closed (with its cluster) on exit.

    Parameters
    ----------
    spec : str, path-like, ClusterSpec or distributed.Client
        A Client passes through and is left open.
    quiet : bool, default=True
        No dashboard for local clusters.

    Yields
    ------
    distributed.Client
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency
        raise MissingDependencyError(
            "--cluster needs dask.distributed: pip install 'dask[distributed]'"
        ) from exc
    if isinstance(spec, Client):
        yield spec
        return
    spec = parse_cluster(spec)
    if spec.kind == "local":
        cluster = LocalCluster(
            n_workers=spec.n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None if quiet else ":8787",
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if spec.kind == "address":
        try:
            client = Client(spec.address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise GeofaceError(
                f"--cluster {spec.address}: no Dask scheduler answered ({exc}); start one with "
                "'dask scheduler' or check the address"
            ) from None
        with client:
            yield client
        return
    cls = _jobqueue_class(spec)
    try:
        cluster = cls(**spec.options)
    except (TypeError, ValueError) as exc:
        raise GeofaceError(f"cluster config {spec.source}: {spec.cls} options: {exc}") from None
    try:
        cluster.scale(jobs=spec.jobs)
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
