"""Auxiliary Action-Unit heads: held-out metrics per AU and ``aux_predictions.csv``.

Each AU is scored on the out-of-fold probabilities of the faces where it was
observed (a blank AU value is neither a positive nor a negative): ``n``,
``n_positive``, ``prevalence``, ``auc`` (ROC AUC; None when only one value
occurs), and at the threshold 0.5 ``f1``, ``precision``, ``recall`` and
``balanced_accuracy``; ``ci95`` holds subject-bootstrap intervals of AUC and
F1. ``mean_auc`` and ``mean_f1`` average over the AUs that have them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geoface.metrics import draw_subjects, subject_bootstrap
from geoface.runs import oof_frame, used_column

__all__ = ["aux_metrics", "aux_summary_lines", "weighted_auc", "write_aux_predictions"]

THRESHOLD = 0.5


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC with row weights (ties count one half), for many weight vectors at once.

    Parameters
    ----------
    y : ndarray of shape (n,)
        0/1.
    score : ndarray of shape (n,)
    weights : ndarray of shape (n,) or (n_sets, n)

    Returns
    -------
    float or ndarray of shape (n_sets,)
        NaN where a weight set leaves no positive or no negative.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    y = np.asarray(y).astype(bool)
    _, level = np.unique(np.asarray(score, dtype=float), return_inverse=True)
    n_levels = level.max() + 1 if len(level) else 0
    onehot = np.zeros((len(level), n_levels))
    onehot[np.arange(len(level)), level] = 1.0
    pos = (w * y) @ onehot  # (sets, levels): positive weight at each score level
    neg = (w * ~y) @ onehot
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each level
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / total
    auc = np.where(total > 0, auc, np.nan)
    return auc if np.ndim(weights) == 2 else float(auc[0])


def _one(y, p, groups, n_boot, seed, alpha) -> dict:
    pred = (p >= THRESHOLD).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    recall = tp / n_pos if n_pos else None
    specificity = int(((pred == 0) & (y == 0)).sum()) / n_neg if n_neg else None
    both = n_pos > 0 and n_neg > 0
    out = {
        "n": len(y),
        "n_positive": n_pos,
        "prevalence": n_pos / len(y) if len(y) else None,
        "auc": weighted_auc(y, p, np.ones(len(y))) if both else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0,
        "precision": tp / (tp + fp) if (tp + fp) else 0.0,
        "recall": recall,
        "balanced_accuracy": (recall + specificity) / 2 if both else None,
        "ci95": {"auc": {"low": None, "high": None}, "f1": {"low": None, "high": None}},
    }
    if not both or len(np.unique(groups)) < 2:
        return out
    codes, draws = draw_subjects(groups, n_boot, seed)
    aucs = np.concatenate(
        [weighted_auc(y, p, d[:, codes]) for d in np.array_split(draws, max(1, n_boot // 250))]
    )
    aucs = aucs[np.isfinite(aucs)]
    if len(aucs) > 1:
        out["ci95"]["auc"] = {
            "low": float(np.quantile(aucs, alpha)),
            "high": float(np.quantile(aucs, 1 - alpha)),
        }
    f1 = subject_bootstrap(y, pred, None, groups, 2, n_boot=n_boot, random_state=seed)
    out["ci95"]["f1"] = f1["f1_per_class"][1]
    return out


def aux_metrics(
    names: Sequence[str],
    targets: np.ndarray,
    proba: np.ndarray,
    groups: np.ndarray,
    *,
    weight: float,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """Held-out metrics of the auxiliary heads (see the module docstring).

    Parameters
    ----------
    names : sequence of str
    targets : ndarray of shape (n, n_aux)
        0/1, NaN where missing.
    proba : ndarray of shape (n, n_aux)
        Out-of-fold probabilities.
    groups : ndarray of shape (n,)
    weight : float
        The auxiliary loss weight (recorded).
    n_boot : int, default=2000
    seed : int, default=0

    Returns
    -------
    dict
    """
    groups = np.asarray(groups)
    per = {}
    for j, name in enumerate(names):
        seen = np.isfinite(targets[:, j])
        per[name] = _one(
            targets[seen, j].astype(int), proba[seen, j], groups[seen], n_boot, seed, 0.025
        )
    aucs = [v["auc"] for v in per.values() if v["auc"] is not None]
    f1s = [v["f1"] for v in per.values() if v["n"]]
    return {
        "targets": list(names),
        "weight": weight,
        "loss": "masked BCE with logits",
        "threshold": THRESHOLD,
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "mean_f1": float(np.mean(f1s)) if f1s else None,
        "per_target": per,
    }


def write_aux_predictions(
    path: str | os.PathLike,
    *,
    ids: Sequence[str],
    status: Sequence[str],
    used: np.ndarray,
    fold: np.ndarray,
    groups: np.ndarray,
    names: Sequence[str],
    targets: np.ndarray,
    proba: np.ndarray,
    group_col: str = "subject",
    row_groups: Sequence | None = None,
) -> None:
    """Write ``aux_predictions.csv``: ``id, fold, <group>, status``, then ``<AU>_true`` and
    ``<AU>_proba`` for each auxiliary target; one row per input row, empty where the row
    took no part or the value is missing."""
    n = len(ids)
    used = np.asarray(used, dtype=bool)
    out = oof_frame(
        ids=ids,
        status=status,
        used=used,
        fold=fold,
        groups=groups,
        group_col=group_col,
        row_groups=row_groups,
    )
    for j, name in enumerate(names):
        true = pd.array([pd.NA] * n, dtype="Int64")
        seen = np.isfinite(targets[:, j])
        idx = np.flatnonzero(used)[seen]
        true[idx] = targets[seen, j].astype(int)
        out[f"{name}_true"] = true
        out[f"{name}_proba"] = used_column(used, proba[:, j], numeric=True)
    out.to_csv(path, index=False, float_format="%.6g")


def aux_summary_lines(aux: dict) -> list[str]:
    """One line per auxiliary target: held-out AUC and F1 with their intervals."""

    def interval(ci):
        return f" [{ci['low']:.3f}, {ci['high']:.3f}]" if ci.get("low") is not None else ""

    lines = [f"  auxiliary heads (weight {aux['weight']}), held out:"]
    for name, m in aux["per_target"].items():
        auc = "n/a" if m["auc"] is None else f"{m['auc']:.3f}{interval(m['ci95']['auc'])}"
        lines.append(
            f"    {name}: AUC {auc}; F1 {m['f1']:.3f}{interval(m['ci95']['f1'])} "
            f"({m['n_positive']}/{m['n']} present)"
        )
    return lines
