"""Person-specific references: each face described relative to its own person's baseline.

Geometric features mix two things: the shape of a person's face and the
expression on it. Subtracting a reference taken from the *same* person (or
session, sequence or video track) removes most of the first and keeps the
second. Two kinds of reference are offered, both chosen without labels:

``mean``
    the mean of the other faces of the same group (a subject's mean face over
    all of its images; infant studies always have several per child);
``first``
    the first face of the group, in the order of an ``order`` column (the
    first frame of a sequence or of a face track, usually neutral);
``marked``
    the faces a boolean column marks as the group's baseline (e.g. a
    ``baseline`` column the user fills in, or the frames a coding file codes
    as neutral);
``quiet``
    a video track's *quietest* frames, its resting face found without labels
    (:func:`quiet_reference_mask`): each usable frame of the group, in the
    order of ``order`` (time), gets a speed (how much its features change per
    second towards its neighbours) and a distance from the group's median
    frame, both on features scaled by the group's robust spread; the
    :data:`QUIET_FRACTION` of frames with the lowest mean rank of the two (at
    least :data:`QUIET_MIN_FRAMES`, all when the group has fewer) are the
    reference. It assumes the face rests for a good part of the track (the
    median is then a resting face); where an expression fills most of a
    track, name its neutral stretch with ``marked`` instead.

Rules that hold for every kind:

* a row is never its own reference (``mean`` uses the *other* faces of the
  group; a reference row of ``first``/``marked`` is compared with the other
  reference rows of its group, if any);
* where a group has no reference left for a row, the row falls back to the
  reference the caller gives (the mesh template's features in
  :func:`geoface.features.extract_table`, which depend on no data at all), and
  is flagged;
* references are plain means of feature vectors and the result is their
  difference (areas, angles and strains alike), so mirroring a face and
  mirroring its reference commute with it.

The same machinery serves a video's face track (``group`` = track,
``rule="first"`` with ``order`` = frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = [
    "QUIET_FRACTION",
    "QUIET_MIN_FRAMES",
    "QUIET_SAMPLE",
    "RELATIVE_RULES",
    "RelativeResult",
    "group_centre",
    "marked_rows",
    "pick_quiet",
    "quiet_reference_mask",
    "quiet_scores",
    "reference_mask",
    "relative_to_reference",
    "step_speed",
]

#: The rules that choose each group's reference rows.
RELATIVE_RULES = ("mean", "first", "marked", "quiet")

#: ``quiet``: the share of a group's usable frames taken as its reference.
QUIET_FRACTION = 0.2
#: ``quiet``: the fewest frames taken (all of the group's frames when it has fewer).
QUIET_MIN_FRAMES = 10
#: ``quiet``: the median and spread of a group come from at most this many of its
#: usable frames, evenly spaced in time order (every ``ceil(n / QUIET_SAMPLE)``-th),
#: so that a streaming pass over an hour-long table finds exactly the same frames.
QUIET_SAMPLE = 2000


@dataclass(frozen=True)
class RelativeResult:
    """Features relative to a per-group reference.

    Attributes
    ----------
    features : ndarray of shape (n_rows, n_features)
    fallback : ndarray of bool, shape (n_rows,)
        True where the row's group had no reference other than the row itself
        and the fallback reference was used.
    is_reference : ndarray of bool, shape (n_rows,)
        The rows the rule chose as references.
    """

    features: np.ndarray
    fallback: np.ndarray
    is_reference: np.ndarray


def marked_rows(values: pd.Series) -> np.ndarray:
    """Rows a mark column marks: True, non-zero numbers, or 1/true/yes/y/t (any case)."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        return values.fillna(0).to_numpy(dtype=float) != 0
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("1", "true", "yes", "y", "t")).to_numpy()


