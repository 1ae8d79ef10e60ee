"""Batch landmark detection over many images: parallel decoding, cache, QC, progress.

Every image given yields at least one row, with an image-level ``qc_status``:

==================  ==========================================================
``ok``              one face (or, with ``faces="all"``, each face of the image)
``multiple_faces``  several faces; the largest is kept (``faces="largest"``)
``fallback_box``    the detector missed; a face filling the frame was found on
                    a border-extended copy at a lower threshold (tight crop)
``no_face``         no face found (or, for ``file``, no landmarks recorded)
``unreadable``      missing, empty, truncated, corrupt or not an image
``too_small``       shorter side below ``min_size`` pixels
``error``           the backend failed on this image (message in ``qc_note``)
==================  ==========================================================
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from .._convention import N_LANDMARKS
from .._errors import GeofaceError
from ._backends import Faces, Landmarker
from ._cache import LandmarkCache
from ._images import ImageReadError, LoadedImage, decode_image, read_image_bytes
from ._io import landmarks_to_frame
from ._sources import ImageSources

__all__ = ["IMAGE_QC_COLUMNS", "IMAGE_STATUSES", "ImageLandmarks", "detect_landmarks"]

#: Image-level statuses, the ones with landmarks first.
IMAGE_STATUSES: tuple[str, ...] = (
    "ok",
    "multiple_faces",
    "fallback_box",
    "no_face",
    "unreadable",
    "too_small",
    "error",
)
#: Columns of the image-level QC frame (besides ``qc_status``), in order.
IMAGE_QC_COLUMNS: tuple[str, ...] = (
    "qc_status",
    "qc_note",
    "qc_n_faces",
    "qc_box_x",
    "qc_box_y",
    "qc_box_w",
    "qc_box_h",
    "qc_det_score",
    "qc_yaw_proxy",
    "qc_image_w",
    "qc_image_h",
    "qc_image_sha1",
)
_FACES_MODES = ("largest", "all")


@dataclass
class ImageLandmarks:
    """Landmarks of a batch of images, one row per face kept (or per failed image).

    Attributes
    ----------
    landmarks : ndarray of shape (n_rows, 68, 2)
        Original-image pixels; NaN on rows without a face.
    meta : DataFrame
        The input's columns (``id, path, label, …`` or the manifest's) and
        ``face_index`` (0 = largest face of its image; empty without a face).
    qc : DataFrame
        :data:`IMAGE_QC_COLUMNS`.
    info : dict
        Backend, options, counts per status, cache use and timings.
    """

    landmarks: np.ndarray
    meta: pd.DataFrame
    qc: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The landmark table: metadata, image QC, then ``x_0..x_67, y_0..y_67``."""
        return landmarks_to_frame(self.landmarks, pd.concat([self.meta, self.qc], axis=1))

    def counts(self) -> dict[str, int]:
        """Rows per ``qc_status``."""
        return {str(k): int(v) for k, v in self.qc["qc_status"].value_counts().items()}


def yaw_proxy(landmarks: np.ndarray) -> np.ndarray:
    """A head-yaw proxy in [-1, 1] from the nose tip's place between the jaw ends.

    ``(a - b) / (a + b)`` where ``a`` and ``b`` are the distances, along the
    eye line, from the right jaw end (point 0) to the nose tip (30) and from
    the nose tip to the left jaw end (16). 0 for a frontal face; positive
    when the face is turned towards the subject's left (image right).

    Parameters
    ----------
    landmarks : ndarray of shape (n, 68, 2)

    Returns
    -------
    ndarray of shape (n,)
    """
    p = np.asarray(landmarks, dtype=float).reshape(-1, N_LANDMARKS, 2)
    u = p[:, 42:48].mean(axis=1) - p[:, 36:42].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        a = ((p[:, 30] - p[:, 0]) * u).sum(axis=1)
        b = ((p[:, 16] - p[:, 30]) * u).sum(axis=1)
        return np.clip((a - b) / (a + b), -1.0, 1.0)


@dataclass
class _Loaded:
    index: int
    sha1: str = ""
    image: LoadedImage | None = None
    cached: tuple[tuple[int, int], Faces] | None = None
    status: str = ""
    note: str = ""


