"""``geoface predict``: apply a fitted run's final model to a feature table."""

from __future__ import annotations

from pathlib import Path

from .._atomic import atomic_path
from ._argtypes import fraction, non_negative_float, positive_int


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
    p.add_argument(
        "--batch-rows",
        type=positive_int,
        default=16_384,
        metavar="N",
        help="a Parquet table is read and predicted N rows at a time and the predictions "
        "appended as they come, so memory does not grow with the table (default 16384)",
    )
    add_frame_options(p)


def run(args) -> int:
    from ..models import Run

    run_ = Run(args.run_dir)
    source = _TableSource(args.features, args.batch_rows)
    frames_check(args, source.empty_frame())
    overlay_videos = overlay_plan(args, source)
    counts: dict[str, int] = {}
    kept: list = []  # the small columns of every row: segments, figures and overlays
    n_rows = batches = 0
    with atomic_path(args.out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for table in source.tables():
                pred = _predict_chunk(run_, table)
                pred.to_csv(fh, index=False, header=not batches, float_format="%.6g")
                batches += 1
                n_rows += len(pred)
                for k, v in pred["status"].value_counts().items():
                    counts[str(k)] = counts.get(str(k), 0) + int(v)
                if _wants_frames(args):
                    kept.append(_small_columns(pred, table.frame))
            if not batches:  # an empty Parquet table: the header alone
                empty = source.empty_table()
                _predict_chunk(run_, empty).to_csv(fh, index=False)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"{n_rows} rows predicted with {run_.info['model']} → {args.out} ({summary})")
    if kept:
        import pandas as pd

        small = pd.concat(kept, ignore_index=True)
        frames_out(args, small, run_)
        overlays_out(args, small, source, overlay_videos)
    return 0


def _predict_chunk(run_, table):
    """The prediction rows of one table (or one row group): what ``--out`` holds."""
    import pandas as pd

    pred = run_.predict(table)
    # path, subject and label lead; the table's other metadata columns (age group …) follow
    # the probabilities, so the predictions can be evaluated by group without a join
    lead = [c for c in ("path", "subject", "label") if c in table.frame.columns]
    skip = {"id", "status", "y_pred", *lead, *table.feature_names}
    rest = [
        c for c in table.frame.columns if c not in skip and not str(c).startswith(("qc_", "proba_"))
    ]
    frame = table.frame.reset_index(drop=True)
    return pd.concat([pred[["id"]], frame[lead], pred.drop(columns="id"), frame[rest]], axis=1)


#: Columns of the predictions kept in memory for segments, figures and overlays.
_SMALL = ("id", "path", "video", "frame", "time_s", "track_id", "status", "y_pred")
_BOX = ("qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h")


def _wants_frames(args) -> bool:
    return any(getattr(args, n, None) is not None for n in ("segments", "figures", "overlay_video"))


def _small_columns(pred, frame):
    cols = [c for c in pred.columns if c in _SMALL or str(c).startswith("proba_")]
    small = pred[cols].copy()
    for c in _BOX:
        if c in frame.columns:
            small[c] = frame[c].to_numpy(dtype=float, na_value=float("nan"))
    return small


