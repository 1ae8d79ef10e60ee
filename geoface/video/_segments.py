"""Segments: the unit of work, of resume and of cluster tasks.

The sampled frames of a video are cut into fixed segments of ``segment_frames``
kept frames. :func:`run_segment` decodes one segment's frames, starts a fresh
tracker (so a segment's result never depends on where, or after what, it runs),
finds the faces and writes ONE part file atomically::

    <cache>/video/<sha1[:16]>-<config-hash>/seg-<first:08d>-<last:08d>.parquet

with one row per (frame, face): ``ordinal, time_s, track_id`` (local to the
segment), ``qc_status, qc_note, qc_box_x, qc_box_y, qc_box_w, qc_box_h,
qc_det_score, how`` and the raw landmarks ``x_0..x_67, y_0..y_67`` in the
video's displayed pixels. The config hash covers the landmarker's and the
tracker's fingerprints, the sampling, ``max_side`` and ``segment_frames``. A
part that exists is reused: an interrupted extraction resumes with no frame
computed twice.

:class:`SegmentTask` is picklable and :func:`run_segment` is a pure function of
it, so tasks can be shipped to worker processes; the landmarker is made once per
process (:func:`get_landmarker`) and reused.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._convention import LANDMARK_COLUMNS, N_LANDMARKS

__all__ = [
    "PART_COLUMNS",
    "SegmentTask",
    "config_hash",
    "get_landmarker",
    "landmarker_spec",
    "part_folder",
    "plan_segments",
    "read_part_meta",
    "resolve_landmarker",
    "run_segment",
    "run_segments_together",
]

#: Columns of a part file, in order (then x_0..x_67, y_0..y_67).
PART_COLUMNS: tuple[str, ...] = (
    "ordinal",
    "time_s",
    "track_id",
    "qc_status",
    "qc_note",
    "qc_box_x",
    "qc_box_y",
    "qc_box_w",
    "qc_box_h",
    "qc_det_score",
    "how",
)
_XY = list(LANDMARK_COLUMNS)

_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def landmarker_spec(**options: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`geoface.landmarks.make_landmarker` as a JSON-able dict.

    ``name`` is the backend (``"auto"`` is resolved by the caller before the
    spec is shipped, so that every process uses the same backend); paths become
    text; ``None`` values are dropped.
    """
    spec = {}
    for key, value in options.items():
        if value is None:
            continue
        spec[key] = str(value) if hasattr(value, "__fspath__") else value
    return spec


def get_landmarker(spec: dict[str, Any]):
    """The landmarker ``spec`` describes, made once per process and reused.

    Parameters
    ----------
    spec : dict
        Keyword arguments of :func:`geoface.landmarks.make_landmarker`
        (``name`` first), as :func:`landmarker_spec` makes them.

    Returns
    -------
    Landmarker
        Cached under the spec; its fingerprint is what part files are keyed by.
    """
    key = json.dumps(spec, sort_keys=True, default=str)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            from ..landmarks import make_landmarker

            options = dict(spec)
            name = options.pop("name", "auto")
            found = make_landmarker(name, **options)
            _CACHE[key] = found
        return found


def resolve_landmarker(spec: dict[str, Any]):
    """The landmarker of ``spec``, and the spec with ``name`` resolved (``"auto"`` → its choice).

    The resolved spec is what tasks carry, so that every process uses the backend
    chosen here; the landmarker is cached under both specs.
    """
    landmarker = get_landmarker(spec)
    resolved = {**spec, "name": landmarker.name}
    key = json.dumps(resolved, sort_keys=True, default=str)
    with _CACHE_LOCK:
        _CACHE.setdefault(key, landmarker)
    return landmarker, resolved


def _tracker_settings(tracker: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(tracker.items()) if v is not None}


def make_tracker(landmarker, settings: dict[str, Any]):
    """A :class:`FaceTracker` on ``landmarker`` with ``settings`` (faces, redetect_every, …)."""
    from ._track import FaceTracker

    return FaceTracker(landmarker, **_tracker_settings(settings))


