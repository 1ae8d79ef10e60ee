"""The whole image extraction as one library call: images → landmarks → feature table.

:func:`extract_images` is what ``geoface extract`` runs on images (and what
benchmarks, notebooks, video and cluster work call): find the images, detect
faces and landmarks (cached by content), write the landmark CSV, compute the
mesh features and write the table with its sidecars. It returns the table and
the lines the command prints.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import GeofaceError

__all__ = ["ImageExtraction", "extract_images", "resolve_mesh"]


def resolve_mesh(spec):
    """Turn a ``--mesh`` value into what :func:`geoface.features.extract_table` accepts.

    ``"default"``, ``"fit"`` or a :class:`~geoface.mesh.Mesh` pass through; a
    path names a mesh JSON (or a table's ``.meta.json``) to reuse.
    """
    if not isinstance(spec, str | os.PathLike) or spec in {"default", "fit"}:
        return spec
    path = Path(spec)
    if not path.exists():
        raise GeofaceError(
            f"--mesh {str(spec)!r} is neither 'default', 'fit' nor an existing mesh JSON file"
        )
    from .mesh import Mesh

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GeofaceError(f"cannot read mesh file {path}: {exc}") from None
    return Mesh.from_dict(doc.get("mesh", doc))


def default_landmarks_out(out: Path) -> Path:
    """``OUT_STEM.landmarks.csv`` beside the feature table."""
    return out.with_name(out.with_suffix("").name + ".landmarks.csv")


@dataclass
class ImageExtraction:
    """What :func:`extract_images` made.

    Attributes
    ----------
    table : FeatureTable
        One row per image (per face with ``faces="all"``), failed ones with their
        ``qc_status`` and empty features.
    path : Path
        Where the table was written.
    landmarks_path : Path
        The landmark CSV written beside it.
    n_images : int
    header : str
        The line printed before detection starts (images found, landmarker).
    lines : list of str
        The lines printed after the table's summary: landmarks, speed, cache,
        overlays and their warnings.
    info : dict
        The detection record (also in the table's sidecar under ``detection``).
    """

    table: object
    path: Path
    landmarks_path: Path
    n_images: int
    header: str
    lines: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def extract_images(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    kind: str = "images",
    mesh="default",
    reference: str = "template",
    iod: str = "centres",
    neutral_label: str = "neutral",
    landmarker: str | None = None,
    detector: str = "auto",
    faces: str = "largest",
    device: str = "auto",
    weights_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    landmarks_file: str | os.PathLike | None = None,
    landmarks_out: str | os.PathLike | None = None,
    overlays: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    use_cache: bool = True,
    max_side: int = 2048,
    detect_side: int | None = None,
    min_size: int = 32,
    max_pixels: int | None = None,
    mirror_average: bool | None = None,
    upsample: int | None = None,
    relative: str = "auto",
    relative_by: str = "subject",
    relative_order: str | None = None,
    relative_mark: str | None = None,
    coords: str = "none",
    workers: int | None = None,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    extra_detection: dict | None = None,
) -> ImageExtraction:
    """Detect landmarks in images and write their feature table (``geoface extract`` on images).

    Parameters
    ----------
    input : path-like
        A folder of images (class sub-folders become labels), a manifest CSV
        (a ``path`` column) or one image.
    out : path-like
        The feature table: ``.csv`` or ``.parquet``.
    kind : str, default="images"
        What ``input`` is (:func:`geoface.landmarks.input_kind`), recorded in the sidecar.
    mesh, reference, iod, neutral_label
        As for :func:`geoface.features.extract_table` (``mesh`` may be a path).
    landmarker, detector, faces, device, weights_dir, batch_size, landmarks_file
        As for :func:`geoface.landmarks.make_landmarker` and
        :func:`geoface.landmarks.detect_landmarks` (``landmarker=None``: auto).
    landmarks_out : path-like, optional
        The landmark CSV (default ``OUT_STEM.landmarks.csv``).
    overlays : path-like, optional
        Folder for one JPEG per image with its faces, landmarks and mesh.
    cache : path-like, optional
        Landmark cache folder (default ``geoface-cache/`` beside ``out``);
        ``use_cache=False`` neither reads nor writes it.
    max_side, detect_side, min_size, max_pixels, workers
        Image size limits and threads, as for :func:`geoface.landmarks.detect_landmarks`
        (``max_pixels=None``: the default pixel budget, ``DEFAULT_MAX_PIXELS``).
    mirror_average, upsample
        The dlib backend's landmark denoising, as for :func:`geoface.landmarks.make_landmarker`.
    relative, relative_by, relative_order, relative_mark
        The person-specific reference, as for :func:`geoface.features.extract_table`
        (``relative="auto"``, as on the command line: each subject's mean face when
        the input has a ``subject`` column with several faces per subject).
    coords : {"none", "aligned"}, default="none"
        The aligned landmark coordinates beside the mesh features, as for
        :func:`geoface.features.extract_table`.
    progress : bool, default=True
        Show a progress bar.
    say : callable, optional
        Receives the header line before detection starts.
    extra_detection : dict, optional
        Entries added to the detection record (e.g. ``cluster``: how a
        distributed run filled the cache).

    Returns
    -------
    ImageExtraction
    """
    import pandas as pd

    from .features import extract_table
    from .landmarks import (
        DEFAULT_MAX_PIXELS,
        detect_landmarks,
        find_images,
        make_landmarker,
        write_landmark_csv,
    )

    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise GeofaceError(
            f"feature table {out} has extension {out.suffix or '(none)'!r}; "
            "use .csv (default, readable in R/Excel) or .parquet"
        )
    mesh = resolve_mesh(mesh)
    sources = find_images(input)
    backend = make_landmarker(
        landmarker or "auto",
        detector=detector,
        device=device,
        weights_dir=weights_dir,
        batch_size=batch_size,
        detect_side=detect_side,
        n_jobs=workers,
        table=landmarks_file,
        mirror_average=mirror_average,
        upsample=upsample,
    )
    header = f"{len(sources)} images from {input}; landmarker {backend.choice}"
    if say is not None:
        say(header)
    cache_dir = None
    if use_cache:
        cache_dir = Path(cache) if cache is not None else out.parent / "geoface-cache"
    found = detect_landmarks(
        sources,
        backend,
        faces=faces,
        cache_dir=cache_dir,
        max_side=max_side,
        min_size=min_size,
        max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels,
        workers=workers,
        progress=progress,
        overlays=overlays,
        mesh=mesh if not isinstance(mesh, str) else None,
    )
    landmarks_out = Path(landmarks_out) if landmarks_out else default_landmarks_out(out)
    write_landmark_csv(landmarks_out, found.landmarks, pd.concat([found.meta, found.qc], axis=1))
    t1 = time.perf_counter()
    table = extract_table(
        found.landmarks,
        found.meta,
        qc=found.qc,
        mesh=mesh,
        reference=reference,
        iod=iod,
        neutral_label=neutral_label,
        relative=relative,
        relative_by=relative_by,
        relative_order=relative_order,
        relative_mark=relative_mark,
        coords=coords,
        landmarker=backend.name,
        source=str(input),
    )
    detection = {k: v for k, v in found.info.items() if k != "landmarker"}
    detection["input_kind"] = kind
    detection["landmarks_table"] = str(landmarks_out)
    detection["timings"]["features_s"] = round(time.perf_counter() - t1, 3)
    detection["timings"]["total_s"] = round(time.perf_counter() - t0, 3)
    detection.update(extra_detection or {})
    table.info["detection"] = detection
    path = table.write(out)
    info = found.info
    cache_info = info["cache"]
    extra = (
        f"; cache: {cache_info['hits']} reused, {cache_info['misses']} detected"
        if cache_info
        else ""
    )
    lines = [
        f"  landmarks → {landmarks_out}; {backend.describe()}, "
        f"{len(sources) / max(time.perf_counter() - t0, 1e-9):.1f} images/s{extra}"
    ]
    if cache_info and cache_info["error"]:
        lines.append(f"  warning: the landmark cache could not be written ({cache_info['error']})")
    if info["overlays"]:
        ov = info["overlays"]
        lines.append(f"  overlays → {ov['dir']} ({ov['n']} images)")
        if ov["errors"]:
            lines.append(f"  warning: {len(ov['errors'])} overlays failed, e.g. {ov['errors'][0]}")
    return ImageExtraction(
        table=table,
        path=path,
        landmarks_path=landmarks_out,
        n_images=len(sources),
        header=header,
        lines=lines,
        info=info,
    )
