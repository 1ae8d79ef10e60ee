"""The thread budget: how many threads one step may use, given alike to every library.

BLAS and OpenMP (through threadpoolctl), XGBoost, PyTorch, OpenCV and dlib's
detection pool each start one thread per core by default. Two jobs doing so
on a shared node, or several Dask workers on one machine, spin against each
other. :func:`thread_budget` sets one number for all of them for the duration
of a block; :func:`current_threads` is what the code that builds models and
landmarkers reads (``None`` outside any budget: their own defaults).

This module is stdlib-only and imports the libraries it limits only when they
are already loaded (threadpoolctl excepted), so ``import geoface`` stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from ._errors import GeofaceError

__all__ = ["cpu_allotment", "current_threads", "default_threads", "thread_budget"]

_BUDGET: list[int] = []


def cpu_allotment() -> int:
    """The cores this process may run on (its CPU affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - macOS / Windows


def default_threads() -> int:
    """The allotment of this process: its share of a Dask worker, else its CPU affinity.

    Inside a Dask worker that runs ``nthreads`` tasks at once, each task gets
    ``cores // nthreads``, capped by the worker's ``OMP_NUM_THREADS`` (Dask's
    nanny sets it to 1 in every worker it starts, since several workers
    usually share a machine); elsewhere, the cores this process may run on
    (``os.sched_getaffinity``: what SLURM or ``taskset`` granted).
    """
    cores = cpu_allotment()
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            nthreads = int(get_worker().state.nthreads)
        except (ValueError, AttributeError):
            return cores
        share = max(1, cores // max(1, nthreads))
        try:
            cap = int(os.environ.get("OMP_NUM_THREADS") or share)
        except ValueError:
            cap = share
        return max(1, min(share, cap))
    return cores


_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


_CONTROLLER: list = [None, -1]  # threadpoolctl's view of the loaded pools, and when it was made


def _controller():
    """threadpoolctl's controller of the thread pools loaded now (rebuilt when modules were
    imported since: finding the pools takes a millisecond or two, a task may be shorter)."""
    try:
        import numpy  # noqa: F401  (load BLAS so that its pool is limited)
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
        _CONTROLLER[:] = [ThreadpoolController(), len(sys.modules)]
    return _CONTROLLER[0]


def _cv2():
    """OpenCV, loaded now if installed (geoface decodes images with it, usually later)."""
    if "cv2" not in sys.modules:
        try:
            import cv2  # noqa: F401
        except ImportError:  # pragma: no cover - a core dependency
            return None
    return sys.modules.get("cv2")


def current_threads() -> int | None:
    """The budget in force (the innermost :func:`thread_budget`), or None outside any."""
    return _BUDGET[-1] if _BUDGET else None


def check_threads(n, *, option: str = "--threads") -> int:
    """Validate a thread count (a whole number ≥ 1); one-line error otherwise."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GeofaceError(f"{option} {n!r} is not a whole number ≥ 1; give e.g. {option} 4")
    return n


@contextmanager
def thread_budget(n: int | None = None) -> Iterator[int]:
    """Give every threaded library the same number of threads for the duration of a block.

    Parameters
    ----------
    n : int, optional
        Threads (≥ 1); default :func:`default_threads`.

    Yields
    ------
    n : int
        The budget applied.

    Notes
    -----
    Applied to: BLAS and OpenMP pools loaded in the process (threadpoolctl;
    NumPy is loaded first so its BLAS is among them) and, through
    ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set for
    the duration of the block, pools started inside it; PyTorch
    (``torch.set_num_threads``) when it is loaded (load it first); OpenCV
    (``cv2.setNumThreads``); and — through :func:`current_threads` — XGBoost's
    ``n_jobs``, scikit-learn's ``n_jobs`` in geoface's models, dlib's detection
    threads and the image-decoding threads of landmark detection.
    Everything is restored on exit.
    """
    n = default_threads() if n is None else check_threads(n)
    with ExitStack() as stack:
        controller = _controller()
        if controller is not None:
            stack.enter_context(controller.limit(limits=n))
        # libraries loaded inside the block read these when they start their pools
        for name in _ENV_VARS:
            stack.callback(_restore_env, name, os.environ.get(name))
            os.environ[name] = str(n)
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "set_num_threads"):
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            stack.callback(torch.set_num_threads, before)
        cv2 = _cv2()
        if cv2 is not None and hasattr(cv2, "setNumThreads"):
            before_cv = cv2.getNumThreads()
            cv2.setNumThreads(n)
            stack.callback(cv2.setNumThreads, before_cv)
        _BUDGET.append(n)
        stack.callback(_BUDGET.pop)
        yield n
