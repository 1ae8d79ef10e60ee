"""Predictions on frames: segments with their smoothing recorded, event-level agreement with a
coding file, and region contributions over time from explanations of frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = [
    "EventEvaluation",
    "agreement_lines",
    "check_frame_predictions",
    "evaluate_events",
    "frame_segments",
    "region_contributions_over_time",
    "smoothing_line",
]


def check_frame_predictions(pred: pd.DataFrame, what: str = "the predictions") -> None:
    """Refuse (one line) predictions that are not of a frame table."""
    missing = [c for c in ("video", "time_s") if c not in pred.columns]
    if missing:
        raise GeofaceError(
            f"{what} have no {missing} column(s): they are not of a frame table; predict a "
            "frame table (from 'geoface extract' on videos) to get video and time_s per frame"
        )


def frame_segments(
    pred: pd.DataFrame,
    *,
    smooth: str = "none",
    window_s: float = 0.5,
    min_duration_s: float = 0.0,
    threshold: float = 0.0,
) -> tuple[pd.DataFrame, dict]:
    """Segments of per-frame predictions and a record of how they were made.

    Parameters
    ----------
    pred : DataFrame
        ``video, time_s, proba_<class>…`` (and ``track_id``), as ``geoface
        predict`` writes for a frame table.
    smooth, window_s, min_duration_s, threshold
        As :func:`geoface.coding.segments_from_proba`.

    Returns
    -------
    segments : DataFrame
        :data:`geoface.coding.SEGMENT_COLUMNS`.
    info : dict
        The options, what the smoother does, and counts (segments, per class, videos).
    """
    from ..coding import SMOOTHERS, segments_from_proba

    check_frame_predictions(pred)
    segments = segments_from_proba(
        pred,
        smooth=smooth,
        window_s=window_s,
        min_duration_s=min_duration_s,
        threshold=threshold,
    )
    info = {
        "smooth": smooth,
        "smoothing": SMOOTHERS.get(smooth, smooth),
        "window_s": window_s if smooth != "none" else None,
        "min_duration_s": min_duration_s,
        "threshold": threshold,
        "n_segments": len(segments),
        "per_class": {str(k): int(v) for k, v in segments["label"].value_counts().items()},
        "n_videos": int(segments["video"].nunique()) if len(segments) else 0,
    }
    return segments, info


def smoothing_line(info: dict) -> str:
    """One printed line saying how segments were made."""
    how = (
        "no smoothing"
        if info["smooth"] == "none"
        else (f"{info['smooth']} smoothing over {info['window_s']:g} s")
    )
    return (
        f"segments: {how}, shortest {info['min_duration_s']:g} s, threshold "
        f"{info['threshold']:g} → {info['n_segments']} segments in {info['n_videos']} video(s)"
    )


@dataclass
class EventEvaluation:
    """Predicted segments against a coding file's events.

    Attributes
    ----------
    agreement : DataFrame
        :data:`geoface.coding.AGREEMENT_COLUMNS`, per class and ``overall``.
    segments : DataFrame
        The predicted segments.
    events : DataFrame
        The coded events matched to the predictions' videos, each with its status.
    frame_labels : Series
        Each prediction row's coded label (None outside every event).
    info : dict
    """

    agreement: pd.DataFrame
    segments: pd.DataFrame
    events: pd.DataFrame
    frame_labels: pd.Series
    info: dict = field(default_factory=dict)


def evaluate_events(
    pred: pd.DataFrame,
    events: pd.DataFrame,
    *,
    tolerance_s: float = 0.5,
    smooth: str = "none",
    window_s: float = 0.5,
    min_duration_s: float = 0.0,
    threshold: float = 0.0,
) -> EventEvaluation:
    """Event-level agreement of per-frame predictions with coded events.

    The predictions become segments (:func:`frame_segments`); the events
    (from :func:`geoface.coding.read_coding`) are matched to the predictions'
    videos (:func:`geoface.coding.resolve_events`) and to the segments by
    onset (:func:`geoface.coding.event_agreement`, one to one, within
    ``tolerance_s``).

    Returns
    -------
    EventEvaluation
    """
    from ..coding import event_agreement, label_frames, resolve_events

    segments, seg_info = frame_segments(
        pred,
        smooth=smooth,
        window_s=window_s,
        min_duration_s=min_duration_s,
        threshold=threshold,
    )
    resolved = resolve_events(events, pred)
    agreement = event_agreement(segments, resolved, onset_tolerance_s=tolerance_s)
    labels, _, counts = label_frames(pred, events)
    info = {
        "tolerance_s": tolerance_s,
        "segments": seg_info,
        "events": {str(k): int(v) for k, v in resolved["status"].value_counts().items()},
        "frames": counts["frames"],
    }
    return EventEvaluation(
        agreement=agreement, segments=segments, events=resolved, frame_labels=labels, info=info
    )


def agreement_lines(ev: EventEvaluation) -> list[str]:
    """The agreement table in a few printed lines."""
    ok = ev.info["events"].get("ok", 0)
    other = {k: v for k, v in ev.info["events"].items() if k != "ok"}
    lines = [
        f"events: {ok} coded events used"
        + (f" ({', '.join(f'{k} {v}' for k, v in other.items())} not)" if other else "")
        + f", onset tolerance {ev.info['tolerance_s']:g} s"
    ]

    def fmt(x):
        return "n/a" if not np.isfinite(x) else f"{x:.3f}"

    for row in ev.agreement.itertuples(index=False):
        lines.append(
            f"  {row[0]:<12} coded {row.n_coded:>4}  predicted {row.n_predicted:>4}  matched "
            f"{row.matched:>4}  precision {fmt(row.precision)}  recall {fmt(row.recall)}  "
            f"F1 {fmt(row.f1)}  onset error {fmt(row.mean_onset_error_s)} s"
        )
    return lines


def region_contributions_over_time(
    explanation,
    frames: pd.DataFrame,
    *,
    class_name: str | None = None,
) -> pd.DataFrame:
    """SHAP values summed by region, per explained frame, in time: the data of a heat map.

    Parameters
    ----------
    explanation : geoface.explain.Explanation
        From ``geoface explain RUN --features FRAMES --final`` (read with
        :meth:`geoface.explain.Explanation.read`).
    frames : DataFrame
        The frame table's rows (or the predictions): ``id, video, time_s``
        (and ``track_id``), joined to the explanation by ``id``.
    class_name : str, optional
        The class whose contributions are shown; by default each frame's
        predicted class (what drove the decision at that time).

    Returns
    -------
    DataFrame
        Long: ``id, video, track_id, time_s, class, region, value``, one row per
        explained frame and region, sorted by video, track and time.
    """
    check_frame_predictions(frames, "the frames")
    if "id" not in frames.columns:
        raise GeofaceError("the frames have no 'id' column to join the explanation by")
    values = np.asarray(explanation.region_values())  # (n, n_regions, n_classes)
    regions = list(explanation.hierarchy.regions)
    if class_name is None:
        which = np.asarray(explanation.predicted, dtype=int)
    else:
        which = np.full(len(values), explanation.class_index(class_name))
    chosen = values[np.arange(len(values)), :, which]  # (n, n_regions)
    ids = np.asarray(explanation.ids).astype(str)
    meta = frames.assign(id=frames["id"].astype(str)).drop_duplicates("id").set_index("id")
    known = pd.Index(ids).isin(meta.index)
    if not known.any():
        raise GeofaceError(
            "no explained id is in the frames; explain the same frame table "
            "('geoface explain RUN --features FRAMES --final')"
        )
    meta = meta.reindex(ids[known])
    classes = np.asarray(explanation.classes, dtype=object)[which[known]]
    n_r = len(regions)
    track = meta["track_id"] if "track_id" in meta.columns else pd.Series(0, index=meta.index)
    out = pd.DataFrame(
        {
            "id": np.repeat(ids[known], n_r),
            "video": np.repeat(meta["video"].astype(str).to_numpy(), n_r),
            "track_id": np.repeat(track.to_numpy(), n_r),
            "time_s": np.repeat(pd.to_numeric(meta["time_s"]).to_numpy(dtype=float), n_r),
            "class": np.repeat(classes, n_r),
            "region": np.tile(np.asarray(regions, dtype=object), int(known.sum())),
            "value": chosen[known].reshape(-1),
        }
    )
    return out.sort_values(["video", "track_id", "time_s"], kind="stable").reset_index(drop=True)
