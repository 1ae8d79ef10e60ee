"""Paired statistics of two models' predictions on the same faces.

- the exact McNemar test on per-face correctness (a two-sided binomial test
  on the faces exactly one model gets right);
- a paired bootstrap over subjects of the difference of a score: each
  replicate draws subjects once and scores both models on that same draw;
- Cohen's κ between the two models' predicted labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..metrics import draw_subjects, per_subject_confusion, row_log_loss, scores_from_confusion

__all__ = ["cohen_kappa", "correctness_counts", "mcnemar_exact", "paired_bootstrap"]


def correctness_counts(a_correct: np.ndarray, b_correct: np.ndarray) -> dict[str, int]:
    """The 2 × 2 table of per-face correctness of two models.

    Parameters
    ----------
    a_correct, b_correct : ndarray of bool, shape (n,)

    Returns
    -------
    dict
        ``n``, ``both_correct``, ``a_only`` (A right, B wrong), ``b_only``
        and ``neither``.
    """
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    return {
        "n": len(a),
        "both_correct": int((a & b).sum()),
        "a_only": int((a & ~b).sum()),
        "b_only": int((~a & b).sum()),
        "neither": int((~a & ~b).sum()),
    }


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact (binomial) McNemar p-value from the two discordant counts.

    Under the null hypothesis that both models are equally often right, each
    face that exactly one model gets right is equally likely to be either
    model's, so ``a_only ~ Binomial(a_only + b_only, 1/2)``; the p-value is
    the two-sided binomial test (1 when there is no discordant face).

    Parameters
    ----------
    a_only, b_only : int
        Faces only model A (only model B) classifies correctly.

    Returns
    -------
    float
    """
    from scipy.stats import binomtest

    a_only, b_only = int(a_only), int(b_only)
    if a_only < 0 or b_only < 0:
        raise ValueError("discordant counts must be non-negative")
    if a_only + b_only == 0:
        return 1.0
    return float(min(1.0, binomtest(a_only, a_only + b_only, 0.5).pvalue))


def cohen_kappa(pred_a: Sequence, pred_b: Sequence, labels: Sequence) -> float:
    """Cohen's κ between two models' predicted labels (agreement beyond chance).

    NaN when κ is undefined: both models predict one and the same class for
    every face (no disagreement is expected by chance either).
    """
    from sklearn.metrics import cohen_kappa_score

    a = np.asarray(pred_a)
    b = np.asarray(pred_b)
    if len(a) == 0 or len(np.union1d(a, b)) == 1:
        return float("nan")
    return float(cohen_kappa_score(a, b, labels=list(labels)))


def paired_bootstrap(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    groups: np.ndarray,
    n_classes: int,
    *,
    proba_a: np.ndarray | None = None,
    proba_b: np.ndarray | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> dict[str, dict[str, float]]:
    """Bootstrap over subjects of the difference of scores, model A minus model B.

    Each replicate draws whole subjects with replacement once, and both
    models are scored on that same draw, so the interval reflects the
    models' difference on the same faces (it is much narrower than the two
    separate intervals suggest when the models err on the same faces).

    Parameters
    ----------
    y_true, pred_a, pred_b : ndarray of int, shape (n,)
        Class indices.
    groups : ndarray of shape (n,)
        Subject of each row.
    n_classes : int
    proba_a, proba_b : ndarray of shape (n, n_classes), optional
        With both, the log-loss difference is included too.
    n_boot : int, default=2000
    confidence : float, default=0.95
    random_state : int or None, default=0

    Returns
    -------
    dict
        For ``accuracy``, ``balanced_accuracy``, ``macro_f1`` (and
        ``log_loss``): ``{"diff", "low", "high", "se"}`` where ``diff`` is the
        difference on the faces as they are and ``low``/``high`` the
        percentile interval.
    """
    codes, draws = draw_subjects(groups, n_boot, random_state)
    n_groups = draws.shape[1]
    draws = draws.astype(float)
    k = int(n_classes)
    cm_a = per_subject_confusion(codes, n_groups, y_true, pred_a, k)
    cm_b = per_subject_confusion(codes, n_groups, y_true, pred_b, k)
    point_a = scores_from_confusion(cm_a.sum(axis=0).reshape(k, k))
    point_b = scores_from_confusion(cm_b.sum(axis=0).reshape(k, k))
    reps_a = scores_from_confusion((draws @ cm_a).reshape(n_boot, k, k))
    reps_b = scores_from_confusion((draws @ cm_b).reshape(n_boot, k, k))
    diffs = {
        name: (float(point_a[name] - point_b[name]), reps_a[name] - reps_b[name]) for name in reps_a
    }
    if proba_a is not None and proba_b is not None:
        loss_a = np.bincount(codes, weights=row_log_loss(y_true, proba_a), minlength=n_groups)
        loss_b = np.bincount(codes, weights=row_log_loss(y_true, proba_b), minlength=n_groups)
        rows = draws @ np.bincount(codes, minlength=n_groups).astype(float)
        point = (loss_a.sum() - loss_b.sum()) / len(codes)
        diffs["log_loss"] = (float(point), (draws @ (loss_a - loss_b)) / rows)
    alpha = (1 - confidence) / 2
    out: dict = {}
    for name, (point, values) in diffs.items():
        values = values[np.isfinite(values)]
        out[name] = {
            "diff": point,
            "low": float(np.quantile(values, alpha)),
            "high": float(np.quantile(values, 1 - alpha)),
            "se": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        }
    return out
