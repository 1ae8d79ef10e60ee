"""Bilateral summaries of SHAP attributions: what the face says, not which twin a tree chose.

A face has pairs of mirrored features (the right and left cheek's triangles)
that carry the same information. A tree ensemble splits on one of each pair
and ignores the other, so a per-side region map lights one cheek and leaves
its mirror dark: a figure that says "the right cheek" where the model only
says "the cheeks". These helpers give the summary that does not depend on
that arbitrary choice:

* :func:`bilateral_values` — each feature and its mirror partner share their
  summed attribution equally, ``(φ_j + φ_m(j)) / 2``. The sum over all
  features is unchanged (the mirror permutation is a bijection), so a face's
  regions still add up to its output; midline features keep their values.
  Drawn with the usual mesh figures it is the bilateral map.
* :func:`side_table` — per class and region, the mean absolute attribution of
  the right side, the left side and the midline (each feature on the side the
  feature map gives it: a coordinate column on its point's side), their bilateral total, and
  an asymmetry index ``(right - left) / (right + left)``, with its 95 %
  interval over subjects: an asymmetry whose interval covers 0 is one the
  figures must not claim.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = ["bilateral_values", "side_table"]


def bilateral_values(values: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Attributions shared equally between each feature and its mirror partner.

    Parameters
    ----------
    values : ndarray of shape (n_faces, n_features) or (n_faces, n_features, n_classes)
        SHAP values (e.g. :attr:`Explanation.values`).
    mirror : ndarray of int, shape (n_features,)
        The feature mirror permutation (:func:`geoface.features.feature_mirror`,
        with ``coords="aligned"`` for a table with the aligned coordinates;
        ``expl.hierarchy.mirror`` for any explanation).

    Returns
    -------
    ndarray, same shape as ``values``
    """
    values = np.asarray(values, dtype=float)
    mirror = np.asarray(mirror)
    if values.ndim not in (2, 3) or values.shape[1] != len(mirror):
        raise GeofaceError(
            f"values have shape {values.shape} but the mirror permutation has {len(mirror)} "
            "entries; give values of shape (n_faces, n_features[, n_classes]) for the same mesh"
        )
    return 0.5 * (values + values[:, mirror])


def side_table(expl, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Right, left and midline importance of every region for every class.

    Parameters
    ----------
    expl : Explanation
    n_boot : int, default=1000
        Bootstrap replicates over subjects for the asymmetry interval.
    seed : int, default=0

    Returns
    -------
    DataFrame
        One row per class and region: ``class, region, right, midline, left,
        bilateral`` (mean over faces of the absolute summed attribution of
        each side; ``bilateral`` = right + midline + left), ``asymmetry``
        (``(right - left) / (right + left)``) and ``asymmetry_low``,
        ``asymmetry_high`` (95 % percentile interval, whole subjects
        resampled).
    """
    fmap = expl.hierarchy.feature_map
    region = fmap["region"].astype(str).to_numpy()
    side = fmap["side"].astype(str).to_numpy()
    values = np.nan_to_num(np.asarray(expl.values, dtype=float))
    rng = np.random.default_rng(seed)
    codes, uniq = pd.factorize(np.asarray(expl.subjects).astype(str))
    n_subj = len(uniq)
    draws = rng.multinomial(n_subj, np.full(n_subj, 1.0 / n_subj), size=n_boot).astype(float)
    counts = np.bincount(codes, minlength=n_subj).astype(float)
    rows = []
    regions = [r for r in dict.fromkeys(region)]
    for k, cls in enumerate(expl.classes):
        for reg in regions:
            per_side = {}
            for s in ("right", "midline", "left"):
                cols = (region == reg) & (side == s)
                per_side[s] = np.abs(values[:, cols, k].sum(axis=1)) if cols.any() else None
            if per_side["right"] is None and per_side["left"] is None:
                continue
            zero = np.zeros(expl.n_faces)
            r, m, left = (per_side[s] if per_side[s] is not None else zero for s in per_side)
            sums = np.zeros((n_subj, 2))
            np.add.at(sums, codes, np.c_[r, left])
            boot = (draws @ sums) / (draws @ counts)[:, None]
            tot = boot.sum(axis=1)
            asym = np.where(tot > 0, (boot[:, 0] - boot[:, 1]) / np.where(tot > 0, tot, 1), 0.0)
            rr, ll = float(r.mean()), float(left.mean())
            rows.append(
                {
                    "class": cls,
                    "region": reg,
                    "right": rr,
                    "midline": float(m.mean()),
                    "left": ll,
                    "bilateral": rr + float(m.mean()) + ll,
                    "asymmetry": (rr - ll) / (rr + ll) if rr + ll > 0 else 0.0,
                    # no interval without bootstrap draws (n_boot=0)
                    "asymmetry_low": float(np.quantile(asym, 0.025)) if n_boot else np.nan,
                    "asymmetry_high": float(np.quantile(asym, 0.975)) if n_boot else np.nan,
                }
            )
    return pd.DataFrame(rows)
