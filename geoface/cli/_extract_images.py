"""The image half of ``geoface extract``: detection options and the run on images."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._errors import GeofaceError
from ._argtypes import positive_int

#: The shared type of whole-number options ≥ 1 (see :mod:`geoface.cli._argtypes`).
_positive = positive_int


def add_image_arguments(p: argparse.ArgumentParser) -> None:
    from ..landmarks import DETECTORS, LANDMARKERS, WEIGHTS_ENV
    from ..landmarks._images import DEFAULT_MAX_PIXELS

    g = p.add_argument_group(
        "images",
        "landmark detection, for image inputs (a folder holding both images and .pts files is "
        "read as landmarks unless --landmarker is given)",
    )
    g.add_argument(
        "--landmarker",
        choices=tuple(LANDMARKERS),
        default=None,
        help="auto (default): fan if face-alignment's weights are on this machine, else dlib; "
        "fan: face-alignment 2D-FAN; dlib: HOG + 68-point shape predictor (offline); file: "
        ".pts or OpenFace .csv beside each image, or --landmarks-file",
    )
    g.add_argument(
        "--detector",
        choices=tuple(DETECTORS),
        default="auto",
        help="face detector: auto (the backend's own: sfd for fan, hog for dlib), sfd, hog, or "
        "none (the whole image is the face: pre-cropped faces)",
    )
    g.add_argument(
        "--faces",
        choices=("largest", "all"),
        default="largest",
        help="keep the largest face of each image (status multiple_faces when there are more) "
        "or all faces, one row each with a face_index",
    )
    g.add_argument("--device", default="auto", help="fan: auto (default), cpu, cuda, cuda:N or mps")
    g.add_argument(
        "--weights-dir",
        type=Path,
        default=None,
        help=f"fan: folder with 2DFAN4-11f355bf06.pth.tar and s3fd-619a316812.pth (else "
        f"${WEIGHTS_ENV}, then PyTorch's hub cache)",
    )
    g.add_argument("--batch-size", type=_positive, default=None, help="fan: faces per forward pass")
    g.add_argument(
        "--landmarks-file",
        type=Path,
        default=None,
        help="file: a landmark CSV (py-feat/OpenFace layout) naming each row's image in a "
        "path/input/file column",
    )
    g.add_argument(
        "--landmarks-out",
        type=Path,
        default=None,
        help="landmark CSV written beside the table (default OUT_STEM.landmarks.csv); "
        "'geoface extract' reads it back",
    )
    g.add_argument(
        "--overlays",
        type=Path,
        default=None,
        metavar="DIR",
        help="write one JPEG per image with its faces, landmarks and mesh drawn (visual QC)",
    )
    g.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="landmark cache by image content (default: geoface-cache/ beside --out); a "
        "re-run detects only new images",
    )
    g.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    g.add_argument(
        "--max-side",
        type=_positive,
        default=2048,
        help="larger images are downscaled to this longer side for landmarking; "
        "coordinates are always in original pixels (default 2048)",
    )
    g.add_argument(
        "--max-pixels",
        type=_positive,
        default=DEFAULT_MAX_PIXELS,
        help="pixel budget per image (width × height): an image whose header declares more is "
        "too_large and is not decoded, so a corrupt or hostile file cannot exhaust the memory "
        f"(default {DEFAULT_MAX_PIXELS:_}; raise it for genuine larger images)",
    )
    g.add_argument(
        "--detect-side",
        type=_positive,
        default=None,
        help="detection resolution (longer side): 800 for hog, 640 for sfd",
    )
    g.add_argument(
        "--min-size",
        type=_positive,
        default=32,
        help="images whose shorter side is below this are too_small (default 32 px)",
    )
    g.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="decoding/detection threads (default: cores, ≤ 4)",
    )
    add_denoise_arguments(g)
    g.add_argument("--quiet", action="store_true", help="no progress bar or backend message")


def add_denoise_arguments(g) -> None:
    """The dlib backend's landmark-denoising options (``extract``, ``score-landmarks``)."""
    g.add_argument(
        "--mirror-average",
        action="store_true",
        help="dlib: also fit the mirrored image and average the two fits (twice the fitting "
        "time; it helped ~100-px faces a little, see the README)",
    )
    g.add_argument(
        "--upsample",
        type=int,
        default=None,
        metavar="PX",
        help="dlib: fit faces smaller than PX pixels on a crop upsampled to PX (default 200; "
        "0: off)",
    )