def config_hash(
    landmarker_fingerprint: dict, tracker_fingerprint: dict, sampling: dict, max_side, n: int
) -> str:
    """The short hash naming a video's part folder (what determines the parts' content)."""
    doc = {
        "landmarker": landmarker_fingerprint,
        "tracker": tracker_fingerprint,
        "sampling": sampling,
        "max_side": max_side,
        "segment_frames": int(n),
        "format": 1,
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class SegmentTask:
    """One segment of one video: everything :func:`run_segment` needs, picklable.

    Attributes
    ----------
    info : VideoInfo
        The probed video (with its presentation-timestamp index).
    ordinals : ndarray of int
        The kept frame ordinals of this segment, sorted.
    index : int
        The segment's number within the video.
    part : str
        The part file this task writes.
    landmarker : dict
        The landmarker spec (:func:`get_landmarker`).
    tracker : dict
        :class:`FaceTracker` settings (``faces``, ``redetect_every`` …).
    max_side : int or None
        Frames are downscaled to this longer side for landmarking;
        coordinates are always in the video's displayed pixels.
    batch : int
        Frames handed to the tracker at a time.
    """

    info: Any
    ordinals: np.ndarray
    index: int
    part: str
    landmarker: dict = field(default_factory=dict)
    tracker: dict = field(default_factory=dict)
    max_side: int | None = None
    batch: int = 8

    @property
    def first(self) -> int:
        return int(self.ordinals[0])

    @property
    def last(self) -> int:
        return int(self.ordinals[-1])

    @property
    def done(self) -> bool:
        """Whether the part file exists already (a resumed extraction skips it)."""
        return Path(self.part).is_file()


def part_folder(cache_dir: str | Path, sha1: str, chash: str) -> Path:
    """``<cache>/video/<sha1[:16]>-<config-hash>``."""
    return Path(cache_dir) / "video" / f"{sha1[:16]}-{chash}"


def plan_segments(
    info,
    ordinals: np.ndarray,
    folder: str | Path,
    *,
    segment_frames: int = 256,
    landmarker: dict | None = None,
    tracker: dict | None = None,
    max_side: int | None = None,
    batch: int = 8,
) -> list[SegmentTask]:
    """Cut a video's kept ordinals into segments of ``segment_frames`` frames.

    Parameters
    ----------
    info : VideoInfo
    ordinals : ndarray of int
        The kept frames (:meth:`Sampling.select`), sorted.
    folder : path
        The video's part folder (:func:`part_folder`).
    segment_frames : int, default=256
    landmarker, tracker, max_side, batch
        Copied into every task.

    Returns
    -------
    list of SegmentTask
        In order; ``task.done`` says which parts exist already.
    """
    from .._errors import GeofaceError

    if int(segment_frames) < 1:
        raise GeofaceError(f"segment_frames={segment_frames} must be a whole number ≥ 1")
    ordinals = np.asarray(ordinals, dtype=np.int64)
    folder = Path(folder)
    tasks = []
    for k, start in enumerate(range(0, len(ordinals), int(segment_frames))):
        chunk = ordinals[start : start + int(segment_frames)]
        name = f"seg-{int(chunk[0]):08d}-{int(chunk[-1]):08d}.parquet"
        tasks.append(
            SegmentTask(
                info=info,
                ordinals=chunk,
                index=k,
                part=str(folder / name),
                landmarker=dict(landmarker or {}),
                tracker=dict(tracker or {}),
                max_side=max_side,
                batch=max(1, int(batch)),
            )
        )
    return tasks


def _to_original(points: np.ndarray, factor: tuple[float, float]) -> np.ndarray:
    """Map working-copy pixel coordinates to the displayed video's pixels."""
    fx, fy = factor
    if fx == 1.0 and fy == 1.0:
        return points
    out = np.array(points, dtype=float, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * fx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * fy - 0.5
    return out


class _Rows:
    """Column buffers of a part file."""

    def __init__(self):
        self.cols: dict[str, list] = {c: [] for c in PART_COLUMNS}
        self.xy: list[np.ndarray] = []

    def add(self, ordinal, time_s, track, status, note, box, score, how, landmarks):
        c = self.cols
        c["ordinal"].append(int(ordinal))
        c["time_s"].append(float(time_s))
        c["track_id"].append(track)
        c["qc_status"].append(str(status))
        c["qc_note"].append(str(note or ""))
        box = np.full(4, np.nan) if box is None else np.asarray(box, dtype=float)
        c["qc_box_x"].append(float(box[0]))
        c["qc_box_y"].append(float(box[1]))
        c["qc_box_w"].append(float(box[2] - box[0]))
        c["qc_box_h"].append(float(box[3] - box[1]))
        c["qc_det_score"].append(float(score) if score is not None else np.nan)
        c["how"].append(str(how or ""))
        lm = np.full((N_LANDMARKS, 2), np.nan) if landmarks is None else landmarks
        self.xy.append(np.concatenate([lm[:, 0], lm[:, 1]]).astype(float))

    def table(self, meta: dict):
        import pyarrow as pa

        arrays = {
            "ordinal": pa.array(self.cols["ordinal"], pa.int64()),
            "time_s": pa.array(self.cols["time_s"], pa.float64()),
            "track_id": pa.array(self.cols["track_id"], pa.int64()),
            "qc_status": pa.array(self.cols["qc_status"], pa.string()),
            "qc_note": pa.array(self.cols["qc_note"], pa.string()),
        }
        for c in ("qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h", "qc_det_score"):
            arrays[c] = pa.array(self.cols[c], pa.float64())
        arrays["how"] = pa.array(self.cols["how"], pa.string())
        xy = np.stack(self.xy) if self.xy else np.empty((0, 2 * N_LANDMARKS))
        for j, name in enumerate(_XY):
            arrays[name] = pa.array(xy[:, j], pa.float64())
        table = pa.table(arrays)
        return table.replace_schema_metadata({"geoface": json.dumps(meta, default=str)})


def _record(rows: _Rows, info, frame, result) -> None:
    """The rows of one frame: its faces, or one row with its status."""
    faces, status, note = result
    if frame.image is None:  # the decoder's word for it (unreadable_frame, missing_frames)
        rows.add(frame.ordinal, frame.time_s, None, frame.status, frame.note, None, None, "", None)
        return
    if not faces:
        rows.add(frame.ordinal, frame.time_s, None, status, note, None, None, "", None)
        return
    h, w = frame.image.shape[:2]
    factor = (info.width / w, info.height / h)
    for face in faces:
        box = _to_original(np.asarray(face.box, float).reshape(2, 2), factor).ravel()
        pts = _to_original(np.asarray(face.landmarks, float), factor)
        rows.add(
            frame.ordinal, frame.time_s, int(face.track_id), status, note, box, face.score,
            face.how, pts,
        )  # fmt: skip


def _write_part(task: SegmentTask, rows: _Rows, timings: dict, t0: float, c0: float) -> Path:
    import pyarrow.parquet as pq

    from .._atomic import atomic_path

    part = Path(task.part)
    timings = {k: round(v, 4) for k, v in timings.items()}
    timings["total_s"] = round(time.perf_counter() - t0, 4)
    # CPU time of this process (all its threads) while the segment ran
    timings["cpu_s"] = round(time.process_time() - c0, 4)
    meta = {
        "video": task.info.path,
        "sha1": task.info.sha1,
        "segment": task.index,
        "first": task.first,
        "last": task.last,
        "n_frames": len(task.ordinals),
        "timings": timings,
    }
    table = rows.table(meta)
    part.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(part) as tmp:
        pq.write_table(table, tmp)
    return part


def run_segment(task: SegmentTask, landmarker=None) -> Path:
    """Compute one segment and write its part file atomically; return the part's path.

    An existing part is returned as it is (resume). The result depends on the
    task alone: the tracker starts fresh on the segment's first frame, and
    every frame (an undecodable one too) advances it.

    Parameters
    ----------
    task : SegmentTask
    landmarker : Landmarker, optional
        Default: :func:`get_landmarker` of ``task.landmarker`` (made once per process).

    Returns
    -------
    Path
    """
    from ._decode import read_frames

    part = Path(task.part)
    if part.is_file():
        return part
    t0 = time.perf_counter()
    c0 = time.process_time()
    lm = landmarker if landmarker is not None else get_landmarker(task.landmarker)
    tracker = make_tracker(lm, task.tracker)
    tracker.reset()
    rows = _Rows()
    timings = {"decode_s": 0.0, "landmarks_s": 0.0}
    pending: list = []

    def flush() -> None:
        if pending:
            t = time.perf_counter()
            results = tracker.step([f.image for f in pending])
            timings["landmarks_s"] += time.perf_counter() - t
            for frame, result in zip(pending, results, strict=True):
                _record(rows, task.info, frame, result)
            pending.clear()

    frames = iter(read_frames(task.info, np.asarray(task.ordinals), max_side=task.max_side))
    while True:
        t = time.perf_counter()
        frame = next(frames, None)
        timings["decode_s"] += time.perf_counter() - t
        if frame is None:
            break
        pending.append(frame)
        if len(pending) >= task.batch:
            flush()
    flush()
    return _write_part(task, rows, timings, t0, c0)


def run_segments_together(tasks: list[SegmentTask], landmarker=None) -> list[Path]:
    """Compute several segments in lockstep, their landmarker calls batched; write their parts.

    For a batched landmark model (FAN on a GPU): each segment keeps its own
    tracker, and every frame step advances all of them at once
    (:meth:`FaceTracker.step_together`), so fits and detections go to the
    model as one batch. Each part is the same as :func:`run_segment` writes.

    Parameters
    ----------
    tasks : list of SegmentTask
        Segments sharing one landmarker spec (those done already are skipped).
    landmarker : Landmarker, optional

    Returns
    -------
    list of Path
        The part of each task, in order.
    """
    from ._decode import read_frames
    from ._track import FaceTracker

    todo = [t for t in tasks if not Path(t.part).is_file()]
    if todo:
        t0 = time.perf_counter()
        c0 = time.process_time()
        lm = landmarker if landmarker is not None else get_landmarker(todo[0].landmarker)
        active = []
        for task in todo:
            tracker = make_tracker(lm, task.tracker)
            tracker.reset()
            frames = iter(read_frames(task.info, np.asarray(task.ordinals), max_side=task.max_side))
            active.append((task, tracker, frames, _Rows()))
        timings = {"decode_s": 0.0, "landmarks_s": 0.0}
        while active:
            t = time.perf_counter()
            step = [(a, next(a[2], None)) for a in active]
            timings["decode_s"] += time.perf_counter() - t
            for (task, _, _, rows), frame in step:
                if frame is None:  # this segment is done
                    share = {k: v / max(1, len(todo)) for k, v in timings.items()}
                    _write_part(task, rows, share, t0, c0)
            step = [(a, f) for a, f in step if f is not None]
            active = [a for a, _ in step]
            if not step:
                break
            t = time.perf_counter()
            results = FaceTracker.step_together([a[1] for a in active], [f.image for _, f in step])
            timings["landmarks_s"] += time.perf_counter() - t
            for ((task, _, _, rows), frame), result in zip(step, results, strict=True):
                _record(rows, task.info, frame, result)
    return [Path(t.part) for t in tasks]


def read_part_meta(path: str | Path) -> dict:
    """The record a part file carries (segment, frames, timings)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"geoface")
    return json.loads(raw) if raw else {}
