"""Expressions over time: class probabilities per frame with QC gaps, events and segments;
region contributions as a region × time heat map."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = [
    "CLASS_COLOURS",
    "plot_region_time",
    "plot_time_course",
    "time_course_name",
    "write_time_courses",
]

#: Okabe–Ito colours (colour-blind safe), given to the classes in order.
CLASS_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)


def _colours(classes) -> dict[str, str]:
    return {c: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, c in enumerate(classes)}


def _gaps(t: np.ndarray, bad: np.ndarray) -> list[tuple[float, float]]:
    """Spans of frames without a prediction, and of steps longer than two frame periods."""
    if len(t) == 0:
        return []
    steps = np.diff(t)
    period = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    spans = []
    start = None
    for i in range(len(t)):
        if bad[i] and start is None:
            start = t[i]
        if start is not None and (i == len(t) - 1 or not bad[i + 1]):
            end = t[i + 1] if i + 1 < len(t) else t[i] + period
            spans.append((start, end))
            start = None
    for i in np.flatnonzero(steps > 2 * period + 1e-9):
        spans.append((t[i] + period, t[i + 1]))
    return spans


def _bars(ax, table: pd.DataFrame | None, y: float, colours: dict[str, str], video, track) -> int:
    if table is None or len(table) == 0:
        return 0
    part = table
    if video is not None and "video" in table.columns:
        part = part[part["video"].astype(str) == str(video)]
    if track is not None and "track_id" in part.columns:
        part = part[pd.to_numeric(part["track_id"], errors="coerce").isin([track, np.nan])]
    if "status" in part.columns:
        part = part[part["status"] == "ok"]
    for label, rows in part.groupby(part["label"].astype(str)):
        spans = [(a, b - a) for a, b in zip(rows["onset_s"], rows["offset_s"], strict=True)]
        ax.broken_barh(spans, (y - 0.35, 0.7), color=colours.get(label, "#999999"), lw=0)
    return len(part)


def plot_time_course(
    pred_frames: pd.DataFrame,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    *,
    video: str | None = None,
    track: int | None = None,
    title: str | None = None,
):
    """Class probabilities of one video over time, QC gaps shaded, events beneath.

    Parameters
    ----------
    pred_frames : DataFrame
        Per-frame predictions (what ``geoface predict`` writes for a frame
        table): ``video``, ``time_s``, ``proba_<class>…``, optionally
        ``track_id`` and ``status``. Rows without probabilities (failed QC)
        and steps longer than two frame periods are shaded grey.
    events : DataFrame, optional
        Coded events (``video, onset_s, offset_s, label``, e.g. from
        :func:`geoface.coding.resolve_events`; only ``status`` ok ones), drawn
        as bars on the row "coded".
    segments : DataFrame, optional
        Predicted segments (:func:`geoface.coding.segments_from_proba`), drawn
        on the row "model".
    video : str, optional
        The video to draw (required when ``pred_frames`` holds several).
    track : int, optional
        The track to draw (default: the track with most frames).
    title : str, optional

    Returns
    -------
    Figure
        Two panels sharing the time axis: the probabilities, then the events.
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("video", "time_s") if c not in pred_frames.columns]
    proba_cols = [c for c in pred_frames.columns if str(c).startswith("proba_")]
    if missing or not proba_cols:
        raise GeofaceError(
            f"the predictions lack {missing or ['proba_<class>']}: give per-frame predictions "
            "of a frame table ('geoface predict RUN FRAMES')"
        )
    videos = pred_frames["video"].astype(str).unique()
    if video is None:
        if len(videos) != 1:
            raise GeofaceError(f"the predictions hold {len(videos)} videos; choose one (video=)")
        video = videos[0]
    part = pred_frames[pred_frames["video"].astype(str) == str(video)]
    if len(part) == 0:
        raise GeofaceError(f"video {video!r} is not in the predictions; choose one of {videos[:5]}")
    if "track_id" in part.columns:
        tracks = pd.to_numeric(part["track_id"], errors="coerce")
        if track is None and tracks.notna().any():
            track = int(tracks.value_counts().idxmax())
        if track is not None:
            part = part[(tracks == track) | tracks.isna()]
    part = part.sort_values("time_s", kind="stable")
    t = pd.to_numeric(part["time_s"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(t)
    part, t = part[keep], t[keep]
    P = part[proba_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    classes = [str(c)[len("proba_") :] for c in proba_cols]
    colours = _colours(classes)

    fig, (ax, axe) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=(10, 4.2),
        gridspec_kw={"height_ratios": [3, 1]},
        layout="constrained",
    )
    bad = ~np.isfinite(P).all(axis=1)
    for a, b in _gaps(t, bad):
        for axis in (ax, axe):
            axis.axvspan(a, b, color="0.85", lw=0, zorder=0)
    for j, c in enumerate(classes):
        y = np.where(bad, np.nan, P[:, j])
        ax.plot(t, y, color=colours[c], lw=1.4, label=c)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("probability")
    handles, _ = ax.get_legend_handles_labels()
    if bad.any():
        from matplotlib.patches import Patch

        handles.append(Patch(color="0.85", label="no prediction (QC)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    name = f"{video}" + (f" · track {track}" if track is not None else "")
    ax.set_title(title or name, fontsize=10)
    rows = []
    if events is not None:
        rows.append(("coded", events))
    if segments is not None:
        rows.append(("model", segments))
    for k, (_, table) in enumerate(rows):
        _bars(axe, table, len(rows) - 1 - k, colours, video, track)
    axe.set_yticks(range(len(rows)), [r[0] for r in rows][::-1] if rows else [])
    axe.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    axe.set_xlabel("time (s)")
    if len(t):
        ax.set_xlim(t.min(), t.max())
    return fig


def plot_region_time(
    values: pd.DataFrame,
    *,
    regions: list[str] | None = None,
    ax=None,
    title: str | None = None,
    label: str = "SHAP value",
):
    """Region contributions over time as a heat map (regions × time).

    Parameters
    ----------
    values : DataFrame
        Long (``time_s, region, value``, e.g. from
        :func:`geoface.evaluate.region_contributions_over_time` for one video)
        or wide (index: time in seconds, one column per region).
    regions : list of str, optional
        Row order (default: as they come).
    ax : matplotlib Axes, optional
    title, label : str

    Returns
    -------
    Figure
        Times without values (frames that failed QC, or were not explained)
        are grey.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    if {"time_s", "region", "value"} <= set(values.columns):
        wide = values.pivot_table(index="time_s", columns="region", values="value", sort=False)
    else:
        wide = values
    if regions is not None:
        wide = wide.reindex(columns=regions)
    if wide.shape[0] == 0 or wide.shape[1] == 0:
        raise GeofaceError("no region values to draw")
    wide = wide.sort_index()
    t = wide.index.to_numpy(dtype=float)
    steps = np.diff(t)
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    # a regular time grid, so that frames without values (QC gaps) show as gaps
    slot = np.rint((t - t[0]) / step).astype(int)
    M = np.full((len(wide.columns), int(slot.max()) + 1 if len(slot) else 0), np.nan)
    M[:, slot] = wide.to_numpy(dtype=float).T
    t = t[0] + step * np.arange(M.shape[1])
    lim = float(np.nanmax(np.abs(M))) if np.isfinite(M).any() else 1.0
    lim = lim or 1.0
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 0.3 * len(wide.columns) + 1.4), layout="constrained")
    else:
        fig = ax.figure
    extent = (t[0] - step / 2, t[-1] + step / 2, len(wide.columns) - 0.5, -0.5)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.85")
    im = ax.imshow(
        np.ma.masked_invalid(M),
        aspect="auto",
        cmap=cmap,
        vmin=-lim,
        vmax=lim,
        extent=extent,
        interpolation="nearest",
    )
    ax.set_yticks(range(len(wide.columns)), [str(c) for c in wide.columns], fontsize=8)
    ax.set_xlabel("time (s)")
    fig.colorbar(im, ax=ax, label=label, shrink=0.9)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def time_course_name(video: str, track=None) -> str:
    """File stem of a video's figure: the id with ``/`` as ``__`` (and ``.t<track>``)."""
    stem = re.sub(r"[^\w.\-]+", "_", str(video).replace("/", "__").replace("\\", "__"))
    return stem + ("" if track is None else f".t{track}")


def write_time_courses(
    pred_frames: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    formats: tuple[str, ...] = ("png",),
    dpi: int = 120,
) -> list[Path]:
    """One :func:`plot_time_course` figure per video and track, written atomically.

    Returns the files written (``<folder>/<video id with / as __>[.t<track>].png``;
    the track is named when a video has several).
    """
    import matplotlib.pyplot as plt

    from ._style import save_figure

    folder = Path(folder)
    written: list[Path] = []
    has_track = "track_id" in pred_frames.columns
    tracks = (
        pd.to_numeric(pred_frames["track_id"], errors="coerce")
        if has_track
        else pd.Series(np.nan, index=pred_frames.index)
    )
    for video, rows in pred_frames.groupby(pred_frames["video"].astype(str), sort=True):
        ids = sorted(int(v) for v in tracks[rows.index].dropna().unique())
        for track in ids or [None]:
            fig = plot_time_course(rows, events, segments, video=video, track=track)
            name = time_course_name(video, track if len(ids) > 1 else None)
            written += save_figure(fig, folder / name, formats=formats, dpi=dpi)
            plt.close(fig)
    return written
