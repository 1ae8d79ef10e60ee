"""``geoface score-landmarks``: landmark quality against ground-truth files."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import positive_float, positive_int


def add_parser(sub) -> None:
    from ..landmarks import DETECTORS, LANDMARKERS

    p = sub.add_parser(
        "score-landmarks",
        help="score landmarks (files, or images run through a landmarker) against ground truth",
        description="Score predicted landmarks against ground-truth .pts / landmark CSV files, "
        "matched by id: per-face normalised mean error (NME, by the outer-eye-corner "
        "inter-ocular distance unless --iod centres), the cumulative error curve (ced.pdf, "
        "ced.png), AUC up to --threshold, failure rate (NME above --threshold, or no face "
        "found: such faces are counted, never dropped) and the error per facial region. "
        "Writes OUT/per_face.csv and OUT/summary.json.",
    )
    p.add_argument(
        "predicted",
        type=Path,
        metavar="PRED",
        help="predicted landmarks (a landmark CSV, .npz, .pts or folder of .pts), or with "
        "--landmarker, images (a folder, an image, or a manifest CSV)",
    )
    p.add_argument(
        "--truth",
        type=Path,
        required=True,
        help="ground truth: a folder of .pts, a .pts, a landmark CSV or .npz (ids as in PRED)",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--iod",
        choices=("corners", "centres"),
        default="corners",
        help="normalise by the outer eye corners 36 and 45 (default, as landmark benchmarks "
        "report) or by the eye centres",
    )
    p.add_argument(
        "--threshold",
        type=positive_float,
        default=0.08,
        help="NME above which a face is a failure, and the AUC's upper limit (default 0.08)",
    )
    g = p.add_argument_group("landmarker", "to run images through a landmark backend first")
    g.add_argument("--landmarker", choices=tuple(LANDMARKERS), default=None)
    g.add_argument("--detector", choices=tuple(DETECTORS), default="auto")
    g.add_argument("--device", default="auto", help="fan: auto, cpu, cuda, cuda:N or mps")
    g.add_argument("--weights-dir", type=Path, default=None, help="fan: folder of its weights")
    g.add_argument("--detect-side", type=positive_int, default=None, help="detection resolution")
    g.add_argument(
        "--workers", type=positive_int, default=None, help="threads (default: cores, ≤ 4)"
    )
    from ._extract_images import add_denoise_arguments

    add_denoise_arguments(g)
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from .._errors import GeofaceError
    from ..landmarks import read_landmark_input, score_landmarks, write_landmark_scores

    truth, truth_meta = read_landmark_input(args.truth)
    extra = {"truth": str(args.truth), "predicted": str(args.predicted)}
    if args.landmarker is not None:
        from ..landmarks import detect_landmarks, find_images, make_landmarker

        if args.landmarker == "file":
            raise GeofaceError(
                "--landmarker file reads landmarks: give the landmark file as PRED and leave "
                "--landmarker out"
            )
        lm = make_landmarker(
            args.landmarker,
            detector=args.detector,
            device=args.device,
            weights_dir=args.weights_dir,
            detect_side=args.detect_side,
            n_jobs=args.workers,
            mirror_average=args.mirror_average,
            upsample=args.upsample,
        )
        found = detect_landmarks(
            find_images(args.predicted),
            lm,
            faces="largest",
            cache_dir=None,
            workers=args.workers,
            progress=not args.quiet,
        )
        pred, pred_ids = found.landmarks, found.meta["id"].astype(str).tolist()
        label = lm.describe()
        extra["landmarker"] = label
        extra["landmarker_options"] = lm.fingerprint()
        extra["detection_counts"] = found.counts()
    else:
        if args.mirror_average or args.upsample:
            raise GeofaceError(
                "--mirror-average / --upsample apply when images are run through "
                "--landmarker dlib; PRED here is a landmark file"
            )
        pred, pred_meta = read_landmark_input(args.predicted)
        pred_ids = pred_meta["id"].astype(str).tolist()
        label = args.predicted.name
    scores = score_landmarks(
        pred,
        truth,
        predicted_ids=pred_ids,
        truth_ids=truth_meta["id"].astype(str).tolist(),
        normalise=args.iod,
        threshold=args.threshold,
    )
    written = write_landmark_scores(scores, args.out, label=label, extra=extra)
    s = scores.summary

    def _f(v):
        return "n/a" if v is None else f"{v:.4f}"

    print(
        f"{s['n_truth']} faces: {s['n_scored']} scored, {s['n_no_face']} without a face, "
        f"{s['n_missing']} without a prediction; NME mean {_f(s['nme_mean'])}, median "
        f"{_f(s['nme_median'])} (IOD: {s['normaliser']}); AUC@{s['threshold']:g} "
        f"{s['auc']:.4f}; failure rate {s['failure_rate']:.1%}"
    )
    regions = ", ".join(
        f"{r} {_f(v)} / {_f(s['nme_median_by_region'][r])}" for r, v in s["nme_by_region"].items()
    )
    print(f"  by region (mean / median): {regions}")
    print(f"  → {', '.join(str(w) for w in written)}")
    return 0
