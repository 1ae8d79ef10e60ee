"""The image half of ``geoface extract``: detection options and the run on images."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._argtypes import non_negative_int, positive_int

#: The shared type of whole-number options ≥ 1 (see :mod:`geoface.cli._argtypes`).
_positive = positive_int


def add_image_arguments(p: argparse.ArgumentParser) -> None:
    from ..landmarks import DEFAULT_MAX_PIXELS, DETECTORS, LANDMARKERS, WEIGHTS_ENV

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
        help="decoding/detection threads (default: cores, ≤ 4); for videos, the processes "
        "computing segments",
    )
    add_denoise_arguments(g)
    g.add_argument("--quiet", action="store_true", help="no progress bar or backend message")
    add_cluster_arguments(p)


def add_denoise_arguments(g) -> None:
    """The dlib backend's landmark-denoising options (``extract``, ``score-landmarks``)."""
    g.add_argument(
        "--mirror-average",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="dlib: average the fit with that of the mirrored face (default on: it raised "
        "every model's accuracy on real faces, see the README; --no-mirror-average fits "
        "once, twice as fast)",
    )
    g.add_argument(
        "--upsample",
        type=non_negative_int,
        default=None,
        metavar="PX",
        help="dlib: fit faces smaller than PX pixels on a crop upsampled to PX (default 200; "
        "0: off)",
    )


def detection_options(args) -> dict:
    """The options images and videos share: mesh, landmarker, cache and size limits."""
    return {
        "mesh": args.mesh,
        "reference": args.reference,
        "iod": args.iod,
        "neutral_label": args.neutral_label,
        "landmarker": args.landmarker,
        "detector": args.detector,
        "faces": args.faces,
        "device": args.device,
        "weights_dir": args.weights_dir,
        "batch_size": args.batch_size,
        "landmarks_out": args.landmarks_out,
        "cache": args.cache,
        "use_cache": not args.no_cache,
        "max_side": args.max_side,
        "detect_side": args.detect_side,
        "min_size": args.min_size,
        "max_pixels": args.max_pixels,
        "mirror_average": args.mirror_average,
        "upsample": args.upsample,
    }


def run_images(args, kind: str) -> int:
    from ..extraction import default_landmarks_out, extract_images
    from ._extract import relative_options, report
    from ._paths import refuse_onto_inputs

    # the default landmark CSV (OUT_STEM.landmarks.csv) may not replace the input either
    inputs = [("input", p) for p in (args.input, args.landmarks_file) if p is not None]
    refuse_onto_inputs(
        args.landmarks_out or default_landmarks_out(args.out), inputs, option="--landmarks-out"
    )
    result = cluster_runner(args, extract_images)(
        args.input,
        args.out,
        kind=kind,
        landmarks_file=args.landmarks_file,
        overlays=args.overlays,
        **detection_options(args),
        **relative_options(args),
        workers=args.workers,
        progress=not args.quiet,
        say=None if args.quiet else print,
        **cluster_options(args),
    )
    status = report(result.table, result.path, what=f"rows from {result.n_images} images")
    for line in result.lines:
        print(line)
    return status


# --- many machines: --cluster / --threads ---------------------------------------------------


def add_cluster_arguments(p: argparse.ArgumentParser, *, chunk: bool = True) -> None:
    """``--cluster``, ``--threads`` (and ``--chunk``): where the work runs, and on how many
    threads (``extract``, ``fit``)."""
    g = p.add_argument_group(
        "many machines",
        "run the work on a Dask cluster; the output is the same as on one machine",
    )
    g.add_argument(
        "--cluster",
        default=None,
        metavar="SPEC",
        help="local or local:N (N worker processes here), a Dask scheduler address "
        "(tcp://host:8786), or a cluster config file (.yaml naming a dask_jobqueue class: "
        "SLURMCluster, PBSCluster …, its options and the number of jobs); see the README",
    )
    g.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="threads per task for BLAS/OpenMP, XGBoost, PyTorch, OpenCV and dlib alike "
        "(default: the process's CPU allotment; on a cluster, each worker's share)",
    )
    if chunk:
        g.add_argument(
            "--chunk",
            type=_positive,
            default=64,
            help="with --cluster: images per task (default 64)",
        )


