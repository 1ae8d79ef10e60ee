"""``geoface predict``: apply a fitted run's final model to a feature table."""

from __future__ import annotations

from pathlib import Path

from .._atomic import atomic_path
from ._argtypes import fraction, non_negative_float


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="predict a feature table with a run's final model",
        description="Predict every row of a feature table with the model a 'geoface fit' run "
        "refitted on all its faces. Rows that failed QC keep an empty prediction and the reason; "
        "the table's metadata columns (subject, label, age group …) are copied beside them.",
    )
    p.add_argument("run_dir", type=Path, help="run directory from 'geoface fit'")
    p.add_argument("features", type=Path, help="feature table built on the same mesh")
    p.add_argument("--out", required=True, type=Path, help="predictions CSV")
    add_frame_options(p)


def run(args) -> int:
    from ..features import FeatureTable
    from ..models import Run

    run_ = Run(args.run_dir)
    table = FeatureTable.read(args.features)
    frames_check(args, table.frame)
    pred = run_.predict(table)
    import pandas as pd

    # path, subject and label lead; the table's other metadata columns (age group …) follow
    # the probabilities, so the predictions can be evaluated by group without a join
    lead = [c for c in ("path", "subject", "label") if c in table.frame.columns]
    skip = {"id", "status", "y_pred", *lead, *table.feature_names}
    rest = [
        c for c in table.frame.columns if c not in skip and not str(c).startswith(("qc_", "proba_"))
    ]
    frame = table.frame.reset_index(drop=True)
    pred = pd.concat([pred[["id"]], frame[lead], pred.drop(columns="id"), frame[rest]], axis=1)
    with atomic_path(args.out) as tmp:
        pred.to_csv(tmp, index=False, float_format="%.6g")
    counts = pred["status"].value_counts()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{len(pred)} rows predicted with {run_.info['model']} → {args.out} ({summary})")
    frames_out(args, pred, run_)
    return 0


# ------------------------------------------------------------------ frame tables (video)
def add_segment_options(p) -> None:
    """--smooth, --window, --min-duration, --threshold: how per-frame probabilities become
    segments (shared by predict and evaluate)."""
    from ..coding import SMOOTHERS

    g = p.add_argument_group(
        "segments of frame predictions",
        "how per-frame probabilities become segments (see geoface.coding.segments_from_proba): "
        "a frame without prediction or a step over two frame periods ends a piece; inside a "
        "piece the probabilities may be smoothed; each frame takes its most probable class; runs "
        "of one class are segments (onset = first frame, offset = last frame + one period)",
    )
    g.add_argument(
        "--smooth",
        choices=tuple(SMOOTHERS),
        default=None,
        help="; ".join(f"{k}: {v}" for k, v in SMOOTHERS.items()) + " (default none)",
    )
    g.add_argument(
        "--window",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="smoothing window (median) or time constant (ema) in seconds (default 0.5)",
    )
    g.add_argument(
        "--min-duration",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="segments shorter than S seconds are removed and the same-class segments they "
        "separated joined (default 0)",
    )
    g.add_argument(
        "--threshold",
        type=fraction,
        default=None,
        metavar="P",
        help="frames whose largest probability is below P have no class (default 0)",
    )


def segment_options(args) -> dict:
    """The segment options given, with their defaults filled in."""
    smooth = args.smooth or "none"
    if smooth == "none" and args.window is not None:
        from .._errors import GeofaceError

        raise GeofaceError("--window sets the smoothing window: add --smooth median or ema")
    return {
        "smooth": smooth,
        "window_s": 0.5 if args.window is None else args.window,
        "min_duration_s": args.min_duration or 0.0,
        "threshold": args.threshold or 0.0,
    }


def segment_options_given(args) -> list[str]:
    names = ("smooth", "window", "min_duration", "threshold")
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n, None) is not None]


