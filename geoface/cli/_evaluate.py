"""``geoface evaluate``: score predictions on another dataset, overall and per group."""

from __future__ import annotations

import sys
from pathlib import Path

from ._argtypes import bootstrap_replicates, non_negative_float, positive_int, random_seed


def add_parser(sub) -> None:
    from ..evaluate import UNSEEN_POLICIES

    p = sub.add_parser(
        "evaluate",
        help="score predictions overall and per group (age group, site …) → report folder",
        description="Score the predictions of a model applied to another dataset (train on "
        "infants, test on each age group of an adult set): accuracy, balanced accuracy, "
        "macro-F1 and log loss overall and per group, with 95% CIs from a bootstrap over the "
        "subjects of each group, and chance levels. True labels and the grouping columns come "
        "from the predictions or are joined by id from --truth.",
    )
    p.add_argument(
        "predictions",
        type=Path,
        help="what 'geoface predict' writes, a run directory (its oof_predictions.csv), or "
        "any CSV with id, y_pred and/or proba_<class> columns",
    )
    p.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="COLUMN",
        help="grouping column (e.g. age_group); repeat it or give a comma list",
    )
    p.add_argument("--out", required=True, type=Path, help="report folder to create")
    p.add_argument(
        "--truth",
        type=Path,
        action="append",
        help="CSV/Parquet joined by id for the labels, subjects and --by columns (a manifest, "
        "landmark CSV, feature table or age-group table); its columns take precedence; "
        "repeat it to join several (the first file wins where two share a column)",
    )
    p.add_argument("--target", default="label", help="column of true labels (default label)")
    p.add_argument(
        "--group",
        default="subject",
        help="subject column for the bootstrap (default subject); 'id': every face is its own",
    )
    p.add_argument(
        "--unseen-classes",
        choices=tuple(UNSEEN_POLICIES),
        default="exclude",
        help="true classes the model never saw: "
        + "; ".join(f"{k} = {v}" for k, v in UNSEEN_POLICIES.items())
        + " (default exclude)",
    )
    p.add_argument(
        "--relabel",
        action="append",
        metavar="OLD=NEW",
        help="rename true labels first, e.g. angry=anger,afraid=fear (repeatable)",
    )
    p.add_argument(
        "--order",
        help="groups to list first, comma-separated (default: age groups youngest "
        "first, numbers in order, else alphabetical)",
    )
    p.add_argument(
        "--min-rows",
        type=positive_int,
        default=1,
        help="groups with fewer scored rows get no metrics (default 1)",
    )
    p.add_argument(
        "--bootstrap",
        type=bootstrap_replicates,
        default=2000,
        help="subject-bootstrap replicates for the CIs (default 2000)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    add_event_options(p)


def run(args) -> int:
    from ..evaluate import (
        evaluate_predictions,
        evaluation_lines,
        group_summary_lines,
        parse_relabel,
        read_predictions,
        read_truth,
        write_evaluation,
    )
    from ._fit import split_columns

    if args.out.exists() and not args.overwrite:  # refuse before any work is done
        from .._errors import GeofaceError

        raise GeofaceError(f"{args.out} exists; choose another --out or add --overwrite")
    predictions = read_predictions(args.predictions)
    truth = read_truth(args.truth) if args.truth else None
    events = frame_events(args, predictions, truth)
    ev = evaluate_predictions(
        predictions,
        by=split_columns(args.by),
        truth=truth,
        target=args.target,
        group=args.group,
        unseen=args.unseen_classes,
        relabel=parse_relabel(args.relabel),
        order=split_columns([args.order]) if args.order else None,
        n_boot=args.bootstrap,
        seed=args.seed,
        min_rows=args.min_rows,
    )
    out = write_evaluation(
        ev,
        args.out,
        overwrite=args.overwrite,
        command=["geoface", *sys.argv[1:]],
        sources={
            "predictions": str(args.predictions),
            "truth": None if args.truth is None else [str(t) for t in args.truth],
            "events": None if args.events is None else str(args.events),
        },
        events=events,
    )
    for line in evaluation_lines(ev):
        print(line)
    for gm in ev.by_group.values():
        for line in group_summary_lines(gm):
            print(line)
    if events is not None:
        from ..evaluate import agreement_lines, smoothing_line

        print(smoothing_line(events.info["segments"]))
        for line in agreement_lines(events):
            print(line)
    print(f"  → {out}")
    return 0


# ------------------------------------------------------------------ frame tables (video)
def add_event_options(p) -> None:
    from ..coding import CODING_LAYOUTS
    from ._predict import add_segment_options

    g = p.add_argument_group(
        "predictions of frames against a coding file",
        "event-level agreement: the predictions (of a frame table) become segments, matched one "
        "to one to the coded events of the same video and class whose onset lies within "
        "--tolerance (event_agreement.csv, segments.csv, events.csv in --out). Frames take "
        "their true label from the coding file when the predictions and --truth have no "
        "--target column.",
    )
    g.add_argument("--events", type=Path, metavar="CODING", help="coding file (or folder)")
    g.add_argument(
        "--layout",
        choices=tuple(CODING_LAYOUTS),
        help="what --events is: " + "; ".join(f"{k}: {v}" for k, v in CODING_LAYOUTS.items()),
    )
    g.add_argument("--tier", help="--layout elan: the tier whose annotations are the events")
    g.add_argument("--video", help="--layout elan: the video a single export belongs to")
    g.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="largest onset difference of a match, seconds (default 0.5)",
    )
    add_segment_options(p)


def frame_events(args, predictions, truth):
    """The coding file's events scored against the predictions' segments, or None."""
    from .._errors import GeofaceError
    from ._predict import segment_options, segment_options_given

    frame_only = segment_options_given(args) + [
        f"--{n}" for n in ("layout", "tier", "video", "tolerance") if getattr(args, n) is not None
    ]
    if args.events is None:
        if frame_only:
            raise GeofaceError(f"{', '.join(frame_only)} belong(s) with --events CODING")
        return None
    if args.layout is None:
        raise GeofaceError(f"--events needs --layout ({', '.join(('boris', 'elan', 'events'))})")
    if not args.events.exists():
        raise GeofaceError(f"--events {args.events} does not exist")
    from ..coding import read_coding
    from ..evaluate import check_frame_predictions, evaluate_events

    check_frame_predictions(predictions, f"the predictions {args.predictions}")
    coded = read_coding(args.events, args.layout, tier=args.tier, video=args.video)
    result = evaluate_events(
        predictions,
        coded,
        tolerance_s=0.5 if args.tolerance is None else args.tolerance,
        **segment_options(args),
    )
    has_target = args.target in predictions.columns and predictions[args.target].notna().any()
    if truth is not None and args.target in truth.columns:
        has_target = True
    if not has_target:
        predictions[args.target] = result.frame_labels.to_numpy()
        result.info["target"] = f"frame labels from {args.events}"
        print(
            f"frame labels from {args.events}: "
            + ", ".join(f"{k} {v}" for k, v in result.info["frames"].items())
        )
    return result
