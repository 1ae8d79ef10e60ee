"""Batch landmark detection over many images: parallel decoding, cache, QC, progress.

The result's statuses and columns are described in ``geoface/landmarks/_rows.py``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import GeofaceError
from .._threads import current_threads
from ._backends import Faces, Landmarker
from ._cache import LandmarkCache
from ._images import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    LoadedImage,
    decode_image,
    max_file_bytes,
    read_image_bytes,
)
from ._rows import (
    _FACES_MODES,
    IMAGE_STATUSES,
    ImageLandmarks,
    _assemble,
    _by_area,
    _Result,
    _select,
    _write_overlay,
)
from ._sources import ImageSources

__all__ = ["detect_landmarks"]


@dataclass
class _Loaded:
    index: int
    sha1: str = ""
    image: LoadedImage | None = None
    cached: tuple[tuple[int, int], Faces] | None = None
    status: str = ""
    note: str = ""


def _default_workers() -> int:
    budget = current_threads()  # a thread budget in force (``--threads``) wins
    if budget is not None:
        return budget
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
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
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
    max_pixels : int or None, default=DEFAULT_MAX_PIXELS
        Pixel budget per image: an image whose header declares more pixels is
        ``too_large`` and never decoded (files larger than such an image can
        be are not read). None lifts the limit.

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
            data = read_image_bytes(path, max_bytes=max_file_bytes(max_pixels))
        except ImageReadError as exc:
            return _Loaded(i, status=exc.status, note=exc.message)
        sha1 = hashlib.sha1(data).hexdigest()
        cached = cache.get(sha1) if cache is not None else None
        if cached is not None and not need_pixels:
            return _Loaded(i, sha1=sha1, cached=cached)
        try:
            img = decode_image(
                data, max_side=max_side, min_size=min_size, sha1=sha1, max_pixels=max_pixels
            )
        except ImageReadError as exc:
            return _Loaded(i, sha1=sha1, status=exc.status, note=exc.message)
        return _Loaded(i, sha1=sha1, image=img, cached=cached)

    results: list[_Result | None] = [None] * n
    counts: Counter = Counter()
    stats: dict[str, Any] = {
        "hits": 0,
        "misses": 0,
        "detect_s": 0.0,
        "overlays": 0,
        "overlay_errors": [],
        "cache_error": None,
    }
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
            if cache is not None and stats["cache_error"] is None:
                try:
                    cache.put(b.sha1, b.image.size, f)
                except OSError as exc:  # the run goes on without caching
                    stats["cache_error"] = f"{exc.strerror or exc}: {exc.filename or cache.dir}"
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
            try:
                job.result()
                stats["overlays"] += 1
            except Exception as exc:  # an overlay that cannot be drawn or written
                stats["overlay_errors"].append(f"{type(exc).__name__}: {exc}")
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
        "versions": landmarker.versions(),
        "options": {
            "faces": faces,
            "max_side": int(max_side),
            "min_size": int(min_size),
            "max_pixels": None if max_pixels is None else int(max_pixels),
            "workers": workers,
            "batch_size": landmarker.batch_size,
        },
        "n_images": n,
        "qc_counts_images": dict(sorted(image_counts.items())),
        "qc_counts_landmarks": out.counts(),
        "cache": None
        if cache is None
        else {
            "dir": str(cache.dir),
            "hits": stats["hits"],
            "misses": stats["misses"],
            "error": stats["cache_error"],
        },
        "overlays": None
        if overlay_dir is None
        else {
            "dir": str(overlay_dir),
            "n": stats["overlays"],
            "errors": stats["overlay_errors"][:10],
        },
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
    from tqdm import tqdm

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