class _TableSource:
    """A feature table read whole (CSV) or in batches of rows (Parquet), as FeatureTables.

    A Parquet table is read ``batch_rows`` rows at a time (its row groups, cut
    further when larger), so predicting hours of frames keeps the memory of one
    batch; the sidecar (mesh, feature names) is read once.
    """

    def __init__(self, path: Path, batch_rows: int):
        import json

        from .._errors import GeofaceError
        from ..features import sidecar_paths

        self.path = Path(path)
        self.batch_rows = batch_rows
        self.parquet = self.path.suffix.lower() in {".parquet", ".pq"}
        self.table = None
        if not self.parquet:
            from ..features import FeatureTable

            self.table = FeatureTable.read(self.path)
            self.info, self.mesh = self.table.info, self.table.mesh
            self.columns = list(self.table.frame.columns)
            return
        meta_path, _ = sidecar_paths(self.path)
        if not self.path.exists():
            raise GeofaceError(f"feature table {self.path} does not exist")
        if not meta_path.exists():
            raise GeofaceError(
                f"{self.path} has no sidecar {meta_path.name}; a geoface feature table needs it "
                "(re-run 'geoface extract')"
            )
        try:
            self.info = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GeofaceError(f"cannot read {meta_path}: {exc}") from None
        if not isinstance(self.info, dict) or not isinstance(self.info.get("mesh"), dict):
            raise GeofaceError(f"{meta_path} has no mesh entry; the sidecar is damaged")
        import pyarrow.parquet as pq

        from ..mesh import Mesh

        self.mesh = Mesh.from_dict(self.info["mesh"])
        self.file = pq.ParquetFile(self.path)
        self.columns = list(self.file.schema_arrow.names)
        missing = [c for c in self.info.get("feature_names", []) if c not in self.columns]
        if missing or "qc_status" not in self.columns:
            raise GeofaceError(
                f"{self.path} lacks columns {missing[:3] or ['qc_status']} that its sidecar "
                "lists; the table was edited or belongs to another sidecar"
            )

    def columns_of(self, names):
        """Only these columns of every row (those the table has)."""
        import pandas as pd

        have = [c for c in names if c in self.columns]
        if self.table is not None:
            return self.table.frame[have]
        if not have:
            return pd.DataFrame()
        return self.file.read(columns=have).to_pandas()

    def empty_table(self):
        from ..features import FeatureTable

        return FeatureTable(frame=self.empty_frame(), mesh=self.mesh, info=self.info)

    def empty_frame(self):
        import pandas as pd

        return pd.DataFrame(columns=self.columns)

    def tables(self):
        """The table's rows as FeatureTables, one batch at a time."""
        if self.table is not None:
            yield self.table
            return
        import pyarrow as pa

        pool = pa.default_memory_pool()
        for k in range(self.file.num_row_groups):
            # a row group at a time (iter_batches reads ahead: over twice the memory), cut
            # further when it is much larger than batch_rows; Arrow's buffers are handed back
            # once converted
            if self.file.metadata.row_group(k).num_rows <= 2 * self.batch_rows:
                parts = [self.file.read_row_group(k, use_threads=False)]
            else:
                parts = self.file.iter_batches(
                    batch_size=self.batch_rows, row_groups=[k], use_threads=False
                )
            for part in parts:
                yield self._table_of(part)
                pool.release_unused()

    def _table_of(self, part):
        from ..features import FeatureTable
        from ..labels import normalise_labels

        frame = part.to_pandas(split_blocks=True)
        if "label" in frame.columns:
            frame["label"] = normalise_labels(frame["label"])[0]
        return FeatureTable(frame=frame, mesh=self.mesh, info=self.info)


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
    g = p.add_argument_group(
        "overlay video",
        "the source video drawn again with each face's landmarks, box and track id and its "
        "predicted class, probability and a probability bar (rows without a prediction show "
        "their status)",
    )
    g.add_argument(
        "--overlay-video",
        type=Path,
        metavar="OUT.mp4",
        help="frame tables: write the overlay video (OUT-<video>.mp4 per video when there are "
        "several)",
    )
    g.add_argument(
        "--overlay-for",
        action="append",
        metavar="VIDEO",
        help="only this video of the table (its 'video' value; repeatable)",
    )
    g.add_argument(
        "--video-root",
        type=Path,
        metavar="DIR",
        help="folder the table's 'path' column is relative to (default: what 'geoface "
        "extract' read, then the table's folder)",
    )


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
    overlay = [f"--{n}" for n in ("overlay_for", "video_root") if getattr(args, n, None)]
    if overlay and args.overlay_video is None:
        raise GeofaceError(f"{', '.join(overlay)} choose(s) the overlay: add --overlay-video OUT")
    if args.overlay_video is not None:
        check_frame_predictions_of(frame, args)
        refuse_onto_inputs(
            args.overlay_video,
            [("input", args.features), ("input", args.run_dir), ("output", args.out)],
            option="--overlay-video",
        )
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