@dataclass
class _Result:
    status: str
    note: str = ""
    size: tuple[int, int] | None = None
    sha1: str = ""
    faces: Faces | None = None


def _select(result: _Result, mode: str) -> list[tuple[int | None, str, str]]:
    """(face index, status, note) of the rows an image yields."""
    if result.faces is None:
        return [(None, result.status, result.note)]
    faces = result.faces
    if len(faces) == 0:
        return [(None, "no_face", faces.note or "no face found")]
    base = {"fallback": "fallback_box"}.get(faces.how, "ok")
    if mode == "all" or len(faces) == 1:
        return [(k, base, faces.note) for k in range(len(faces))]
    note = f"{len(faces)} faces found; the largest is kept"
    return [(0, "multiple_faces", note)]


def _by_area(faces: Faces) -> Faces:
    if len(faces) < 2:
        return faces
    b = faces.boxes
    order = np.argsort(-(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), kind="stable")
    return Faces(
        faces.landmarks[order], b[order], faces.scores[order], faces.how, faces.note, faces.extra
    )


def _default_workers() -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, n or 1))


def detect_landmarks(
    sources: ImageSources,
    landmarker: Landmarker,
    *,
    faces: str = "largest",
    cache_dir: str | os.PathLike | None = None,
    max_side: int = 2048,
    min_size: int = 32,
    workers: int | None = None,
    progress: bool = True,
    overlays: str | os.PathLike | None = None,
    mesh=None,
) -> ImageLandmarks:
    """Find the faces and landmarks of every image of ``sources``.

    Images are read, hashed and decoded by a thread pool ahead of the
    backend, which works on batches of ``landmarker.batch_size`` images.
    With a cache, each image's detections are stored as soon as it is done,
    under the SHA-1 of its bytes: a re-run (other feature options, or after
    an interruption) reads them back instead of detecting again.

    Parameters
    ----------
    sources : ImageSources
        From :func:`find_images`.
    landmarker : Landmarker
        From :func:`make_landmarker`.
    faces : {"largest", "all"}, default="largest"
        Keep the largest face of each image (status ``multiple_faces`` when
        there were more), or every face, one row each, ids suffixed ``#k``.
    cache_dir : path, optional
        Landmark cache folder; None disables the cache.
    max_side : int, default=2048
        Longer side of the working copy of large images (coordinates are
        always returned in original pixels).
    min_size : int, default=32
        Images with a shorter side below this are ``too_small``.
    workers : int, optional
        Decoding threads (default: up to 4, one per core).
    progress : bool, default=True
        Show a progress bar (images/s and counts) on stderr.
    overlays : path, optional
        Folder for one JPEG per image with its faces, landmarks and mesh drawn.
    mesh : Mesh, optional
        The mesh drawn on overlays (default mesh when None).

    Returns
    -------
    ImageLandmarks
    """
    if faces not in _FACES_MODES:
        raise GeofaceError(f"faces={faces!r} is not one of {set(_FACES_MODES)}")
    t_start = time.perf_counter()
    n = len(sources)
    workers = _default_workers() if workers is None else max(1, int(workers))
    cache = None
    if cache_dir is not None and landmarker.cacheable:
        cache = LandmarkCache(
            cache_dir, {**landmarker.fingerprint(), "max_side": int(max_side), "version": _ver()}
        )
    need_pixels = landmarker.needs_pixels or overlays is not None
    overlay_dir = Path(overlays) if overlays is not None else None
    if overlay_dir is not None:
        from ..mesh import Mesh

        mesh = Mesh.default() if mesh is None else mesh

    def load(i: int) -> _Loaded:
        path = sources.files[i]
        if path is None:
            return _Loaded(i, status="unreadable", note="no path given in the manifest")
        try:
            data = read_image_bytes(path)
        except ImageReadError as exc:
            return _Loaded(i, status=exc.status, note=exc.message)
        sha1 = hashlib.sha1(data).hexdigest()
        cached = cache.get(sha1) if cache is not None else None
        if cached is not None and not need_pixels:
            return _Loaded(i, sha1=sha1, cached=cached)
        try:
            img = decode_image(data, max_side=max_side, min_size=min_size, sha1=sha1)
        except ImageReadError as exc:
            return _Loaded(i, sha1=sha1, status=exc.status, note=exc.message)
        return _Loaded(i, sha1=sha1, image=img, cached=cached)

    results: list[_Result | None] = [None] * n
    counts: Counter = Counter()
    stats = {"hits": 0, "misses": 0, "detect_s": 0.0, "overlays": 0}
    bar = _progress_bar(n, progress)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="geoface-load")
    overlay_jobs: list[Future] = []
    pending: list[_Loaded] = []

    def finish(i: int, result: _Result, loaded: _Loaded | None) -> None:
        results[i] = result
        for _, status, _ in _select(result, faces):
            counts[status] += 1
        if overlay_dir is not None and loaded is not None and loaded.image is not None:
            overlay_jobs.append(
                pool.submit(
                    _write_overlay, overlay_dir, sources, i, loaded.image, result, faces, mesh
                )
            )
        bar.update(1)
        bar.set_postfix_str(_postfix(counts), refresh=False)

    def run_batch(batch: list[_Loaded]) -> None:
        t0 = time.perf_counter()
        try:
            found = landmarker.process(
                [sources.files[b.index] for b in batch], [b.image for b in batch]
            )
        except Exception as exc:
            if len(batch) > 1:  # isolate the image that fails
                for b in batch:
                    run_batch([b])
                return
            stats["detect_s"] += time.perf_counter() - t0
            b = batch[0]
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            finish(b.index, _Result("error", msg, b.image.size, b.sha1), b)
            return
        stats["detect_s"] += time.perf_counter() - t0
        for b, f in zip(batch, found, strict=True):
            f = _by_area(f)
            if cache is not None:
                cache.put(b.sha1, b.image.size, f)
            finish(b.index, _Result("", "", b.image.size, b.sha1, f), b)

    try:
        window = max(2 * workers, 2 * landmarker.batch_size, 4)
        queued: deque[Future] = deque()
        next_i = 0
        while next_i < n or queued:
            while next_i < n and len(queued) < window:
                queued.append(pool.submit(load, next_i))
                next_i += 1
            item: _Loaded = queued.popleft().result()
            if item.status:
                size = item.image.size if item.image is not None else None
                finish(item.index, _Result(item.status, item.note, size, item.sha1), None)
            elif item.cached is not None:
                stats["hits"] += 1
                size, cached_faces = item.cached
                if min(size) < min_size:
                    res = _Result(
                        "too_small",
                        f"{size[0]}×{size[1]} px is below the minimum size {min_size} px",
                        size,
                        item.sha1,
                    )
                else:
                    res = _Result("", "", size, item.sha1, cached_faces)
                finish(item.index, res, item)
            else:
                if cache is not None:
                    stats["misses"] += 1
                pending.append(item)
                if len(pending) >= landmarker.batch_size:
                    batch, pending[:] = list(pending), []
                    run_batch(batch)
        if pending:
            batch, pending[:] = list(pending), []
            run_batch(batch)
        for job in overlay_jobs:
            job.result()
            stats["overlays"] += 1
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()

    out = _assemble(sources, results, faces)
    elapsed = time.perf_counter() - t_start
    image_counts = Counter(r.status if r.faces is None else "found" for r in results)
    out.info = {
        "landmarker": landmarker.name,
        "landmarker_choice": landmarker.choice or landmarker.name,
        "backend": landmarker.describe(),
        "fingerprint": landmarker.fingerprint(),
        "options": {
            "faces": faces,
            "max_side": int(max_side),
            "min_size": int(min_size),
            "workers": workers,
            "batch_size": landmarker.batch_size,
        },
        "n_images": n,
        "qc_counts_images": dict(sorted(image_counts.items())),
        "qc_counts_landmarks": out.counts(),
        "cache": None
        if cache is None
        else {"dir": str(cache.dir), "hits": stats["hits"], "misses": stats["misses"]},
        "overlays": None
        if overlay_dir is None
        else {"dir": str(overlay_dir), "n": stats["overlays"]},
        "timings": {
            "total_s": round(elapsed, 3),
            "landmarks_s": round(stats["detect_s"], 3),
            "images_per_s": round(n / elapsed, 2) if elapsed > 0 else None,
        },
    }
    return out