def add_frame_options(p) -> None:
    from ..coding import SEGMENT_FORMATS

    p.add_argument(
        "--segments",
        type=Path,
        metavar="OUT",
        help="frame tables: also write the predicted segments (video, track_id, onset_s, "
        "offset_s, label, peak_proba, duration_s, n_frames) for review in BORIS or ELAN",
    )
    p.add_argument(
        "--segment-format",
        choices=tuple(SEGMENT_FORMATS),
        default="csv",
        help="csv (default; 'geoface label-frames --layout events' reads it), boris (tabular "
        "events: File › Import observations), elan (tab-delimited, a folder of one file per "
        "video when there are several)",
    )
    p.add_argument(
        "--figures",
        type=Path,
        metavar="DIR",
        help="frame tables: one figure per video (and track) of the class probabilities over "
        "time, QC gaps shaded, the segments beneath (DIR/<video>.png)",
    )
    from ..coding import CODING_LAYOUTS

    p.add_argument(
        "--events",
        type=Path,
        metavar="CODING",
        help="with --figures: a coding file (or folder) whose events are drawn beneath the "
        "probabilities (row 'coded')",
    )
    p.add_argument(
        "--layout", choices=tuple(CODING_LAYOUTS), help="what --events is (required with it)"
    )
    p.add_argument("--tier", help="--layout elan: the tier whose annotations are the events")
    p.add_argument("--video", help="--layout elan: the video a single export belongs to")
    add_segment_options(p)


def frames_check(args, frame) -> None:
    """Refuse, before any work, frame options that would be ignored or cannot apply."""
    from .._errors import GeofaceError
    from ._paths import refuse_onto_inputs

    given = segment_options_given(args)
    coding = [f"--{n}" for n in ("events", "layout", "tier", "video") if getattr(args, n)]
    if coding and args.figures is None:
        raise GeofaceError(f"{', '.join(coding)} draw(s) coded events: add --figures DIR")
    if args.events is not None:
        if args.layout is None:
            raise GeofaceError("--events needs --layout boris|elan|events")
        if not args.events.exists():
            raise GeofaceError(f"--events {args.events} does not exist")
    if args.segments is None and args.figures is None:
        if given or args.segment_format != "csv":
            extra = given or ["--segment-format"]
            raise GeofaceError(
                f"{', '.join(extra)} shape(s) segments: add --segments OUT (or --figures DIR)"
            )
        return
    from ..evaluate import check_frame_predictions

    check_frame_predictions(frame, f"the rows of {args.features}")
    segment_options(args)
    inputs = [("input", args.features), ("input", args.run_dir), ("output", args.out)]
    for option, path in (("--segments", args.segments), ("--figures", args.figures)):
        if path is not None:
            refuse_onto_inputs(path, inputs, option=option, folder=option == "--figures")


def frames_out(args, pred, run_) -> None:
    """Segments, figures and a record of how they were made, for predictions of frames."""
    import json

    if args.segments is None and args.figures is None:
        return
    from ..coding import write_segments
    from ..evaluate import frame_segments, smoothing_line

    options = segment_options(args)
    segments, info = frame_segments(pred, **options)
    print(smoothing_line(info))
    record = {
        "run": str(args.run_dir),
        "features": str(args.features),
        "predictions": str(args.out),
        "model": run_.info.get("model"),
        "segments": {**info, "file": None, "format": args.segment_format},
        "figures": None,
    }
    if args.segments is not None:
        files = write_segments(segments, args.segments, args.segment_format)
        record["segments"]["file"] = [str(f) for f in files]
        print(f"  → {', '.join(map(str, files[:3]))}{' …' if len(files) > 3 else ''}")
    if args.figures is not None:
        import matplotlib

        if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
            matplotlib.use("Agg")
        from ..plotting import write_time_courses

        coded = None
        if args.events is not None:
            from ..coding import read_coding, resolve_events

            events = read_coding(args.events, args.layout, tier=args.tier, video=args.video)
            coded = resolve_events(events, pred)
            counts = coded["status"].value_counts()
            print(
                f"coded events of {args.events}: "
                + ", ".join(f"{k} {v}" for k, v in counts.items())
            )
            record["events"] = {
                "file": str(args.events),
                "layout": args.layout,
                "counts": {str(k): int(v) for k, v in counts.items()},
            }
        written = write_time_courses(pred, args.figures, events=coded, segments=segments)
        record["figures"] = [str(f) for f in written]
        print(f"{len(written)} time-course figure(s) → {args.figures}")
    out = Path(args.out)
    side = out.with_suffix("").with_name(out.with_suffix("").name + ".predict.json")
    with atomic_path(side) as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