def check_frame_predictions_of(frame, args) -> None:
    from .._errors import GeofaceError
    from ..evaluate import check_frame_predictions

    check_frame_predictions(frame, f"the rows of {args.features}")
    missing = [c for c in ("frame", "path") if c not in frame.columns]
    if missing:
        raise GeofaceError(
            f"--overlay-video needs the frame table's {missing} column(s) (tables from "
            "'geoface extract' on videos have them)"
        )


def _video_file(raw: str, args, info: dict) -> tuple[Path | None, list[Path]]:
    """The source video of a ``path`` value, and the places looked at."""
    rel = Path(raw)
    tried: list[Path] = []
    if args.video_root is not None:
        tried.append(args.video_root / rel)
    elif rel.is_absolute():
        tried.append(rel)
    else:
        source = info.get("source")
        if source:
            src = Path(source)
            tried.append((src if src.is_dir() else src.parent) / rel)
        tried.append(Path(args.features).parent / rel)
        tried.append(rel)
    for cand in tried:
        if cand.is_file():
            return cand, tried
    return None, tried


def overlay_plan(args, source) -> dict:
    """``{video: source file}`` of the videos to draw; refused in one line before any work."""
    if args.overlay_video is None:
        return {}
    from .._errors import GeofaceError

    pairs = source.columns_of(["video", "path"]).dropna().drop_duplicates("video")
    pairs = pairs[pairs["video"].astype(str).str.len() > 0]
    videos = dict(zip(pairs["video"].astype(str), pairs["path"].astype(str), strict=True))
    if args.overlay_for:
        unknown = [v for v in args.overlay_for if v not in videos]
        if unknown:
            raise GeofaceError(
                f"--overlay-for {unknown[0]!r} is not a video of {args.features}; choose one of "
                f"{sorted(videos)[:5]}"
            )
        videos = {v: videos[v] for v in args.overlay_for}
    if not videos:
        raise GeofaceError(f"{args.features} has no video rows to draw an overlay of")
    files = {}
    for video, raw in videos.items():
        found, tried = _video_file(raw, args, source.info)
        if found is None:
            raise GeofaceError(
                f"the video of {video!r} ({raw}) was not found (looked at "
                f"{', '.join(map(str, tried))}); give its folder with --video-root DIR"
            )
        files[video] = found
    return files


def _landmark_table(info: dict, features: Path) -> Path | None:
    recorded = info.get("landmarks_table")
    if not recorded:
        return None
    for cand in (Path(recorded), Path(features).parent / Path(recorded).name):
        if cand.is_file() and cand.suffix.lower() == ".parquet":
            return cand
    return None


def _landmarks_of(path: Path | None, video: str, ids) -> tuple:
    """Each id's landmarks from the landmark table (one video read), or None."""
    import numpy as np

    if path is None:
        return None
    import pyarrow.parquet as pq

    xy = [f"x_{k}" for k in range(68)] + [f"y_{k}" for k in range(68)]
    try:
        part = pq.read_table(path, columns=["id", *xy], filters=[("video", "==", video)])
    except Exception:  # a landmark table of another layout: draw boxes and labels only
        return None
    frame = part.to_pandas().drop_duplicates("id").set_index("id")
    frame = frame.reindex(pd_index(ids))
    arr = frame[xy].to_numpy(dtype=float)
    return np.stack([arr[:, :68], arr[:, 68:]], axis=-1)


def pd_index(ids):
    import pandas as pd

    return pd.Index([str(i) for i in ids])


def overlays_out(args, pred, source, videos: dict) -> None:
    """One overlay video per chosen video: faces, class, probability (``--overlay-video``)."""
    if args.overlay_video is None:
        return
    from ..video import overlay_path, write_prediction_overlay

    lm_path = _landmark_table(source.info, args.features)
    if lm_path is None:
        print("  no landmark table found beside the frame table: overlays draw boxes and labels")
    for video, file in videos.items():
        rows = pred[pred["video"].astype(str) == video]
        target = overlay_path(args.overlay_video, video, len(videos))
        landmarks = _landmarks_of(lm_path, video, rows["id"])
        written = write_prediction_overlay(
            target, file, rows, mesh=source.mesh, landmarks=landmarks
        )
        print(f"overlay video of {video} ({rows['frame'].nunique()} frames) → {written}")


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
