"""Per-frame class probabilities → segments (onset, offset, class, peak probability).

The rule, per video and track, frames in time order:

1. **Pieces.** A frame without probabilities (a frame that failed QC, NaN
   probabilities) or a time step longer than twice the track's frame period
   (the median step between its frames: frames not sampled, a missing stretch)
   ends a piece. Nothing is smoothed or joined across the end of a piece.
2. **Smoothing** (optional, within each piece): ``"median"``, a centred
   running median of each class's probability over ``window_s`` (rounded to an
   odd number of frames at the table's median frame period, edges repeated);
   ``"ema"``, a causal exponential moving average with time constant
   ``window_s`` (weight ``1 - exp(-period / window_s)`` on the new frame).
3. **Class per frame**: the class of largest (smoothed) probability; a frame
   whose largest probability is below ``threshold`` has no class.
4. **Runs** of frames with one class inside a piece are the candidate
   segments: onset = the first frame's time, offset = the last frame's time +
   one frame period (so that the segment ``[onset, offset)`` holds exactly its
   frames, the rule :func:`geoface.coding.label_frames` uses).
5. **Short runs** (duration below ``min_duration_s``), of a class or of no
   class, are removed; two runs of the same class that only removed runs
   separated (inside one piece) become one segment. Runs of no class are then
   dropped.

``peak_proba`` is the largest (smoothed) probability of the segment's class over
its frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = ["SEGMENT_COLUMNS", "SMOOTHERS", "segments_from_proba"]

#: Columns of a segments table, in this order.
SEGMENT_COLUMNS = (
    "video",
    "track_id",
    "onset_s",
    "offset_s",
    "label",
    "peak_proba",
    "duration_s",
    "n_frames",
)

#: ``smooth=`` → what it does.
SMOOTHERS: dict[str, str] = {
    "none": "no smoothing",
    "median": "centred running median over window_s (odd number of frames)",
    "ema": "causal exponential moving average, time constant window_s",
}


def _median_smooth(p: np.ndarray, first: np.ndarray, last: np.ndarray, w: int) -> np.ndarray:
    """Running median of ``p`` (n, C) over ``w`` frames, clamped to each row's piece.

    The whole array is filtered at once; rows whose window would reach past their
    piece's ends are then recomputed with the window clamped (edge values repeated).
    """
    from scipy.ndimage import median_filter

    half = w // 2
    out = median_filter(p, size=(w, 1), mode="nearest")
    rows = np.arange(len(p))
    near = np.flatnonzero((rows - first < half) | (last - rows < half))
    offsets = np.arange(-half, half + 1)
    step = max(1, 4_000_000 // max(1, w * p.shape[1]))
    for a in range(0, len(near), step):
        r = near[a : a + step]
        idx = np.clip(r[:, None] + offsets[None, :], first[r, None], last[r, None])
        out[r] = np.median(p[idx], axis=1)
    return out


def _ema_smooth(p: np.ndarray, starts: np.ndarray, ends: np.ndarray, alpha: float) -> np.ndarray:
    from scipy.signal import lfilter

    out = np.empty_like(p)
    b, a = [alpha], [1.0, -(1.0 - alpha)]
    for s, e in zip(starts, ends, strict=True):
        x = p[s:e]
        zi = (1.0 - alpha) * x[:1]  # start at the first frame's value
        out[s:e], _ = lfilter(b, a, x, axis=0, zi=zi)
    return out


def segments_from_proba(
    frames: pd.DataFrame,
    *,
    smooth: str = "none",
    window_s: float = 0.5,
    min_duration_s: float = 0.0,
    threshold: float = 0.0,
) -> pd.DataFrame:
    """Segments of constant predicted class from per-frame class probabilities.

    Parameters
    ----------
    frames : DataFrame
        One row per frame: ``video``, ``time_s``, ``proba_<class>`` columns (as
        ``geoface predict`` writes them) and optionally ``track_id`` (default 0).
        Rows with a missing probability or time are gaps.
    smooth : {"none", "median", "ema"}
        See :data:`SMOOTHERS` and the module's rule.
    window_s : float
        Smoothing window (median) or time constant (ema), seconds.
    min_duration_s : float
        Runs shorter than this are removed (and same-class neighbours joined).
    threshold : float
        Frames whose largest probability is below it have no class.

    Returns
    -------
    DataFrame
        :data:`SEGMENT_COLUMNS`: ``video, track_id, onset_s, offset_s, label,
        peak_proba, duration_s, n_frames``, sorted by video, track and onset.
    """
    if smooth not in SMOOTHERS:
        raise GeofaceError(f"smooth={smooth!r} is not one of {sorted(SMOOTHERS)}")
    for name, value in (("window_s", window_s), ("min_duration_s", min_duration_s)):
        if not np.isfinite(value) or value < 0:
            raise GeofaceError(f"{name}={value!r} must be a finite number ≥ 0")
    if not 0 <= threshold <= 1:
        raise GeofaceError(f"threshold={threshold!r} must be a probability in [0, 1]")
    proba_cols = [c for c in frames.columns if str(c).startswith("proba_")]
    missing = [c for c in ("video", "time_s") if c not in frames.columns]
    if missing or not proba_cols:
        what = missing + ([] if proba_cols else ["proba_<class>"])
        raise GeofaceError(
            f"the predictions lack the column(s) {what}; predict a frame table with "
            "'geoface predict RUN FRAMES' to get video, time_s and proba_<class> per frame"
        )
    classes = np.array([str(c)[len("proba_") :] for c in proba_cols], dtype=object)
    n = len(frames)
    video_codes, video_names = pd.factorize(frames["video"].astype(str))
    track = (
        pd.to_numeric(frames["track_id"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
        if "track_id" in frames.columns
        else np.zeros(n, dtype=np.int64)
    )
    t_all = pd.to_numeric(frames["time_s"], errors="coerce").to_numpy(dtype=float)
    order = np.lexsort((t_all, track, video_codes))
    t = t_all[order]
    p = frames[proba_cols].to_numpy(dtype=float)[order]
    group_key = video_codes[order].astype(np.int64) * (track.max() + 2) + (track[order] + 1)
    valid = np.isfinite(t) & np.isfinite(p).all(axis=1)

    # frame period per (video, track): the median positive step between its valid frames
    vpos = np.flatnonzero(valid)
    if len(vpos) == 0:
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    tg, gg = t[vpos], group_key[vpos]
    same = np.r_[False, gg[1:] == gg[:-1]]
    dt = np.r_[np.nan, np.diff(tg)]
    steps = pd.Series(np.where(same & (dt > 0), dt, np.nan)).groupby(gg).median()
    fallback = float(np.nanmedian(steps.to_numpy())) if steps.notna().any() else 0.0
    period_of_group = steps.fillna(fallback)
    period = period_of_group.reindex(gg).to_numpy(dtype=float)

    # pieces: a new group, an invalid frame in between, or a step > 2 periods
    contiguous = np.r_[False, np.diff(vpos) == 1]
    new_piece = ~same | ~contiguous | (dt > 2.0 * period + 1e-9)
    piece = np.cumsum(new_piece) - 1
    starts = np.flatnonzero(new_piece)
    ends = np.r_[starts[1:], len(vpos)]
    pv = p[vpos]
    if smooth != "none" and window_s > 0:
        typical = fallback if fallback > 0 else 1.0
        if smooth == "median":
            w = max(1, round(window_s / typical))
            w += 1 - w % 2
            if w > 1:
                first = starts[piece]
                last = ends[piece] - 1
                pv = _median_smooth(pv, first, last, w)
        else:
            alpha = 1.0 - np.exp(-typical / window_s)
            pv = _ema_smooth(pv, starts, ends, alpha)

    cls = np.argmax(pv, axis=1)
    top = pv[np.arange(len(pv)), cls]
    if threshold > 0:
        cls = np.where(top < threshold, -1, cls)

    # runs of one class inside a piece
    run_start = np.flatnonzero(np.r_[True, (cls[1:] != cls[:-1]) | (piece[1:] != piece[:-1])])
    run_end = np.r_[run_start[1:], len(cls)] - 1  # inclusive
    run_cls, run_piece = cls[run_start], piece[run_start]
    onset = tg[run_start]
    offset = tg[run_end] + period[run_end]
    keep = (offset - onset) >= min_duration_s - 1e-9
    run_start, run_end = run_start[keep], run_end[keep]
    run_cls, run_piece = run_cls[keep], run_piece[keep]
    if len(run_start) == 0:
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    # join kept runs of one class that only removed runs separated
    joined = np.r_[True, (run_cls[1:] != run_cls[:-1]) | (run_piece[1:] != run_piece[:-1])]
    head = np.flatnonzero(joined)
    tail = np.r_[head[1:], len(run_start)] - 1
    seg_start, seg_end = run_start[head], run_end[tail]
    seg_cls = run_cls[head]
    labelled = seg_cls >= 0
    seg_start, seg_end, seg_cls = seg_start[labelled], seg_end[labelled], seg_cls[labelled]
    if len(seg_start) == 0:
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))

    # peak probability of the segment's class over its frames
    lengths = seg_end - seg_start + 1
    seg_id = np.repeat(np.arange(len(seg_start)), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows = np.repeat(seg_start, lengths) + within
    values = pv[rows, seg_cls[seg_id]]
    peak = np.maximum.reduceat(values, np.r_[0, np.cumsum(lengths)[:-1]])

    onset = tg[seg_start]
    offset = tg[seg_end] + period[seg_end]
    frame_rows = order[vpos[seg_start]]
    out = pd.DataFrame(
        {
            "video": np.asarray(video_names, dtype=object)[video_codes[frame_rows]],
            "track_id": track[frame_rows] if "track_id" in frames.columns else 0,
            "onset_s": onset,
            "offset_s": offset,
            "label": classes[seg_cls],
            "peak_proba": peak,
            "duration_s": offset - onset,
            "n_frames": lengths,
        }
    )
    return out.sort_values(["video", "track_id", "onset_s"], kind="stable").reset_index(drop=True)
