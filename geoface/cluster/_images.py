"""Image extraction on a cluster: workers fill the landmark cache, the driver writes the table.

The landmark cache (one atomic entry per image, named by the SHA-1 of its
bytes, in a folder keyed by the landmarker's fingerprint) is the store of
finished parts. A distributed run:

1. lists the images as a single run would (:func:`geoface.landmarks.find_images`)
   and cuts them, by file, into tasks of ``chunk`` images;
2. each worker detects landmarks on its chunks with
   :func:`geoface.landmarks.detect_landmarks` and the shared cache folder (the
   cache must lie on a filesystem every worker sees). The worker builds its
   landmarker once per process, whatever the number of tasks it runs;
3. the driver then runs the ordinary :func:`geoface.extraction.extract_images`,
   which finds every detection in the cache.

So the table is, by construction, the single-process table row for row. A
task that runs twice (retried, or its worker died) rewrites identical cache
entries; a rerun after the driver was interrupted finds finished images in
the cache and does not detect them again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import GeofaceError

__all__ = ["ImageTask", "extract_images_on_cluster", "plan_image_tasks", "run_image_task"]

#: Images per task (by file): large enough that task overhead (~10 ms) is lost in the
#: detection time (~50-500 ms per image), small enough to spread a folder over workers.
DEFAULT_CHUNK = 64

_LANDMARKERS: dict[str, Any] = {}  # one landmarker per worker process and configuration


@dataclass(frozen=True)
class ImageTask:
    """One chunk of images for one worker.

    Attributes
    ----------
    index : int
    files : tuple of str or None
        Absolute paths (None: a manifest row without a path).
    ids : tuple of str
    landmarker : dict
        Keyword arguments of :func:`geoface.landmarks.make_landmarker`.
    fingerprint : str
        The driver's landmarker fingerprint and geoface version (JSON): a worker
        whose landmarker differs (other model files or versions) refuses to run.
    cache_dir : str
        The shared landmark cache folder.
    faces : str
    max_side, min_size : int
    max_pixels : int or None
    """

    index: int
    files: tuple
    ids: tuple
    landmarker: dict
    fingerprint: str
    cache_dir: str
    faces: str = "largest"
    max_side: int = 2048
    min_size: int = 32
    max_pixels: int | None = None

    def __len__(self) -> int:
        return len(self.files)


def _fingerprint(backend) -> str:
    from .. import __version__

    return json.dumps(
        {"landmarker": backend.fingerprint(), "geoface": __version__}, sort_keys=True, default=str
    )


def _landmarker(options: dict):
    """This process's landmarker for these options (built on first use, then reused)."""
    key = json.dumps(options, sort_keys=True, default=str)
    lm = _LANDMARKERS.get(key)
    if lm is None:
        from ..landmarks import make_landmarker

        lm = _LANDMARKERS[key] = make_landmarker(**options)
    return lm


def run_image_task(task: ImageTask) -> dict:
    """Detect the landmarks of one chunk into the shared cache (runs on a worker).

    Returns
    -------
    dict
        ``n`` images, ``reused`` (already in the cache), ``computed`` (detected
        now), ``failed`` (unreadable, too small/large, errors: not cached, the
        driver reports them), ``landmarks_s`` and ``load_s`` (landmarker built in
        this task; 0 when reused).
    """
    import pandas as pd

    from ..landmarks import ImageSources, detect_landmarks

    t0 = time.perf_counter()
    new = json.dumps(task.landmarker, sort_keys=True, default=str) not in _LANDMARKERS
    backend = _landmarker(task.landmarker)
    load_s = time.perf_counter() - t0 if new else 0.0
    mine = _fingerprint(backend)
    if mine != task.fingerprint:
        raise GeofaceError(
            f"this worker's landmarker differs from the driver's ({mine} vs {task.fingerprint}); "
            "install the same geoface, model files and versions on every worker"
        )
    files = [None if f is None else Path(f) for f in task.files]
    sources = ImageSources(
        meta=pd.DataFrame({"id": list(task.ids), "path": [str(f) for f in task.files]}),
        files=files,
        root=Path("/"),
        kind="manifest",
    )
    found = detect_landmarks(
        sources,
        backend,
        faces=task.faces,
        cache_dir=task.cache_dir,
        max_side=task.max_side,
        min_size=task.min_size,
        max_pixels=task.max_pixels,
        progress=False,
    )
    info = found.info
    cache = info["cache"] or {"hits": 0, "misses": 0, "error": None}
    if cache.get("error"):
        raise GeofaceError(
            f"the landmark cache {task.cache_dir} could not be written on this "
            f"worker ({cache['error']}); put --cache on a filesystem every worker "
            "can write"
        )
    failed = sum(v for k, v in info["qc_counts_images"].items() if k != "found")
    return {
        "n": len(files),
        "reused": int(cache["hits"]),
        "computed": int(cache["misses"]),
        "failed": int(failed),
        "landmarks_s": float(info["timings"]["landmarks_s"]),
        "load_s": round(load_s, 3),
    }


