"""Confidence intervals by bootstrap over subjects.

Faces of one subject are not independent, so resampling faces would give
intervals that are too narrow. Here whole subjects are drawn with
replacement: each replicate's confusion matrix is the weighted sum of the
per-subject confusion matrices (weights = how often each subject was drawn),
which makes thousands of replicates cheap.
"""

from __future__ import annotations

import numpy as np

from ._resample import draw_subjects, per_subject_confusion
from ._scores import row_log_loss, scores_from_confusion

__all__ = ["subject_bootstrap"]


def subject_bootstrap(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    groups: np.ndarray,
    n_classes: int,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> dict[str, dict[str, float]]:
    """Percentile confidence intervals of the scores, resampling subjects.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (n,)
    proba : ndarray of shape (n, n_classes) or None
    groups : ndarray of shape (n,)
        Subject of each row.
    n_classes : int
    n_boot : int, default=2000
    confidence : float, default=0.95
    random_state : int or None, default=0

    Returns
    -------
    dict
        For ``accuracy``, ``balanced_accuracy``, ``macro_f1`` and
        ``log_loss``: ``{"low", "high", "se"}``; ``f1_per_class``: a list of
        ``{"low", "high"}`` in class order; plus ``n_groups`` and ``n_boot``.
    """
    codes, draws = draw_subjects(groups, n_boot, random_state)
    n_groups = draws.shape[1]
    k = n_classes
    per_group = per_subject_confusion(codes, n_groups, y_true, y_pred, k)
    cms = (draws @ per_group).reshape(n_boot, k, k)
    reps = scores_from_confusion(cms)
    tp = np.diagonal(cms, axis1=1, axis2=2)
    denom = cms.sum(axis=2) + cms.sum(axis=1)
    f1_per_class = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)
    if proba is not None:
        loss = np.bincount(codes, weights=row_log_loss(y_true, proba), minlength=n_groups)
        rows = np.bincount(codes, minlength=n_groups).astype(float)
        reps["log_loss"] = (draws @ loss) / (draws @ rows)
    alpha = (1 - confidence) / 2
    out: dict = {"n_groups": int(n_groups), "n_boot": int(n_boot), "confidence": confidence}
    for name, values in reps.items():
        values = values[np.isfinite(values)]
        out[name] = {
            "low": float(np.quantile(values, alpha)),
            "high": float(np.quantile(values, 1 - alpha)),
            "se": float(values.std(ddof=1)),
        }
    out["f1_per_class"] = [
        {
            "low": float(np.nanquantile(col, alpha)) if np.isfinite(col).any() else None,
            "high": float(np.nanquantile(col, 1 - alpha)) if np.isfinite(col).any() else None,
        }
        for col in f1_per_class.T
    ]
    return out