def _default_landmarks_out(out: Path) -> Path:
    return out.with_name(out.with_suffix("").name + ".landmarks.csv")


def run_images(args, kind: str) -> int:
    import pandas as pd

    from ..features import extract_table
    from ..landmarks import detect_landmarks, find_images, make_landmarker, write_landmark_csv
    from ._extract import relative_options, report, resolve_mesh
    from ._paths import refuse_onto_inputs

    t0 = time.perf_counter()
    if args.out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise GeofaceError(
            f"feature table {args.out} has extension {args.out.suffix or '(none)'!r}; "
            "use .csv (default, readable in R/Excel) or .parquet"
        )
    mesh = resolve_mesh(args.mesh)
    # the default landmark CSV (OUT_STEM.landmarks.csv) may not replace the input either
    inputs = [("input", p) for p in (args.input, args.landmarks_file) if p is not None]
    refuse_onto_inputs(
        args.landmarks_out or _default_landmarks_out(args.out), inputs, option="--landmarks-out"
    )
    sources = find_images(args.input)
    landmarker = make_landmarker(
        args.landmarker or "auto",
        detector=args.detector,
        device=args.device,
        weights_dir=args.weights_dir,
        batch_size=args.batch_size,
        detect_side=args.detect_side,
        n_jobs=args.workers,
        table=args.landmarks_file,
        mirror_average=args.mirror_average,
        upsample=args.upsample,
    )
    if not args.quiet:
        print(f"{len(sources)} images from {args.input}; landmarker {landmarker.choice}")
    cache_dir = None
    if not args.no_cache:
        cache_dir = args.cache if args.cache is not None else args.out.parent / "geoface-cache"
    found = detect_landmarks(
        sources,
        landmarker,
        faces=args.faces,
        cache_dir=cache_dir,
        max_side=args.max_side,
        min_size=args.min_size,
        max_pixels=args.max_pixels,
        workers=args.workers,
        progress=not args.quiet,
        overlays=args.overlays,
        mesh=mesh if not isinstance(mesh, str) else None,
    )
    landmarks_out = args.landmarks_out or _default_landmarks_out(args.out)
    write_landmark_csv(landmarks_out, found.landmarks, pd.concat([found.meta, found.qc], axis=1))
    t1 = time.perf_counter()
    table = extract_table(
        found.landmarks,
        found.meta,
        qc=found.qc,
        mesh=mesh,
        reference=args.reference,
        iod=args.iod,
        neutral_label=args.neutral_label,
        **relative_options(args),
        landmarker=landmarker.name,
        source=str(args.input),
    )
    detection = {k: v for k, v in found.info.items() if k != "landmarker"}
    detection["input_kind"] = kind
    detection["landmarks_table"] = str(landmarks_out)
    detection["timings"]["features_s"] = round(time.perf_counter() - t1, 3)
    detection["timings"]["total_s"] = round(time.perf_counter() - t0, 3)
    table.info["detection"] = detection
    out = table.write(args.out)
    status = report(table, out, what=f"rows from {len(sources)} images")
    info = found.info
    cache = info["cache"]
    extra = f"; cache: {cache['hits']} reused, {cache['misses']} detected" if cache else ""
    print(
        f"  landmarks → {landmarks_out}; {landmarker.describe()}, "
        f"{len(sources) / max(time.perf_counter() - t0, 1e-9):.1f} images/s{extra}"
    )
    if cache and cache["error"]:
        print(f"  warning: the landmark cache could not be written ({cache['error']})")
    if info["overlays"]:
        ov = info["overlays"]
        print(f"  overlays → {ov['dir']} ({ov['n']} images)")
        if ov["errors"]:
            print(f"  warning: {len(ov['errors'])} overlays failed, e.g. {ov['errors'][0]}")
    return status
