"""Developmental age groups: infant, younger child, older child, teenager, adult.

The default boundaries follow the age groups of the infants-vs-adults study
(a ResNet-50 age estimator split AffectNet into infant 1–3 years, younger child
4–8, older child 8–12, teenager 13–17 and adult 18+), made into half-open
intervals in years so that every age has exactly one group:

=============== ==================
group           age (years)
=============== ==================
infant          0 ≤ age < 4
younger_child   4 ≤ age < 8
older_child     8 ≤ age < 13
teenager        13 ≤ age < 18
adult           18 ≤ age
=============== ==================

The study's table lists 8 in both child groups; here an 8-year-old is an older
child. ``bins`` are the lower edges (``0,4,8,13,18``); any other edges may be
given (``--age-bins 0,3,8,13,20``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from ._errors import GeofaceError

__all__ = ["AGE_GROUPS", "DEFAULT_AGE_BINS", "assign_age_groups", "parse_age_bins"]

#: The five group names, youngest first.
AGE_GROUPS: tuple[str, ...] = ("infant", "younger_child", "older_child", "teenager", "adult")
#: Lower edges of the groups, in years.
DEFAULT_AGE_BINS: tuple[float, ...] = (0.0, 4.0, 8.0, 13.0, 18.0)


def _check(bins: Sequence[float], labels: Sequence[str]) -> np.ndarray:
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) == 0 or not np.isfinite(edges).all():
        raise GeofaceError(f"age bins {list(bins)} must be one or more finite lower edges")
    if np.any(np.diff(edges) <= 0):
        raise GeofaceError(f"age bins {list(bins)} must increase strictly, e.g. 0,4,8,13,18")
    if len(labels) != len(edges):
        raise GeofaceError(
            f"{len(edges)} age bins need {len(edges)} labels, got {len(labels)} ({list(labels)})"
        )
    return edges


def assign_age_groups(
    ages: Sequence[float] | np.ndarray,
    bins: Sequence[float] = DEFAULT_AGE_BINS,
    labels: Sequence[str] = AGE_GROUPS,
) -> np.ndarray:
    """The age group of each age.

    Parameters
    ----------
    ages : array-like of shape (n,)
        Ages in years (NaN where unknown).
    bins : sequence of float, default=DEFAULT_AGE_BINS
        Strictly increasing lower edges: group ``i`` is ``bins[i] ≤ age <
        bins[i + 1]``, the last group is open-ended.
    labels : sequence of str, default=AGE_GROUPS
        One name per bin.

    Returns
    -------
    ndarray of object, shape (n,)
        The group names; None for a missing age or one below ``bins[0]``.

    Examples
    --------
    >>> assign_age_groups([0.5, 4.0, 7.99, 8.0, 17.9, 18.0, 65.0]).tolist()
    ['infant', 'younger_child', 'younger_child', 'older_child', 'teenager', 'adult', 'adult']
    """
    edges = _check(bins, labels)
    values = np.asarray(ages, dtype=float).reshape(-1)
    idx = np.searchsorted(edges, values, side="right") - 1
    out = np.full(len(values), None, dtype=object)
    ok = np.isfinite(values) & (idx >= 0)
    out[ok] = np.asarray(list(labels), dtype=object)[idx[ok]]
    return out


def parse_age_bins(
    text: str | None, labels: str | None = None
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Bins and labels from command-line text: ``"0,4,8,13,18"`` and ``"a,b,c,d,e"``.

    Without ``labels``, five bins take :data:`AGE_GROUPS`; any other number of
    bins is named by its interval (``"0-4"``, …, ``"18+"``).
    """
    if text is None:
        edges: tuple[float, ...] = DEFAULT_AGE_BINS
    else:
        try:
            edges = tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise GeofaceError(
                f"--age-bins {text!r} must be comma-separated numbers (years), e.g. 0,4,8,13,18"
            ) from None
    if labels is not None:
        names = tuple(v.strip() for v in labels.split(",") if v.strip())
    elif len(edges) == len(AGE_GROUPS):
        names = AGE_GROUPS
    else:
        fmt = [f"{e:g}" for e in edges]
        names = (*(f"{a}-{b}" for a, b in pairwise(fmt)), f"{fmt[-1]}+")
    _check(edges, names)
    return edges, names
