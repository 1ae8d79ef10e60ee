"""``geoface label-frames``: label the frames of a frame table from a behavioural coding file."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    from ..coding import CODING_LAYOUTS

    layouts = "; ".join(f"{k}: {v}" for k, v in CODING_LAYOUTS.items())
    p = sub.add_parser(
        "label-frames",
        help="label a frame table's frames from a BORIS, ELAN or plain event coding file",
        description="Join a coding file's events to the frames of a frame table (from "
        "'geoface extract' on videos) by video and time: a frame at time t takes the label of "
        "the event that holds it (onset ≤ t < offset). Frames inside events of different "
        "labels are 'overlapping', frames inside none 'unlabelled' (both without label); the "
        "column label_status says which. Every event keeps a status (ok, point_event, "
        "outside_video, unknown_video, bad_times) in OUT_STEM.events.csv; the counts are "
        f"printed. Layouts — {layouts}.",
    )
    p.add_argument("frames", type=Path, metavar="FRAMES", help="frame table (.parquet or .csv)")
    p.add_argument(
        "--coding",
        required=True,
        type=Path,
        metavar="FILE",
        help="the coding file, or a folder of them (.csv, .tsv, .txt)",
    )
    p.add_argument(
        "--layout", required=True, choices=tuple(CODING_LAYOUTS), help="what the coding file is"
    )
    p.add_argument(
        "--out", required=True, type=Path, help="labelled frame table (.parquet or .csv)"
    )
    p.add_argument("--tier", default=None, help="elan: the tier whose annotations are the events")
    p.add_argument(
        "--video",
        default=None,
        help="elan: the video a single export belongs to (default: the file's name)",
    )
    p.add_argument(
        "--label-column",
        default="label",
        help="column the labels go into (default label; an existing one is kept as "
        "<column>_before)",
    )


def _insert(frame, column: str, values, after: tuple[str, ...]) -> None:
    if column in frame.columns:
        frame[column] = values
        return
    where = max([frame.columns.get_loc(c) + 1 for c in after if c in frame.columns], default=0)
    frame.insert(where, column, values)


def run(args) -> int:
    from .._atomic import atomic_path
    from .._errors import GeofaceError
    from ..coding import label_frames, read_coding, resolve_events
    from ..features import FeatureTable
    from ._paths import refuse_onto_inputs

    out = Path(args.out)
    events_out = out.with_suffix("").with_name(out.with_suffix("").name + ".events.csv")
    refuse_onto_inputs(events_out, [("input", args.frames), ("input", args.coding)])
    if not args.coding.exists():
        raise GeofaceError(f"--coding {args.coding} does not exist")
    table = FeatureTable.read(args.frames)
    frame = table.frame
    for needed in ("video", "time_s"):
        if needed not in frame.columns:
            raise GeofaceError(
                f"{args.frames} has no '{needed}' column: it is not a frame table; extract "
                "videos with 'geoface extract' to get one"
            )
    events = read_coding(args.coding, args.layout, tier=args.tier, video=args.video)
    labels, status, counts = label_frames(frame, events)
    column = args.label_column
    if column in frame.columns and frame[column].notna().any():
        frame[f"{column}_before"] = frame[column]
        print(f"the table's former '{column}' column is kept as '{column}_before'")
    _insert(frame, column, labels.to_numpy(), ("subject", "video", "path", "id"))
    _insert(frame, "label_status", status.to_numpy(), (column,))
    info = dict(table.info)
    info["coding"] = {
        "file": str(args.coding),
        "layout": args.layout,
        "tier": args.tier,
        "label_column": column,
        "counts": counts,
    }
    resolved = resolve_events(events, frame)
    with atomic_path(events_out) as tmp:
        resolved.to_csv(tmp, index=False, float_format="%.6f")
    FeatureTable(frame=frame, mesh=table.mesh, info=info).write(out)
    ev = ", ".join(f"{k} {v}" for k, v in counts["events"].items())
    fr = ", ".join(f"{k} {v}" for k, v in counts["frames"].items())
    print(f"{len(events)} events read from {args.coding} ({args.layout}): {ev}")
    print(f"{len(frame)} frames: {fr}")
    if counts["events_without_frames"]:
        print(
            f"{counts['events_without_frames']} ok event(s) hold no sampled frame (shorter "
            "than the sampling step)"
        )
    print(f"→ {out} (events and their statuses: {events_out})")
    return 0