def plan_image_tasks(
    sources,
    *,
    landmarker: dict,
    fingerprint: str,
    cache_dir: str | os.PathLike,
    chunk: int = DEFAULT_CHUNK,
    faces: str = "largest",
    max_side: int = 2048,
    min_size: int = 32,
    max_pixels: int | None = None,
) -> list[ImageTask]:
    """Cut the images of ``sources`` (:func:`find_images`) into tasks of ``chunk`` files.

    The same file listed twice (a manifest may) is detected once: only its
    first row enters a task; the driver's cache read serves every row.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise GeofaceError(f"chunk={chunk!r} is not a whole number of images ≥ 1")
    seen: set[str] = set()
    files, ids = [], []
    for f, i in zip(sources.files, sources.meta["id"], strict=True):
        if f is None:
            continue  # reported by the driver (no path given)
        key = str(Path(f).resolve())
        if key in seen:
            continue
        seen.add(key)
        files.append(key)
        ids.append(str(i))
    cache_dir = str(Path(cache_dir).resolve())
    return [
        ImageTask(
            index=k,
            files=tuple(files[s : s + chunk]),
            ids=tuple(ids[s : s + chunk]),
            landmarker=landmarker,
            fingerprint=fingerprint,
            cache_dir=cache_dir,
            faces=faces,
            max_side=int(max_side),
            min_size=int(min_size),
            max_pixels=None if max_pixels is None else int(max_pixels),
        )
        for k, s in enumerate(range(0, len(files), chunk))
    ]


def extract_images_on_cluster(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    cluster,
    threads: int | None = None,
    chunk: int = DEFAULT_CHUNK,
    retries: int = 2,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    **options,
):
    """:func:`geoface.extraction.extract_images` with the landmark step spread over a cluster.

    Parameters
    ----------
    input, out
        As for :func:`~geoface.extraction.extract_images`.
    cluster : str, ClusterSpec or distributed.Client
        Where the landmarks are detected (:func:`parse_cluster`).
    threads : int, optional
        Thread budget of each task (default: each worker's allotment; on a
        local cluster, the cores shared out among the workers).
    chunk : int, default=64
        Images per task.
    retries : int, default=2
        Extra attempts of a task that raised.
    progress : bool, default=True
        Progress bar over tasks (images/s).
    say : callable, optional
        Receives the header line before the cluster starts.
    **options
        Every other keyword of :func:`~geoface.extraction.extract_images`
        (``landmarker``, ``detector``, ``faces``, ``cache``, ``max_side`` …);
        ``use_cache=False`` and file landmarks are refused: the cache is where
        the workers' results meet.

    Returns
    -------
    ImageExtraction
        As :func:`~geoface.extraction.extract_images`; its detection record
        (``table.info["detection"]``, the sidecar) has a ``cluster`` entry:
        where it ran, tasks, images reused (already cached) and computed,
        per-worker tasks, images and busy time, time in the landmarker and in loading it.
    """
    from ..extraction import extract_images
    from ..landmarks import DEFAULT_MAX_PIXELS, find_images, make_landmarker
    from ._run import run_tasks
    from ._spec import parse_cluster

    if not options.get("use_cache", True):
        raise GeofaceError(
            "--cluster needs the landmark cache (workers leave their detections there); "
            "drop --no-cache"
        )
    spec = cluster if not isinstance(cluster, str | os.PathLike) else parse_cluster(cluster)
    out = Path(out)
    lm_options = {
        "name": options.get("landmarker") or "auto",
        "detector": options.get("detector", "auto"),
        "device": options.get("device", "auto"),
        "weights_dir": None
        if options.get("weights_dir") is None
        else str(Path(options["weights_dir"]).resolve()),
        "batch_size": options.get("batch_size"),
        "detect_side": options.get("detect_side"),
        "mirror_average": options.get("mirror_average"),
        "upsample": options.get("upsample"),
    }
    if options.get("landmarks_file") is not None or lm_options["name"] == "file":
        raise GeofaceError(
            "--cluster runs a landmark detector (fan or dlib); landmarks read from files need "
            "no cluster: leave --cluster out"
        )
    backend = make_landmarker(**lm_options)  # fails here, before any worker starts
    lm_options["name"] = backend.name  # "auto" resolved once, here, for every worker
    if not backend.cacheable:  # pragma: no cover - every detector backend is cacheable
        raise GeofaceError(
            f"landmarker {backend.name} cannot be cached, so it cannot run on a cluster"
        )
    cache = options.get("cache")
    cache_dir = Path(cache) if cache is not None else out.parent / "geoface-cache"
    sources = find_images(input)
    max_pixels = options.get("max_pixels")
    tasks = plan_image_tasks(
        sources,
        landmarker=lm_options,
        fingerprint=_fingerprint(backend),
        cache_dir=cache_dir,
        chunk=chunk,
        faces=options.get("faces", "largest"),
        max_side=options.get("max_side", 2048),
        min_size=options.get("min_size", 32),
        max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels,
    )
    where = spec.describe() if hasattr(spec, "describe") else _client_facts(spec).get("address")
    if say is not None:
        say(f"{len(sources)} images from {input}: {len(tasks)} tasks on {where}")
    t0 = time.perf_counter()
    run = run_tasks(
        tasks,
        run_image_task,
        cluster=spec,
        threads=threads,
        retries=retries,
        progress=progress,
        unit="img",
        desc="landmarks",
        name="geoface-images",
    )
    results = run.results
    cluster_info = {
        **(spec.to_dict() if hasattr(spec, "to_dict") else _client_facts(spec)),
        "chunk": chunk,
        "tasks": run.n_tasks,
        "images": run.n_items,
        "images_reused": sum(r["reused"] for r in results),
        "images_computed": sum(r["computed"] for r in results),
        "images_failed": sum(r["failed"] for r in results),
        "landmarks_s": round(sum(r["landmarks_s"] for r in results), 3),
        "landmarker_load_s": round(sum(r["load_s"] for r in results), 3),
        "threads_per_task": threads if threads is not None else _task_threads(spec),
        "cluster_s": round(time.perf_counter() - t0, 3),
        "run": run.to_dict(),
    }
    result = extract_images(
        input, out, progress=False, extra_detection={"cluster": cluster_info}, **options
    )
    info = cluster_info
    result.lines.insert(
        0,
        f"  cluster: {info['tasks']} tasks on {len(run.workers)} workers, "
        f"{info['images_computed']} images detected, {info['images_reused']} already cached, "
        f"{run.n_items / max(run.elapsed_s, 1e-9):.1f} images/s",
    )
    return result


def _client_facts(client) -> dict:
    try:
        return {"kind": "client", "address": str(client.scheduler.address)}
    except AttributeError:  # pragma: no cover - a Client always has a scheduler
        return {"kind": "client"}


def _task_threads(spec) -> int | None:
    return spec.task_threads() if hasattr(spec, "task_threads") else None
