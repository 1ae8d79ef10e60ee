"""Region and element importance per class, with confidence intervals over subjects.

For face ``x``, class ``k`` and region ``r`` the region's SHAP value is the
sum of the signed values of its features, ``φ_rk(x) = Σ_{j ∈ r} φ_jk(x)``
(exactly additive: the regions of a face add up to its output minus the base
value). A region's importance for class ``k`` is then

* ``mean_abs_total`` — the mean over faces of ``|φ_rk(x)|``: how far the
  region moves the class's output, in either direction (the region is taken
  as a whole, so features of one region that cancel each other out do not
  count);
* ``mean_signed_total`` — the mean over faces of ``φ_rk(x)``: the direction;
* ``…_per_feature`` — the same divided by the number of features in the
  region. Regions hold very different numbers of features (the mouth about
  a third of them), so the total answers "how much does the model rely on
  this region?" and the per-feature value "how much per unit of
  description?".

The faces averaged over are all explained faces (``over="all"``, the usual
global SHAP importance) or only the faces labelled with the class
(``over="class"``). 95 % confidence intervals come from a bootstrap over
subjects (whole subjects are resampled, as the faces of one subject are not
independent), with the percentile method.

The aligned landmark coordinates (``extract --coords aligned``) are features
like the others here: each counts towards its point's region (and side), as
the feature map places it, so a region's total is that of its mesh features
and its points' coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._explain import Explanation

__all__ = ["contrast_values", "element_table", "ground_truth_check", "region_table"]

_OVER = ("all", "class")


def _rows(expl: Explanation, k: int, over: str) -> np.ndarray:
    if over not in _OVER:
        raise GeofaceError(f"over={over!r} is not one of {set(_OVER)}")
    if over == "all":
        return np.arange(expl.n_faces)
    return np.flatnonzero(expl.labels == expl.classes[k])


def _subject_bootstrap(
    stats: np.ndarray, subjects: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Means of ``stats`` (n, m) over faces, for ``n_boot`` resamples of whole subjects."""
    codes, uniq = pd.factorize(subjects)
    n_subj = len(uniq)
    sums = np.zeros((n_subj, stats.shape[1]))
    np.add.at(sums, codes, stats)
    counts = np.bincount(codes, minlength=n_subj).astype(float)
    draws = rng.multinomial(n_subj, np.full(n_subj, 1.0 / n_subj), size=n_boot).astype(float)
    return (draws @ sums) / (draws @ counts)[:, None]


