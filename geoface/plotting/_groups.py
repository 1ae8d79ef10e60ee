"""A metric per group of faces, with its bootstrap interval, the pooled score and chance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["plot_group_confusions", "plot_group_metric"]


def plot_group_metric(
    table: pd.DataFrame,
    column: str,
    *,
    metric: str = "balanced_accuracy",
    chance: float | None = None,
    ax=None,
    title: str | None = None,
):
    """Bars of ``metric`` per group with 95 % intervals, the pooled score and chance.

    Parameters
    ----------
    table : DataFrame
        :attr:`geoface.metrics.GroupMetrics.table`: a ``column`` of group
        names (the pooled row ``(all)`` is drawn as a dashed line), ``n``,
        ``metric``, ``metric_low`` and ``metric_high``.
    column : str
    metric : str, default="balanced_accuracy"
    chance : float, optional
        Drawn as a dotted line (uniform guessing); by default the table's
        ``chance_balanced_accuracy_uniform`` for balanced accuracy.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    from ..metrics import ALL_GROUPS

    pooled = table[table[column] == ALL_GROUPS]
    groups = table[table[column] != ALL_GROUPS].reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(1.6 + 0.75 * max(len(groups), 2), 3.4), layout="constrained"
        )
    else:
        fig = ax.figure
    x = np.arange(len(groups))
    value = groups[metric].to_numpy(dtype=float)
    low = groups[f"{metric}_low"].to_numpy(dtype=float)
    high = groups[f"{metric}_high"].to_numpy(dtype=float)
    ax.bar(x, np.nan_to_num(value), color="#0072B2", width=0.65)
    has_ci = np.isfinite(low) & np.isfinite(high) & np.isfinite(value)
    if has_ci.any():
        err = np.vstack(
            [np.clip(value - low, 0, None)[has_ci], np.clip(high - value, 0, None)[has_ci]]
        )
        ax.errorbar(x[has_ci], value[has_ci], yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    for xi in x[~np.isfinite(value)]:
        ax.text(xi, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color="0.3")
    if len(pooled) and np.isfinite(float(pooled[metric].iloc[0])):
        ax.axhline(
            float(pooled[metric].iloc[0]), color="#E69F00", ls="--", lw=1.2, label="all groups"
        )
    if chance is None and metric == "balanced_accuracy" and len(pooled):
        chance = float(pooled["chance_balanced_accuracy_uniform"].iloc[0])
    if chance is not None and np.isfinite(chance):
        ax.axhline(chance, color="0.3", ls=":", lw=1.2, label="chance (uniform guess)")
    labels = [f"{g}\nn={n}" for g, n in zip(groups[column], groups["n"], strict=True)]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlabel(column)
    ax.set_ylabel(metric.replace("_", " ") + " (95 % CI over subjects)")
    if metric != "log_loss":
        ax.set_ylim(0, 1.05)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2
        )
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_group_confusions(confusion: dict, labels: Sequence[str], *, title: str | None = None):
    """One row-normalised confusion matrix per group, side by side. Returns the figure.

    Parameters
    ----------
    confusion : dict of str to array-like of shape (n_classes, n_classes)
        :attr:`geoface.metrics.GroupMetrics.confusion` (the pooled ``(all)``
        entry is left out).
    labels : sequence of str
    title : str, optional
    """
    import matplotlib.pyplot as plt

    from ..metrics import ALL_GROUPS
    from ._metrics import plot_confusion_matrix

    groups = [g for g in confusion if g != ALL_GROUPS]
    n = max(len(groups), 1)
    cols = min(n, 3)
    rows = -(-n // cols)
    size = 1.2 + 0.62 * len(labels)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * (size + 1.0), rows * size), layout="constrained", squeeze=False
    )
    for ax, group in zip(axes.flat, groups, strict=False):
        counts = np.asarray(confusion[group])
        plot_confusion_matrix(counts, labels, ax=ax, title=f"{group} (n={int(counts.sum())})")
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