def cluster_options(args) -> dict:
    """The extra keywords of the cluster run (none without ``--cluster``)."""
    if getattr(args, "cluster", None) is None:
        return {}
    return {"cluster": args.cluster, "threads": args.threads, "chunk": args.chunk}


def video_cluster_options(args) -> tuple[dict, list]:
    """``extract_videos``' segment runner on the cluster (none without ``--cluster``), and the
    list that receives its runs."""
    if getattr(args, "cluster", None) is None:
        return {}, []
    from ..cluster import segment_runner

    runs: list = []
    runner = segment_runner(args.cluster, threads=args.threads, progress=not args.quiet, runs=runs)
    return {"run_tasks": runner}, runs


def threads_runner(args, extract):
    """``extract`` under the ``--threads`` budget when it is given."""
    import functools

    from .._threads import thread_budget

    threads = getattr(args, "threads", None)
    if threads is None:
        return extract

    @functools.wraps(extract)
    def run(*a, **kw):
        with thread_budget(threads):
            return extract(*a, **kw)

    return run


def cluster_runner(args, extract):
    """``extract`` itself, on the cluster with ``--cluster``, under ``--threads`` when given."""
    if getattr(args, "cluster", None) is not None:
        from ..cluster import extract_images_on_cluster

        extract = extract_images_on_cluster
    return threads_runner(args, extract)


