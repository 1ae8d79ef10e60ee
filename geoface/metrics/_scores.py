"""Classification scores computed from confusion matrices, vectorised.

Working from confusion matrices lets the subject bootstrap compute thousands of
replicate scores with a few array operations: a replicate's confusion matrix is
a weighted sum of per-subject confusion matrices.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EPS",
    "chance_levels",
    "classification_metrics",
    "confusion_counts",
    "row_log_loss",
    "scores_from_confusion",
]

#: Probabilities are clipped to [EPS, 1] for the log loss.
EPS = 1e-15


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix (rows: true class, columns: predicted) of integer labels."""
    idx = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def row_log_loss(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per-row cross-entropy ``-log p(true class)``, rows renormalised and clipped."""
    p = np.asarray(proba, dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    picked = p[np.arange(len(p)), np.asarray(y_true, dtype=np.int64)]
    return -np.log(np.clip(picked, EPS, 1.0))


def scores_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and macro-F1 of one or many confusion matrices.

    Parameters
    ----------
    cm : ndarray of shape (..., n_classes, n_classes)

    Returns
    -------
    dict of ndarray of shape (...)
        ``balanced_accuracy`` averages recall over the classes present in the
        true labels; ``macro_f1`` averages F1 over the classes present in the
        true or the predicted labels (scikit-learn's conventions, with
        ``zero_division=0``).
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    total = support.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = tp.sum(axis=-1) / total
        present = support > 0
        recall = np.where(present, tp / np.where(present, support, 1), 0.0)
        balanced = recall.sum(axis=-1) / present.sum(axis=-1)
        denom = support + predicted
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        macro_f1 = f1.sum(axis=-1) / (denom > 0).sum(axis=-1)
    return {"accuracy": accuracy, "balanced_accuracy": balanced, "macro_f1": macro_f1}


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes
) -> dict:
    """Every point metric of a set of predictions.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (n,)
        Class indices into ``classes``.
    proba : ndarray of shape (n, n_classes) or None
    classes : sequence of str

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``log_loss``
        (None without probabilities), ``per_class`` (precision, recall, F1,
        support for each class) and ``confusion_matrix`` (``counts`` and
        ``normalized`` by true class).
    """
    k = len(classes)
    cm = confusion_counts(y_true, y_pred, k)
    scores = {name: float(v) for name, v in scores_from_confusion(cm).items()}
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / np.maximum(support + predicted, 1), 0.0)
        normalized = np.where(support[:, None] > 0, cm / np.maximum(support[:, None], 1), 0.0)
    per_class = {
        str(c): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, c in enumerate(classes)
    }
    return {
        "n": len(y_true),
        **scores,
        "log_loss": None if proba is None else float(row_log_loss(y_true, proba).mean()),
        "per_class": per_class,
        "confusion_matrix": {
            "labels": [str(c) for c in classes],
            "counts": cm.tolist(),
            "normalized": np.round(normalized, 6).tolist(),
        },
    }


def chance_levels(y_true: np.ndarray, n_classes: int) -> dict:
    """What a model that ignores the faces would score on these labels.

    ``majority`` always predicts the most frequent class; ``uniform`` guesses
    uniformly at random (expected scores); ``prior`` predicts the class
    frequencies as probabilities (its log loss is the labels' entropy).
    """
    counts = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=n_classes)
    p = counts / counts.sum()
    present = p > 0
    k = int(present.sum())
    j = int(np.argmax(p))
    uniform_f1 = 2 * p * (1 / n_classes) / (p + 1 / n_classes)
    return {
        "majority": {
            "class_index": j,
            "accuracy": float(p[j]),
            "balanced_accuracy": 1.0 / k,
            "macro_f1": float(2 * p[j] / (1 + p[j]) / n_classes),
        },
        "uniform": {
            "accuracy": 1.0 / n_classes,
            "balanced_accuracy": 1.0 / n_classes,
            "macro_f1": float(uniform_f1.mean()),
            "log_loss": float(np.log(n_classes)),
        },
        "prior": {"log_loss": float(-(p[present] * np.log(p[present])).sum())},
    }
