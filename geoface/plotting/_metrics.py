"""Figures of classification results: confusion matrix, per-class F1, overfitting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_overfitting", "plot_per_class_f1"]


def plot_confusion_matrix(
    counts, labels: Sequence[str], *, normalize: bool = True, ax=None, title: str | None = None
):
    """Confusion matrix (rows: true, columns: predicted), coloured by row share.

    Each cell shows the share of its true class (with ``normalize``) and the
    count. Returns the figure.
    """
    import matplotlib.pyplot as plt

    cm = np.asarray(counts, dtype=float)
    support = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    shown = share if normalize else cm
    if ax is None:
        size = 1.2 + 0.62 * len(labels)
        fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    else:
        fig = ax.figure
    im = ax.imshow(shown, cmap="cividis", vmin=0, vmax=1 if normalize else None)
    for (i, j), v in np.ndenumerate(shown):
        text = f"{v:.2f}\n({int(cm[i, j])})" if normalize else f"{int(cm[i, j])}"
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=7,
            color="black" if (v if normalize else v / max(shown.max(), 1)) > 0.55 else "white",
        )
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.85, label="share of true class" if normalize else "count")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_per_class_f1(
    per_class: dict, *, intervals: Sequence[dict] | None = None, ax=None, title: str | None = None
):
    """Bars of each class's F1, with bootstrap intervals when given. Returns the figure."""
    import matplotlib.pyplot as plt

    labels = list(per_class)
    f1 = np.array([per_class[c]["f1"] for c in labels])
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(labels), 3.2), layout="constrained")
    else:
        fig = ax.figure
    x = np.arange(len(labels))
    ax.bar(x, f1, color="#0072B2", width=0.65)
    if intervals is not None:
        lo = np.array([np.nan if iv["low"] is None else iv["low"] for iv in intervals])
        hi = np.array([np.nan if iv["high"] is None else iv["high"] for iv in intervals])
        err = np.vstack([np.clip(f1 - lo, 0, None), np.clip(hi - f1, 0, None)])
        ax.errorbar(x, f1, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(x, labels, rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (95 % CI over subjects)" if intervals is not None else "F1")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_overfitting(
    fold_scores: Sequence[dict],
    *,
    metric: str = "balanced_accuracy",
    ax=None,
    chance: float | None = None,
):
    """Training vs held-out score per fold: the gap is the overfitting. Returns the figure."""
    import matplotlib.pyplot as plt

    folds = [r["fold"] for r in fold_scores]
    train = [r[f"train_{metric}"] for r in fold_scores]
    test = [r[f"test_{metric}"] for r in fold_scores]
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.5 + 0.5 * len(folds), 3.2), layout="constrained")
    else:
        fig = ax.figure
    x = np.arange(len(folds))
    ax.bar(x - 0.18, train, width=0.36, color="#E69F00", label="training")
    ax.bar(x + 0.18, test, width=0.36, color="#0072B2", label="held-out fold")
    if chance is not None:
        ax.axhline(chance, color="0.3", ls="--", lw=1, label="chance")
    ax.set_xticks(x, [str(f) for f in folds])
    ax.set_xlabel("fold")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return fig