# --------------------------------------------------------------------------- video
def add_video_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``extract`` on videos (sampling, tracking, smoothing, segments)."""
    from ._argtypes import non_negative_float, positive_float

    g = p.add_argument_group(
        "video",
        "for a video, a folder holding videos (images beside them give rows of the same "
        "table) or a manifest whose 'path' column names videos; one row per sampled frame "
        "and kept face; Parquet recommended (--out frames.parquet), CSV on request",
    )
    g.add_argument(
        "--fps",
        type=positive_float,
        default=None,
        metavar="N",
        help="keep the first frame at or after every 1/N s (by presentation time; "
        "default: every frame)",
    )
    g.add_argument(
        "--every", type=positive_int, default=None, metavar="N", help="keep every N-th frame"
    )
    g.add_argument(
        "--start",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="first time kept, in seconds from the stream's first frame",
    )
    g.add_argument(
        "--end",
        type=positive_float,
        default=None,
        metavar="S",
        help="keep frames before this time (seconds from the first frame; S itself excluded)",
    )
    g.add_argument(
        "--redetect-every",
        type=positive_int,
        default=None,
        metavar="K",
        help="re-detect faces every K frames (and whenever a track's QC drops); between "
        "detections each face is tracked from its previous landmarks (default: the "
        "tracker's, 15)",
    )
    g.add_argument(
        "--smooth",
        choices=("none", "one-euro", "savgol"),
        default="none",
        help="smooth landmarks over time, per track: none (default, raw landmarks), "
        "one-euro (causal One-Euro filter) or savgol (centred Savitzky-Golay, SciPy)",
    )
    g.add_argument(
        "--smooth-min-cutoff",
        type=positive_float,
        default=None,
        metavar="HZ",
        help="one-euro: cutoff frequency of a still face (default 1; lower: smoother at rest, "
        "more lag)",
    )
    g.add_argument(
        "--smooth-beta",
        type=non_negative_float,
        default=None,
        metavar="B",
        help="one-euro: how fast the cutoff rises with speed, in Hz per inter-ocular distance "
        "per second (default 5; higher: less lag in fast movement)",
    )
    g.add_argument(
        "--smooth-d-cutoff",
        type=positive_float,
        default=None,
        metavar="HZ",
        help="one-euro: cutoff frequency of the speed estimate",
    )
    g.add_argument(
        "--smooth-window",
        type=positive_float,
        default=None,
        metavar="S",
        help="savgol: window length in seconds (converted to an odd number of frames at the "
        "video's frame rate; default 0.25)",
    )
    g.add_argument(
        "--smooth-order",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="savgol: polynomial order (default 2)",
    )
    g.add_argument(
        "--segment-frames",
        type=positive_int,
        default=256,
        metavar="N",
        help="sampled frames per segment, the unit of work and of resume (default 256)",
    )
    g.add_argument(
        "--overlay-video",
        type=Path,
        default=None,
        metavar="FILE.mp4",
        help="write an MP4 with box, landmarks, mesh and track id drawn on every sampled "
        "frame (one file per video, FILE-<video>.mp4, when there are several)",
    )


def smooth_params(args) -> dict:
    """The ``--smooth-*`` options given, as keyword arguments of the filter."""
    given = {
        "min_cutoff": args.smooth_min_cutoff,
        "beta": args.smooth_beta,
        "d_cutoff": args.smooth_d_cutoff,
        "window_s": args.smooth_window,
        "polyorder": args.smooth_order,
    }
    return {k: v for k, v in given.items() if v is not None}


def run_videos(args) -> int:
    """``geoface extract`` on a video, a folder holding videos or a manifest naming them."""
    import os
    import sys

    from .._errors import GeofaceError
    from ..video import default_landmarks_out, extract_videos
    from ._paths import refuse_onto_inputs

    if args.landmarker == "file" or args.landmarks_file is not None:
        raise GeofaceError(
            "--landmarker file / --landmarks-file read landmarks of images; videos need a "
            "detector: leave them out, or use --landmarker dlib or fan"
        )
    if args.overlays is not None:
        raise GeofaceError(
            f"--overlays draws on images; for videos use --overlay-video FILE.mp4 "
            f"(input {args.input})"
        )
    if args.relative == "first":
        raise GeofaceError(
            "--relative first needs the frames in order before the table is written; for "
            "video use --relative mean (each person's mean face) or --relative marked"
        )
    if getattr(args, "coords", "none") != "none":
        raise GeofaceError(
            f"--coords {args.coords} is not available for videos yet; frame tables hold the "
            "mesh features (leave --coords out)"
        )
    params = smooth_params(args)
    if params and args.smooth == "none":
        raise GeofaceError(
            f"--smooth-* options ({', '.join(params)}) were given without --smooth; add "
            "--smooth one-euro or --smooth savgol"
        )
    # segments run in --workers processes (default: the cores, at most 4)
    processes = args.workers or max(1, min(4, os.cpu_count() or 1))
    inputs = [("input", args.input)]
    refuse_onto_inputs(
        args.landmarks_out or default_landmarks_out(args.out), inputs, option="--landmarks-out"
    )
    cluster_kw, cluster_runs = video_cluster_options(args)  # --cluster / --threads
    result = threads_runner(args, extract_videos)(
        args.input,
        args.out,
        overlay_video=args.overlay_video,
        **detection_options(args),
        relative=args.relative,
        relative_by=args.relative_by,
        relative_mark=args.relative_mark,
        fps=args.fps,
        every=args.every,
        start=args.start,
        end=args.end,
        redetect_every=args.redetect_every,
        smooth=args.smooth,
        smooth_params=params,
        segment_frames=args.segment_frames,
        workers=1 if processes > 1 else args.workers,
        processes=processes,
        progress=not args.quiet,
        say=None if args.quiet else print,
        **cluster_kw,
    )
    for run in cluster_runs:
        print(
            f"  cluster: {run.n_tasks} segments on {len(run.workers)} workers, "
            f"{run.n_items / max(run.elapsed_s, 1e-9):.1f} frames/s"
        )
    counts = ", ".join(f"{k} {v}" for k, v in result.qc_counts.items())
    nv, ni = result.n_videos, result.n_images
    what = f"{nv} video{'s' * (nv != 1)}" + (f" and {ni} image{'s' * (ni != 1)}" if ni else "")
    print(f"{result.n_rows} rows from {what} → {result.path}: {counts}")
    for line in result.lines:
        print(line)
    usable = sum(result.qc_counts.get(s, 0) for s in ("ok", "multiple_faces", "fallback_box"))
    if not usable:
        print(
            "geoface: error: no frame has a usable face; see qc_status in the table",
            file=sys.stderr,
        )
        return 2
    return 0
