"""Figures of numeric predictions (age): predicted against true, and errors per fold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_predicted_vs_true", "plot_regression_folds"]

# Okabe & Ito, colour-blind safe
_FOLD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def plot_predicted_vs_true(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    fold: np.ndarray | None = None,
    unit: str = "years",
    title: str | None = None,
    ax=None,
):
    """Scatter of predicted against true values with the identity line.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n,)
    fold : ndarray of shape (n,), optional
        Colours the points by held-out fold.
    unit : str, default="years"
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.0), layout="constrained")
    else:
        fig = ax.figure
    if fold is None:
        ax.scatter(y_true, y_pred, s=10, alpha=0.7, color=_FOLD_COLOURS[0], lw=0)
    else:
        for i, f in enumerate(np.unique(fold)):
            sel = np.asarray(fold) == f
            colour = _FOLD_COLOURS[i % len(_FOLD_COLOURS)]
            ax.scatter(y_true[sel], y_pred[sel], s=10, alpha=0.7, color=colour, lw=0, label=f"{f}")
        ax.legend(title="fold", fontsize=6, title_fontsize=7, frameon=False, markerscale=1.5)
    both = np.concatenate([y_true, y_pred])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", ls="--", lw=1)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_box_aspect(1)
    ax.set_xlabel(f"true age ({unit})")
    ax.set_ylabel(f"predicted age ({unit}, out of fold)")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_regression_folds(
    fold_scores: Sequence[dict],
    *,
    metric: str = "mae",
    baseline: float | None = None,
    unit: str = "years",
    ax=None,
):
    """Training vs held-out error per fold (the gap is the overfitting).

    Parameters
    ----------
    fold_scores : sequence of dict
        Per fold: ``fold``, ``train_<metric>`` and ``test_<metric>``.
    metric : str, default="mae"
    baseline : float, optional
        Drawn as a dashed line (e.g. the error of predicting the training mean).
    unit : str, default="years"
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    folds = [r["fold"] for r in fold_scores]
    train = [r[f"train_{metric}"] for r in fold_scores]
    test = [r[f"test_{metric}"] for r in fold_scores]
    if ax is None:
        width = max(3.6, 1.5 + 0.5 * len(folds))
        fig, ax = plt.subplots(figsize=(width, 3.4), layout="constrained")
    else:
        fig = ax.figure
    x = np.arange(len(folds))
    ax.bar(x - 0.18, train, width=0.36, color="#E69F00", label="training")
    ax.bar(x + 0.18, test, width=0.36, color="#0072B2", label="held-out fold")
    if baseline is not None:
        ax.axhline(baseline, color="0.3", ls="--", lw=1, label="predicting the training mean")
    ax.set_xticks(x, [str(f) for f in folds])
    ax.set_xlabel("fold")
    ax.set_ylabel(f"{metric.upper()} ({unit})")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig
