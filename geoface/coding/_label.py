"""Coding-file events joined to the frames of a frame table, by video and time.

Rule: a frame at time ``t`` of video ``v`` takes the label of the event of
``v`` that contains it, ``onset_s ≤ t < offset_s``. A frame inside several
events with the same label takes that label; inside events with different
labels it is ``overlapping`` and left unlabelled; inside none it is
``unlabelled``. Only events whose status is ``ok`` label frames.
"""

from __future__ import annotations

import posixpath

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._common import complete_events

__all__ = ["label_frames", "resolve_events"]


def _clean(name: object) -> str:
    text = str(name).strip().replace("\\", "/")
    if text.lower().startswith("file://"):
        text = text[7:]
    return text


def _stem(name: str) -> str:
    return posixpath.splitext(posixpath.basename(name))[0]


def _no_ext(name: str) -> str:
    return posixpath.splitext(name)[0]


class _VideoIndex:
    """Find the frame table's video id a coding file's video name means."""

    def __init__(self, frames: pd.DataFrame) -> None:
        if "video" not in frames.columns:
            raise GeofaceError(
                "the frame table has no 'video' column; coding files label the frames of "
                "videos (extract a video folder with 'geoface extract')"
            )
        pairs = frames[["video"] + (["path"] if "path" in frames.columns else [])]
        pairs = pairs.drop_duplicates()
        self.ids = sorted({str(v) for v in pairs["video"].dropna()})
        self.by_key: list[dict[str, set[str]]] = [{} for _ in range(4)]
        for row in pairs.itertuples(index=False):
            vid = str(row[0])
            names = [vid]
            if len(row) > 1 and isinstance(row[1], str) and row[1]:
                names.append(_clean(row[1]))
            for name in names:
                for level, key in enumerate(
                    (name, _no_ext(name), posixpath.basename(name), _stem(name))
                ):
                    self.by_key[level].setdefault(key, set()).add(vid)
                    self.by_key[level].setdefault(key.lower(), set()).add(vid)

    def find(self, name: object) -> tuple[str | None, str]:
        """``(video id, "")``, or ``(None, why)`` when no video (or several) match."""
        if name is None or (isinstance(name, float) and np.isnan(name)) or not str(name).strip():
            return None, "the event names no video"
        text = _clean(name)
        if text in self.ids:
            return text, ""
        # the id (a relative path without extension) at the end of a longer path
        tails = [v for v in self.ids if _no_ext(text).endswith("/" + v)]
        if len(tails) >= 1:
            return max(tails, key=len), ""
        keys = (text, _no_ext(text), posixpath.basename(text), _stem(text))
        for case in (str, str.lower):
            for level, key in enumerate(keys):
                found = self.by_key[level].get(case(key), set())
                if len(found) == 1:
                    return next(iter(found)), ""
                if len(found) > 1:
                    shown = ", ".join(sorted(found)[:4])
                    return None, f"{name!r} matches several videos ({shown}); give the path"
        return None, f"no video of the frame table is named {name!r}"


def _spans(frames: pd.DataFrame) -> dict[str, tuple[float, float]]:
    t = pd.to_numeric(frames["time_s"], errors="coerce")
    ok = t.notna()
    grouped = t[ok].groupby(frames.loc[ok, "video"].astype(str))
    return {
        str(k): (float(lo), float(hi))
        for k, lo, hi in zip(
            grouped.min().index, grouped.min().to_numpy(), grouped.max().to_numpy(), strict=True
        )
    }


def resolve_events(events: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """Match each event's video to the frame table and check it lies inside that video.

    A video name matches a frame table video id (the relative path without
    extension) exactly; else an id that ends the name's path; else the file
    name, the name without extension or the stem of an id or of a frame's
    ``path`` (case-insensitively as a last resort), when exactly one video has
    it. Events whose name matches no video (or several) become
    ``unknown_video``; events wholly before the video's first frame or after
    its last become ``outside_video``. ``bad_times`` events keep that status.

    Parameters
    ----------
    events : DataFrame
        From a reader (:func:`geoface.coding.read_coding`), or made by hand with
        ``video, onset_s, offset_s, label`` (statuses are then given from the times).
    frames : DataFrame
        A frame table (``video``, ``time_s``, optional ``path``).

    Returns
    -------
    DataFrame
        A copy of ``events`` whose ``video`` is the frame table's id (where
        matched), with the name the file gave in ``source_video``.
    """
    out = complete_events(events).copy()
    index = _VideoIndex(frames)
    names = out["video"].astype(object).where(out["video"].notna(), "")
    unique = pd.unique(names)
    found = {n: index.find(n) for n in unique}
    vid = np.array([found[n][0] for n in names], dtype=object)
    why = np.array([found[n][1] for n in names], dtype=object)
    status = out["status"].to_numpy(dtype=object).copy()
    note = out["note"].to_numpy(dtype=object).copy() if "note" in out else np.full(len(out), "")
    if "source_video" not in out.columns:
        out.insert(1, "source_video", names.to_numpy(dtype=object))
    unknown = np.array([v is None for v in vid]) & (status != "bad_times")
    status[unknown] = "unknown_video"
    note[unknown] = why[unknown]
    spans = _spans(frames)
    onset = out["onset_s"].to_numpy(dtype=float)
    offset = out["offset_s"].to_numpy(dtype=float)
    lo = np.array([spans.get(v, (np.nan, np.nan))[0] if v else np.nan for v in vid])
    hi = np.array([spans.get(v, (np.nan, np.nan))[1] if v else np.nan for v in vid])
    outside = (status == "ok") & ((offset <= lo) | (onset > hi))
    status[outside] = "outside_video"
    for i in np.flatnonzero(outside):
        note[i] = f"the video's frames span {lo[i]:.3f}–{hi[i]:.3f} s"
    no_frames = (status == "ok") & np.isnan(lo) & ~unknown
    status[no_frames] = "outside_video"
    note[no_frames] = "the video has no frame with a time (unreadable or empty)"
    out["video"] = np.where(unknown | np.array([v is None for v in vid]), names, vid)
    out["status"] = status
    out["note"] = note
    return out


def label_frames(frames: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.Series, pd.Series, dict]:
    """Label each frame with the coding-file event that contains it.

    Parameters
    ----------
    frames : DataFrame
        A frame table: ``video``, ``time_s`` (and optionally ``path``), one row per frame
        (and face).
    events : DataFrame
        Events from :func:`geoface.coding.read_coding`; they are matched to the
        frames' videos with :func:`resolve_events` first.

    Returns
    -------
    labels : Series of object, shape (n_frames,)
        The label, or None for ``overlapping`` and ``unlabelled`` frames; same index as
        ``frames``.
    label_status : Series of str, shape (n_frames,)
        ``ok``, ``overlapping`` or ``unlabelled``.
    counts : dict
        ``{"frames": {status: n}, "events": {status: n}, "events_without_frames": n}``:
        the frames per label status, the events per status after matching, and the
        ``ok`` events that contain no sampled frame (shorter than the sampling step).
    """
    resolved = resolve_events(events, frames)
    n = len(frames)
    t = pd.to_numeric(frames["time_s"], errors="coerce").to_numpy(dtype=float)
    video = frames["video"].astype(str).to_numpy()
    usable = resolved[resolved["status"] == "ok"]
    codes, names = pd.factorize(usable["label"].astype(str))
    ev_video = usable["video"].astype(str).to_numpy()
    ev_on = usable["onset_s"].to_numpy(dtype=float)
    ev_off = usable["offset_s"].to_numpy(dtype=float)
    n_present = np.zeros(n, dtype=np.int16)
    which = np.full(n, -1, dtype=np.int64)
    empty_events = 0
    groups = pd.Series(np.arange(n)).groupby(video).indices
    by_video = pd.Series(np.arange(len(usable))).groupby(ev_video).indices if len(usable) else {}
    for vid, rows in by_video.items():
        frame_rows = groups.get(vid)
        if frame_rows is None:
            continue
        tv = t[frame_rows]
        sorted_t = np.sort(tv[np.isfinite(tv)])
        inside = np.searchsorted(sorted_t, ev_off[rows], "left") - np.searchsorted(
            sorted_t, ev_on[rows], "left"
        )
        empty_events += int((inside <= 0).sum())
        for code in np.unique(codes[rows]):
            mine = rows[codes[rows] == code]
            on, off = np.sort(ev_on[mine]), np.sort(ev_off[mine])
            count = np.searchsorted(on, tv, "right") - np.searchsorted(off, tv, "right")
            hit = count > 0
            n_present[frame_rows[hit]] += 1
            which[frame_rows[hit]] = code
    status = np.full(n, "unlabelled", dtype=object)
    status[n_present == 1] = "ok"
    status[n_present > 1] = "overlapping"
    labels = np.full(n, None, dtype=object)
    one = n_present == 1
    if len(names):
        labels[one] = np.asarray(names, dtype=object)[which[one]]
    index = frames.index
    frame_counts = {k: int(v) for k, v in pd.Series(status).value_counts().items()}
    counts = {
        "frames": {k: frame_counts.get(k, 0) for k in ("ok", "overlapping", "unlabelled")},
        "events": {str(k): int(v) for k, v in resolved["status"].value_counts().items()},
        "events_without_frames": empty_events,
    }
    return (
        pd.Series(labels, index=index, name="label", dtype=object),
        pd.Series(status, index=index, name="label_status", dtype=object),
        counts,
    )
