"""``geoface rebase``: a frame table's features made relative to each track's own baseline."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import positive_float, positive_int


def add_parser(sub) -> None:
    from ..features import QUIET_FRACTION, QUIET_MIN_FRAMES

    p = sub.add_parser(
        "rebase",
        help="make a frame table's features relative to each track's own neutral (streaming)",
        description="Rewrite a frame table (from 'geoface extract' on videos) so that every "
        "feature is its difference from the same track's baseline — the person-specific "
        "calibration infant studies need. quiet (default): the track's quietest frames, found "
        f"without labels (the {QUIET_FRACTION:.0%} of its frames, at least "
        f"{QUIET_MIN_FRAMES}, that change least per second and lie closest to the track's "
        "median frame); marked: the frames a coding file codes as neutral (--coding), a "
        "label column names neutral (--label-column) or a column marks (--mark); first: the "
        "track's first frame; mean: the mean of its other frames. A frame is never its own "
        "reference; frames without one use the mesh template (qc_relative_fallback); "
        "qc_relative_reference marks the frames chosen. The table is read in row groups, so "
        "hour-long tables never load at once.",
    )
    p.add_argument("frames", type=Path, metavar="FRAMES", help="frame table (.parquet or .csv)")
    p.add_argument("--out", required=True, type=Path, help="the new frame table")
    p.add_argument(
        "--rule",
        choices=("quiet", "marked", "first", "mean"),
        default="quiet",
        help="baseline (default quiet)",
    )
    p.add_argument(
        "--by",
        default="video,track_id",
        help="columns whose combination is one baseline's group (default video,track_id: "
        "each face track of each video; subject: one person across videos)",
    )
    p.add_argument(
        "--order",
        default="time_s",
        help="column ordering a track's frames (default time_s; 'none': table order)",
    )
    p.add_argument(
        "--fraction",
        type=positive_float,
        default=None,
        help=f"quiet: share of a track's frames taken, in (0, 1] (default {QUIET_FRACTION})",
    )
    p.add_argument(
        "--min-frames",
        type=positive_int,
        default=None,
        help=f"quiet: fewest frames taken (default {QUIET_MIN_FRAMES})",
    )
    p.add_argument("--mark", metavar="COLUMN", help="marked: column marking baseline frames")
    p.add_argument(
        "--label-column",
        metavar="COLUMN",
        help="marked: frames whose COLUMN is --neutral (e.g. label from 'geoface label-frames')",
    )
    p.add_argument(
        "--coding",
        type=Path,
        metavar="FILE",
        help="marked: a coding file (or folder); frames inside its --neutral events are the "
        "baseline (a one-line events CSV names a neutral stretch by hand)",
    )
    p.add_argument(
        "--layout", choices=("boris", "elan", "events"), help="what --coding is (required with it)"
    )
    p.add_argument("--tier", help="--coding elan: the tier whose annotations are the events")
    p.add_argument("--video", help="--coding elan: the video a single export belongs to")
    p.add_argument(
        "--neutral", default="neutral", help="marked: the neutral label (default neutral)"
    )
    p.add_argument(
        "--batch-rows",
        type=positive_int,
        default=16384,
        help="rows read at a time (default 16384)",
    )


def _options(dests: list[str]) -> str:
    return ", ".join("--" + d.replace("_", "-") for d in dests) or "none"


def _split(text: str) -> list[str]:
    return [c.strip() for c in str(text).split(",") if c.strip()]


def _marks(args):
    """The frames a coding file or label column names neutral, or the --mark column."""
    import numpy as np
    import pandas as pd

    from .._errors import GeofaceError
    from ..labels import normalise_label

    if args.mark:
        return args.mark, f"column {args.mark}"
    neutral = normalise_label(args.neutral)
    path = args.frames
    columns = ["video", "time_s"] if args.coding else [args.label_column]
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            index = pd.read_parquet(path, columns=columns)
        else:
            index = pd.read_csv(path, usecols=columns, dtype={c: str for c in columns})
    except (KeyError, ValueError) as exc:
        raise GeofaceError(f"{path} lacks the column(s) {columns}: {exc}") from None
    if args.label_column:
        labels = index[args.label_column].map(
            lambda v: None if pd.isna(v) else normalise_label(str(v))
        )
        flags = (labels == neutral).to_numpy()
        return flags, f"{int(flags.sum())} frames whose {args.label_column} is {neutral!r}"
    from ..coding import label_frames, read_coding

    if not args.coding.exists():
        raise GeofaceError(f"--coding {args.coding} does not exist")
    if args.layout is None:
        raise GeofaceError("--coding needs --layout boris|elan|events")
    events = read_coding(args.coding, args.layout, tier=args.tier, video=args.video)
    labels, _, counts = label_frames(index, events)
    flags = np.asarray(labels.map(lambda v: v == neutral).to_numpy(), dtype=bool)
    ev = ", ".join(f"{k} {v}" for k, v in counts["events"].items())
    return flags, f"{int(flags.sum())} frames inside {neutral!r} events of {args.coding} ({ev})"


def run(args) -> int:
    from .._errors import GeofaceError
    from ..features import rebase_frames

    given = [o for o in ("mark", "label_column", "coding") if getattr(args, o)]
    if args.rule == "marked":
        if len(given) != 1:
            raise GeofaceError(
                "--rule marked needs exactly one of --mark COLUMN, --label-column COLUMN or "
                f"--coding FILE (given: {_options(given)})"
            )
    elif given:
        raise GeofaceError(
            f"--{given[0].replace('_', '-')} names a baseline for --rule marked, not --rule "
            f"{args.rule}; add --rule marked or leave it out"
        )
    from ..features import QUIET_FRACTION, QUIET_MIN_FRAMES

    if args.rule != "quiet" and (args.fraction is not None or args.min_frames is not None):
        raise GeofaceError("--fraction and --min-frames choose quiet frames: add --rule quiet")
    fraction = QUIET_FRACTION if args.fraction is None else args.fraction
    min_frames = QUIET_MIN_FRAMES if args.min_frames is None else args.min_frames
    if fraction > 1:
        raise GeofaceError(f"--fraction {fraction:g} is a share of frames: give (0, 1]")
    by = _split(args.by)
    order = None if str(args.order).lower() == "none" else args.order
    mark, how = (None, None)
    if args.rule == "marked":
        mark, how = _marks(args)
    summary = rebase_frames(
        args.frames,
        args.out,
        by=by,
        rule=args.rule,
        order=order,
        mark=mark,
        fraction=fraction,
        min_frames=min_frames,
        batch_rows=args.batch_rows,
        progress=print,
    )
    if how:
        print(f"baseline: {how}")
    print(
        f"{summary['n_rows']} rows, {summary['n_groups']} group(s) by {','.join(by)}: "
        f"{summary['n_reference']} reference frames ({args.rule}), "
        f"{summary['n_fallback']} rows without a reference of their own (mesh template, "
        f"qc_relative_fallback) → {args.out}"
    )
    return 0
