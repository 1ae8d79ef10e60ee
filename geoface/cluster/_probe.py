"""A task that does (almost) nothing: to measure a cluster's per-task overhead and check it works.

It is also what the tests of the executor run: it can sleep, fail, or end its own
worker process the first time it runs (a marker file remembers that it did), so
that a worker lost while it holds tasks can be staged.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProbeTask", "probe_task"]


@dataclass(frozen=True)
class ProbeTask:
    """One probe.

    Attributes
    ----------
    index : int
        Returned (with the process id) by :func:`probe_task`.
    seconds : float
        Time to sleep.
    kill_marker : str, optional
        When set and the file does not exist yet: create it, then kill this
        process (SIGKILL) — the task's first attempt dies with its worker.
    out_dir : str, optional
        Write ``<index>.txt`` atomically there (an exactly-once part).
    then : tuple (fn, task), optional
        Run ``fn(task)`` afterwards and return its result (a real task behind the probe).
    """

    index: int
    seconds: float = 0.0
    kill_marker: str | None = None
    out_dir: str | None = None
    then: tuple | None = None

    def __len__(self) -> int:
        return 1 if self.then is None else len(self.then[1])


def probe_task(task: ProbeTask, shared=None):
    """Run one probe; return ``{"index", "pid"}`` (or what ``task.then`` returns).

    ``shared``: a value :func:`run_tasks` sent once for several tasks; returned
    under ``"shared"`` (``{"index", "pid", "shared"}``)."""
    if task.seconds:
        time.sleep(task.seconds)
    if task.kill_marker is not None:
        marker = Path(task.kill_marker)
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
    if task.out_dir is not None:
        from .._atomic import atomic_path

        with atomic_path(Path(task.out_dir) / f"{task.index:06d}.txt") as tmp:
            tmp.write_text(f"{task.index}\n", encoding="utf-8")
    if task.then is not None:
        fn, inner = task.then
        return fn(inner)
    if shared is not None:
        return {"index": task.index, "pid": os.getpid(), "shared": shared}
    return {"index": task.index, "pid": os.getpid()}