def region_table(
    expl: Explanation,
    *,
    over: str = "all",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Importance of each region for each class, with bootstrap intervals.

    Parameters
    ----------
    expl : Explanation
    over : {"all", "class"}, default="all"
        Average class ``k``'s values over all faces, or over the faces labelled ``k``.
    n_boot : int, default=1000
        Subject-bootstrap replicates (0: no intervals).
    level : float, default=0.95
    seed : int, default=0

    Returns
    -------
    DataFrame
        One row per class and region (regions top of the face first):
        ``class, region, over, n_faces, n_subjects, n_features, space,
        mean_abs_total, mean_abs_total_low, mean_abs_total_high,
        mean_abs_per_feature (+ _low, _high), mean_signed_total (+ _low,
        _high), mean_signed_per_feature (+ _low, _high), share`` (the region's
        part of the class's summed ``mean_abs_total``) and ``rank`` (1 = the
        largest ``mean_abs_total``).
    """
    hier = expl.hierarchy
    regions = hier.regions
    sizes = hier.region_sizes.astype(float)
    reg = expl.region_values()  # (n, R, K)
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    out = []
    for k, name in enumerate(expl.classes):
        rows = _rows(expl, k, over)
        vals = reg[rows, :, k]
        keep = np.isfinite(vals).all(axis=1)
        rows, vals = rows[keep], vals[keep]
        stats = np.hstack([np.abs(vals), vals])  # (n, 2R)
        mean = stats.mean(axis=0) if len(rows) else np.full(2 * len(regions), np.nan)
        if n_boot and len(rows):
            boot = _subject_bootstrap(stats, expl.subjects[rows], n_boot, rng)
            low, high = np.quantile(boot, [alpha, 1 - alpha], axis=0)
        else:
            low = high = np.full_like(mean, np.nan)
        total_abs = mean[: len(regions)].sum()
        for r, region in enumerate(regions):
            row = {
                "class": name,
                "region": region,
                "over": over,
                "n_faces": len(rows),
                "n_subjects": len(np.unique(expl.subjects[rows])),
                "n_features": int(sizes[r]),
                "space": expl.space,
            }
            for stat, col in (("abs", r), ("signed", len(regions) + r)):
                for suffix, value in (("", mean[col]), ("_low", low[col]), ("_high", high[col])):
                    row[f"mean_{stat}_total{suffix}"] = value
                    row[f"mean_{stat}_per_feature{suffix}"] = value / sizes[r]
            row["share"] = mean[r] / total_abs if total_abs > 0 else np.nan
            out.append(row)
    frame = pd.DataFrame(out)
    frame["rank"] = (
        frame.groupby("class")["mean_abs_total"].rank(ascending=False, method="min").astype("Int64")
    )
    return frame


def element_table(expl: Explanation, *, over: str = "all") -> pd.DataFrame:
    """Importance of each triangle and edge (and landmark point) for each class.

    A run with the aligned landmark coordinates also has one row per landmark
    point (``element`` ``point``): the total of its coordinates.

    Returns
    -------
    DataFrame
        One row per class and element: ``class, element, element_index, key,
        region, side, vertices, label, n_features, over, n_faces,
        mean_abs_total, mean_signed_total, mean_abs_per_feature``.
    """
    elements = expl.hierarchy.elements
    ev = expl.element_values()  # (n, E, K)
    parts = []
    for k, name in enumerate(expl.classes):
        rows = _rows(expl, k, over)
        vals = ev[rows, :, k]
        vals = vals[np.isfinite(vals).all(axis=1)]
        part = elements.copy()
        part.insert(0, "class", name)
        part["over"] = over
        part["n_faces"] = len(vals)
        with np.errstate(invalid="ignore"):
            part["mean_abs_total"] = np.abs(vals).mean(axis=0) if len(vals) else np.nan
            part["mean_signed_total"] = vals.mean(axis=0) if len(vals) else np.nan
        part["mean_abs_per_feature"] = part["mean_abs_total"] / part["n_features"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def contrast_values(expl: Explanation, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values of the contrast between classes ``a`` and ``b``.

    SHAP values are linear in the model's output, so ``φ_a − φ_b`` are the
    exact SHAP values of ``f_a − f_b``: in margin or logit space, of the
    log-odds of ``a`` against ``b`` (``log p_a / p_b`` under a softmax); in
    probability space, of ``p_a − p_b``.

    Returns
    -------
    values : ndarray of shape (n_ab, n_features)
        Positive values push a face toward ``a``.
    rows : ndarray of int, shape (n_ab,)
        The faces labelled ``a`` or ``b`` (all faces when none is labelled).
    """
    ia, ib = expl.class_index(a), expl.class_index(b)
    if ia == ib:
        raise GeofaceError(f"a contrast needs two different classes; got {a!r} twice")
    rows = np.flatnonzero(np.isin(expl.labels, [a, b]))
    if len(rows) == 0:
        rows = np.arange(expl.n_faces)
    diff = expl.values[rows, :, ia] - expl.values[rows, :, ib]
    keep = np.isfinite(diff).all(axis=1)
    return diff[keep], rows[keep]


def ground_truth_check(
    regions: pd.DataFrame, moved: Mapping[str, set], *, statistic: str = "mean_abs_total"
) -> pd.DataFrame:
    """Compare each class's most important region with the regions it is known to move.

    Parameters
    ----------
    regions : DataFrame
        :func:`region_table` output.
    moved : mapping of class name to set of region names
        Ground truth, e.g. ``{c: geoface.simulate.moved_regions(c) for c in classes}``.
        Classes that move no region (``neutral``) are left out.
    statistic : str, default="mean_abs_total"

    Returns
    -------
    DataFrame
        ``class, top_region, top_value, moved_regions, top_is_moved`` and
        ``unmoved_rank``, the best rank of a region the class does not move.
    """
    rows = []
    for name, part in regions.groupby("class", sort=False):
        truth = set(moved.get(name, set()))
        if not truth:
            continue
        part = part.sort_values(statistic, ascending=False)
        top = part.iloc[0]
        ranks = np.arange(1, len(part) + 1)
        unmoved = ranks[~part["region"].isin(truth).to_numpy()]
        rows.append(
            {
                "class": name,
                "top_region": top["region"],
                "top_value": float(top[statistic]),
                "moved_regions": ", ".join(sorted(truth)),
                "top_is_moved": top["region"] in truth,
                "unmoved_rank": int(unmoved.min()) if len(unmoved) else None,
            }
        )
    return pd.DataFrame(rows)