def _ver() -> str:
    from .. import __version__

    return __version__


def _postfix(counts: Counter) -> str:
    return " ".join(f"{k} {counts[k]}" for k in IMAGE_STATUSES if counts[k])


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s="", refresh=True):
        pass

    def close(self):
        pass


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    tty = sys.stderr.isatty()
    return tqdm(
        total=total,
        unit="img",
        desc="landmarks",
        file=sys.stderr,
        dynamic_ncols=tty,
        mininterval=0.2 if tty else 30.0,
        maxinterval=10.0 if tty else 120.0,
        ascii=not tty,
        leave=True,
    )


def _assemble(sources: ImageSources, results: list[_Result], mode: str) -> ImageLandmarks:
    meta_rows, qc_rows, shapes = [], [], []
    for i, res in enumerate(results):
        rows = _select(res, mode)
        for face_index, status, note in rows:
            meta_rows.append((i, face_index, len(rows) > 1))
            box = np.full(4, np.nan)
            score = np.nan
            lm = np.full((N_LANDMARKS, 2), np.nan)
            if face_index is not None:
                lm = res.faces.landmarks[face_index]
                box = res.faces.boxes[face_index]
                score = res.faces.scores[face_index]
            shapes.append(lm)
            qc_rows.append(
                {
                    "qc_status": status,
                    "qc_note": note,
                    "qc_n_faces": None if res.faces is None else len(res.faces),
                    "qc_box_x": box[0],
                    "qc_box_y": box[1],
                    "qc_box_w": box[2] - box[0],
                    "qc_box_h": box[3] - box[1],
                    "qc_det_score": score,
                    "qc_image_w": None if res.size is None else res.size[0],
                    "qc_image_h": None if res.size is None else res.size[1],
                    "qc_image_sha1": res.sha1,
                }
            )
    landmarks = np.stack(shapes) if shapes else np.empty((0, N_LANDMARKS, 2))
    idx = [m[0] for m in meta_rows]
    meta = sources.meta.iloc[idx].reset_index(drop=True).copy()
    face_index = pd.array([m[1] for m in meta_rows], dtype="Int64")
    if any(m[2] for m in meta_rows):
        meta["id"] = [
            f"{i}#{k}" if split else str(i)
            for i, (_, k, split) in zip(meta["id"].astype(str), meta_rows, strict=True)
        ]
    meta["face_index"] = face_index
    qc = pd.DataFrame(qc_rows, columns=[c for c in IMAGE_QC_COLUMNS if c != "qc_yaw_proxy"])
    qc.insert(IMAGE_QC_COLUMNS.index("qc_yaw_proxy"), "qc_yaw_proxy", yaw_proxy(landmarks))
    for col in ("qc_n_faces", "qc_image_w", "qc_image_h"):
        qc[col] = pd.array(qc[col].tolist(), dtype="Int64")
    return ImageLandmarks(landmarks=landmarks, meta=meta, qc=qc)


