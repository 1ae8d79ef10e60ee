"""Video extraction on a cluster: the segments of every video are the tasks.

:func:`geoface.video.extract_videos` plans each video's kept frames as segments
(one part file each, named by the video's content and the configuration) and
takes a ``run_tasks`` callable for the segments not yet done. This module gives
it one that sends them to a Dask cluster: a long video spreads over the
workers, a segment whose worker dies runs again elsewhere and rewrites the same
part, and a rerun skips the parts that exist. The merge, on the driver, is the
ordinary one, so the frame table equals the one-machine table.

A segment task is sent slim: its own frame ordinals and settings, without its
video's frame-time index (presentation timestamps, times, keyframes — some
870 kB for 30 minutes at 30 frames/s). Each video's index goes to the cluster
once, as a shared value (:func:`run_tasks`), and every segment of that video
receives it there. The runner also keeps a record of the run — where, per-worker
tasks, frames, busy time, threads, segments computed — that
:func:`~geoface.video.extract_videos` writes into the sidecar (``video`` →
``cluster``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ._run import TaskRun, run_tasks

__all__ = ["SegmentRunner", "segment_runner", "slim_segment"]


def _frames(task) -> int:
    return len(task.ordinals)


def _video_key(task) -> str:
    info = task.info
    return f"{info.sha1}:{info.path}"


def slim_segment(task):
    """The segment task without its video's frame-time index (``info=None``): what is sent.

    Parameters
    ----------
    task : SegmentTask

    Returns
    -------
    SegmentTask
    """
    return dataclasses.replace(task, info=None)


def _run_segment(task, info=None) -> dict:
    """Compute one segment on a worker; ``info`` is its video's index, sent once per video."""
    from ..video import run_segment

    if info is not None:
        task = dataclasses.replace(task, info=info)
    found = task.done  # written by an earlier attempt (or another run) already
    return {"part": str(run_segment(task)), "computed": not found}


class SegmentRunner:
    """The ``run_tasks`` of :func:`geoface.video.extract_videos` on a cluster (see
    :func:`segment_runner`); calling it runs the segments and returns their parts."""

    def __init__(self, cluster, *, threads=None, retries=2, progress=True, runs=None):
        self.cluster = cluster
        self.threads = threads
        self.retries = retries
        self.progress = progress
        self.runs = runs
        self.last: TaskRun | None = None

    def __call__(self, tasks: list) -> list[Path]:
        tasks = list(tasks)
        index = {_video_key(t): t.info for t in tasks}  # each video's frame-time index, once
        key = {t.part: _video_key(t) for t in tasks}  # a part names one segment of one video
        run = run_tasks(
            [slim_segment(t) for t in tasks],
            _run_segment,
            cluster=self.cluster,
            threads=self.threads,
            retries=self.retries,
            progress=self.progress,
            items=_frames,
            unit="frame",
            desc="segments",
            name="geoface-video",
            shared=index,
            key_of=lambda slim: key[slim.part],
        )
        self.last = run
        if self.runs is not None:
            self.runs.append(run)
        return [Path(r["part"]) for r in run.results]

    def sidecar_record(self) -> dict[str, Any] | None:
        """The cluster's part of the sidecar's ``video`` record (None before any run).

        Returns
        -------
        dict or None
            ``where`` (the spec's facts), ``segments`` (tasks sent), ``frames``,
            ``segments_computed`` (by the workers; the rest were found written by an
            earlier attempt), ``videos_shared`` (frame-time indexes sent, once each),
            ``threads_per_task``, ``elapsed_s``, ``frames_per_s`` and per worker
            ``tasks``, ``frames``, ``busy_s``, ``threads``, ``segments_computed``.
        """
        run = self.last
        if run is None:
            return None
        workers: dict[str, dict] = {}
        for name, facts in sorted(run.workers.items()):
            workers[name] = {
                "tasks": facts["tasks"],
                "frames": facts["items"],
                "busy_s": round(facts["busy_s"], 3),
                "threads": facts["threads"],
                "segments_computed": 0,
            }
        for who, result in zip(run.task_workers, run.results, strict=True):
            workers[who]["segments_computed"] += int(result["computed"])
        summary = run.to_dict()
        return {
            "where": _where(self.cluster),
            "segments": run.n_tasks,
            "frames": run.n_items,
            "segments_computed": sum(int(r["computed"]) for r in run.results),
            "videos_shared": run.n_shared,
            "threads_per_task": self.threads
            if self.threads is not None
            else _task_threads(self.cluster),
            "elapsed_s": summary["elapsed_s"],
            "frames_per_s": summary["items_per_s"],
            "workers": workers,
        }


def _where(cluster) -> dict[str, Any]:
    from ._spec import ClusterSpec, parse_cluster

    if isinstance(cluster, str | os.PathLike | ClusterSpec):
        return parse_cluster(cluster).to_dict()
    try:
        return {"kind": "client", "address": str(cluster.scheduler.address)}
    except AttributeError:
        return {"kind": type(cluster).__name__}


def _task_threads(cluster) -> int | None:
    from ._spec import ClusterSpec, parse_cluster

    if isinstance(cluster, str | os.PathLike | ClusterSpec):
        return parse_cluster(cluster).task_threads()
    return None


def segment_runner(
    cluster,
    *,
    threads: int | None = None,
    retries: int = 2,
    progress: bool = True,
    runs: list[TaskRun] | None = None,
) -> SegmentRunner:
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
    SegmentRunner
        ``runner(tasks) -> list of part paths``, in task order;
        ``runner.sidecar_record()`` is the run's record for the sidecar.
    """
    return SegmentRunner(cluster, threads=threads, retries=retries, progress=progress, runs=runs)
