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
    ``baseline`` column the user fills in).

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

__all__ = ["RELATIVE_RULES", "RelativeResult", "reference_mask", "relative_to_reference"]

#: The rules that choose each group's reference rows.
RELATIVE_RULES = ("mean", "first", "marked")


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


def _truthy(values: pd.Series) -> np.ndarray:
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
) -> np.ndarray:
    """Which rows serve as their group's reference under ``rule`` (labels are never read).

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    rule : {"mean", "first", "marked"}
        ``mean``: every usable row; ``first``: the first usable row of each
        group by ``order`` (ties and a missing ``order`` keep the table order);
        ``marked``: usable rows whose ``mark`` column is true (1, true, yes).
    group : str
        Column holding the group (subject, session, sequence, track).
    order : str, optional
        Column to order rows within a group for ``first``.
    mark : str, optional
        Boolean column for ``marked``.
    usable : ndarray of bool, shape (n_rows,), optional
        Rows with valid features; the others are never references.

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
    if rule == "marked":
        if mark is None:
            raise GeofaceError("rule='marked' needs mark=COLUMN, the column marking the baseline")
        return _truthy(frame[mark]) & usable
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