def _write_overlay(
    folder: Path, sources: ImageSources, i: int, loaded: LoadedImage, result, mode, mesh
) -> None:
    import cv2

    from ..plotting import draw_overlay

    rows = _select(result, mode)
    shapes, boxes, labels = [], [], []
    kept = set()
    for face_index, status, _ in rows:
        if face_index is not None:
            kept.add(face_index)
            shapes.append(loaded.to_working(result.faces.landmarks[face_index]))
            boxes.append(loaded.to_working(result.faces.boxes[face_index].reshape(2, 2)).ravel())
        labels.append(status)
    others = []
    if result.faces is not None:
        others = [
            loaded.to_working(b.reshape(2, 2)).ravel()
            for k, b in enumerate(result.faces.boxes)
            if k not in kept
        ]
    title = f"{sources.meta['id'].iloc[i]}: {', '.join(sorted(set(labels)))}"
    img = draw_overlay(
        loaded.image,
        np.array(shapes).reshape(-1, 68, 2),
        boxes=boxes,
        other_boxes=others,
        mesh=mesh,
        title=title,
    )
    parts = [
        p for p in PurePosixPath(str(sources.meta["id"].iloc[i])).parts if p not in ("..", ".", "/")
    ]
    target = folder.joinpath(*parts[:-1], f"{parts[-1] if parts else f'image_{i}'}.jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    if ok:
        from .._atomic import atomic_path

        with atomic_path(target) as tmp:
            tmp.write_bytes(buf.tobytes())