def reference_mask(
    frame: pd.DataFrame,
    rule: str,
    *,
    group: str,
    order: str | None = None,
    mark: str | None = None,
    usable: np.ndarray | None = None,
    features: np.ndarray | None = None,
    fraction: float = QUIET_FRACTION,
    min_frames: int = QUIET_MIN_FRAMES,
) -> np.ndarray:
    """Which rows serve as their group's reference under ``rule`` (labels are never read).

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    rule : {"mean", "first", "marked", "quiet"}
        ``mean``: every usable row; ``first``: the first usable row of each
        group by ``order`` (ties and a missing ``order`` keep the table order);
        ``marked``: usable rows whose ``mark`` column is true (1, true, yes);
        ``quiet``: the group's quietest frames (:func:`quiet_reference_mask`,
        ordered by ``order``; needs ``features``).
    group : str
        Column holding the group (subject, session, sequence, track).
    order : str, optional
        Column to order rows within a group for ``first``.
    mark : str, optional
        Boolean column for ``marked``.
    usable : ndarray of bool, shape (n_rows,), optional
        Rows with valid features; the others are never references.
    features : ndarray of shape (n_rows, n_features), optional
        For ``quiet``: the features the frames are compared on.
    fraction, min_frames
        For ``quiet``: see :func:`quiet_reference_mask`.

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    if rule not in RELATIVE_RULES:
        raise GeofaceError(f"rule={rule!r} is not one of {set(RELATIVE_RULES)}; pick one")
    for col, what in ((group, "group"), (order, "order"), (mark, "mark")):
        if col is not None and col not in frame.columns:
            raise GeofaceError(
                f"{what}={col!r} is not a column of the table; choose one of {list(frame.columns)}"
            )
    n = len(frame)
    usable = np.ones(n, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    if rule == "mean":
        return usable.copy()
    if rule == "quiet":
        if features is None:
            raise GeofaceError("rule='quiet' needs the features the frames are compared on")
        times = None
        if order is not None:
            times = pd.to_numeric(frame[order], errors="coerce").to_numpy(dtype=float)
        return quiet_reference_mask(
            features,
            frame[group].astype(str).to_numpy(),
            times,
            usable=usable,
            fraction=fraction,
            min_frames=min_frames,
        )
    if rule == "marked":
        if mark is None:
            raise GeofaceError("rule='marked' needs mark=COLUMN, the column marking the baseline")
        return marked_rows(frame[mark]) & usable
    keys = frame[group].astype(str).to_numpy()
    pos = np.arange(n)
    sort_key = pd.DataFrame({"g": keys, "pos": pos, "ok": usable})
    if order is not None:
        sort_key["o"] = pd.to_numeric(frame[order], errors="coerce")
        if sort_key["o"].isna().all():
            sort_key["o"] = frame[order].astype(str).to_numpy()
        by = ["g", "o", "pos"]
    else:
        by = ["g", "pos"]
    ranked = sort_key[sort_key["ok"]].sort_values(by, kind="stable")
    first = ranked.drop_duplicates("g", keep="first")["pos"].to_numpy()
    out = np.zeros(n, dtype=bool)
    out[first] = True
    return out


def relative_to_reference(
    X: np.ndarray,
    groups: np.ndarray,
    is_reference: np.ndarray,
    *,
    fallback: np.ndarray,
    usable: np.ndarray | None = None,
) -> RelativeResult:
    """Subtract from every row the mean of its group's reference rows, never itself.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    groups : array-like of shape (n_rows,)
        Group of each row (missing groups use the fallback).
    is_reference : ndarray of bool, shape (n_rows,)
        From :func:`reference_mask`.
    fallback : ndarray of shape (n_features,)
        The reference for rows whose group offers none but themselves (e.g.
        the features of the mesh template).
    usable : ndarray of bool, shape (n_rows,), optional
        Rows with valid features; the others are returned unchanged and never
        serve as references.

    Returns
    -------
    RelativeResult
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    fallback = np.asarray(fallback, dtype=float).reshape(-1)
    if fallback.shape[0] != X.shape[1]:
        raise GeofaceError(
            f"fallback has {fallback.shape[0]} values for {X.shape[1]} features; give one per "
            "feature"
        )
    usable = np.ones(n, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    usable = usable & np.isfinite(X).all(axis=1)
    ref = np.asarray(is_reference, dtype=bool) & usable
    g = pd.Series(groups)
    missing = g.isna().to_numpy()
    keys = g.astype(str).to_numpy()
    codes, uniq = pd.factorize(keys)
    k = len(uniq)
    Xr = np.where(ref[:, None], X, 0.0)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, codes, Xr)
    counts = np.bincount(codes, weights=ref.astype(float), minlength=k)
    # leave the row out of its own reference
    own_sum = sums[codes] - Xr
    own_count = counts[codes] - ref.astype(float)
    has = (own_count > 0) & ~missing
    out = X.copy()
    rows = usable & has
    out[rows] = X[rows] - own_sum[rows] / own_count[rows, None]
    fb = usable & ~has
    out[fb] = X[fb] - fallback
    return RelativeResult(features=out, fallback=fb, is_reference=ref)


def _check_quiet(fraction: float, min_frames: int) -> None:
    if not (np.isfinite(fraction) and 0 < fraction <= 1):
        raise GeofaceError(f"fraction={fraction!r} must lie in (0, 1]: the share of quiet frames")
    if int(min_frames) != min_frames or min_frames < 1:
        raise GeofaceError(f"min_frames={min_frames!r} must be a whole number ≥ 1")


