"""Video extraction on a cluster: the segments of every video are the tasks.

:func:`geoface.video.extract_videos` plans each video's kept frames as segments
(one part file each, named by the video's content and the configuration) and
takes a ``run_tasks`` callable for the segments not yet done. This module gives
it one that sends them to a Dask cluster: a long video spreads over the
workers, a segment whose worker dies runs again elsewhere and rewrites the same
part, and a rerun skips the parts that exist. The merge, on the driver, is the
ordinary one, so the frame table equals the one-machine table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ._run import TaskRun, run_tasks

__all__ = ["segment_runner"]


def _frames(task) -> int:
    return len(task.ordinals)


def _run_segment(task) -> Path:
    from ..video import run_segment

    return run_segment(task)


def segment_runner(
    cluster,
    *,
    threads: int | None = None,
    retries: int = 2,
    progress: bool = True,
    runs: list[TaskRun] | None = None,
) -> Callable[[list], list[Path]]:
    """A ``run_tasks`` for :func:`geoface.video.extract_videos` that runs segments on a cluster.

    Parameters
    ----------
    cluster : str, ClusterSpec or distributed.Client
        Where (:func:`parse_cluster`).
    threads : int, optional
        Thread budget of each segment (default: each worker's share).
    retries : int, default=2
    progress : bool, default=True
        Progress over segments, in frames/s.
    runs : list, optional
        Receives the :class:`TaskRun` (per-worker timings and counts).

    Returns
    -------
    callable
        ``runner(tasks) -> list of part paths``, in task order.
    """

    def runner(tasks: list) -> list[Path]:
        run = run_tasks(
            tasks,
            _run_segment,
            cluster=cluster,
            threads=threads,
            retries=retries,
            progress=progress,
            items=_frames,
            unit="frame",
            desc="segments",
            name="geoface-video",
        )
        if runs is not None:
            runs.append(run)
        return run.results

    return runner