def _sample_rows(n: int) -> np.ndarray:
    """Positions (within a group's usable rows) of the rows its median and spread use."""
    step = max(1, -(-n // QUIET_SAMPLE))
    return np.arange(0, n, step)


def group_centre(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread (1.4826 × MAD; 1 where it is 0) of a group's sample rows.

    Parameters
    ----------
    sample : ndarray of shape (n_sample, n_features)

    Returns
    -------
    median, scale : ndarray of shape (n_features,)
    """
    median = np.median(sample, axis=0)
    scale = 1.4826 * np.median(np.abs(sample - median), axis=0)
    return median, np.where(scale > 0, scale, 1.0)


def step_speed(z: np.ndarray, z_prev: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Root-mean-square change of scaled features from the previous frame, per second.

    A step without a positive time difference counts as one second (per frame).
    """
    dt = np.where(np.isfinite(dt) & (dt > 0), dt, 1.0)
    return np.sqrt(np.mean((z - z_prev) ** 2, axis=1)) / dt


def quiet_scores(speed: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Score of a group's frames: mean of the ranks of speed and distance (lower: quieter).

    A frame without a speed (a group of one frame) is ranked by its distance alone.
    """
    rank_d = pd.Series(distance).rank(method="average", pct=True).to_numpy()
    rank_s = pd.Series(speed).rank(method="average", pct=True).to_numpy()
    return np.where(np.isfinite(rank_s), (rank_s + rank_d) / 2.0, rank_d)


def pick_quiet(scores: np.ndarray, fraction: float, min_frames: int) -> np.ndarray:
    """Positions of the quietest ``max(min_frames, ceil(fraction · n))`` rows (stable ties)."""
    n = len(scores)
    k = min(n, max(int(min_frames), int(np.ceil(fraction * n - 1e-9))))
    return np.sort(np.argsort(scores, kind="stable")[:k])


def quiet_reference_mask(
    features: np.ndarray,
    groups,
    times: np.ndarray | None = None,
    *,
    usable: np.ndarray | None = None,
    fraction: float = QUIET_FRACTION,
    min_frames: int = QUIET_MIN_FRAMES,
) -> np.ndarray:
    """The quietest frames of each group (a face track): its resting face, without labels.

    The rule, per group, over its usable frames in time order:

    1. the **median** frame and the **spread** of every feature (1.4826 × the
       median absolute deviation) over at most :data:`QUIET_SAMPLE` of the
       frames, evenly spaced; features are scaled by it (``z = (x - median) /
       spread``), so that areas, angles and strains count alike;
    2. each frame's **speed**: the root-mean-square change of ``z`` per second
       to the previous frame and from it to the next, averaged (per frame step
       when times are missing);
    3. its **distance**: the root-mean-square of ``z`` (from the median frame);
    4. **score** = the mean of the two ranks; the ``max(min_frames,
       ceil(fraction · n))`` frames of lowest score (all when ``n`` is
       smaller) are the reference.

    Parameters
    ----------
    features : ndarray of shape (n_rows, n_features)
    groups : array-like of shape (n_rows,)
        The track (or person) of each row.
    times : ndarray of shape (n_rows,), optional
        Time of each row (seconds); rows are taken in table order within a
        group when omitted (the order of a frame table), and also for ties.
    usable : ndarray of bool, shape (n_rows,), optional
        Rows with valid features; rows with a non-finite feature are never
        references either.
    fraction : float, default=QUIET_FRACTION
        Share of a group's usable frames taken, in (0, 1].
    min_frames : int, default=QUIET_MIN_FRAMES

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    _check_quiet(fraction, min_frames)
    X = np.asarray(features, dtype=float)
    n = len(X)
    ok = np.isfinite(X).all(axis=1)
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    keys = pd.Series(groups).astype(str).to_numpy()
    t = np.full(n, np.nan) if times is None else np.asarray(times, dtype=float)
    out = np.zeros(n, dtype=bool)
    rows_of = pd.Series(np.flatnonzero(ok)).groupby(keys[ok]).indices
    ok_rows = np.flatnonzero(ok)
    for pos in rows_of.values():
        rows = ok_rows[pos]  # table order
        if times is not None:
            rows = rows[np.argsort(t[rows], kind="stable")]
        Xg = X[rows]
        median, scale = group_centre(Xg[_sample_rows(len(rows))])
        z = (Xg - median) / scale
        distance = np.sqrt(np.mean(z**2, axis=1))
        speed = np.full(len(rows), np.nan)
        if len(rows) > 1:
            back = step_speed(z[1:], z[:-1], np.diff(t[rows]))
            both = np.full((len(rows), 2), np.nan)
            both[1:, 0] = back
            both[:-1, 1] = back
            speed = np.nanmean(both, axis=1)
        out[rows[pick_quiet(quiet_scores(speed, distance), fraction, min_frames)]] = True
    return out
