"""Figures of a comparison: confusion matrices side by side, per-class F1, scores, differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "RUN_COLOURS",
    "plot_confusion_grid",
    "plot_differences",
    "plot_metric_intervals",
    "plot_per_class_f1_grouped",
]

#: Okabe & Ito colour-blind-safe colours, one per compared run (cycled).
RUN_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")

_LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro-F1",
    "log_loss": "log loss",
}


def plot_confusion_grid(
    counts: Mapping[str, object], labels: Sequence[str], *, titles: Mapping[str, str] | None = None
):
    """One row of confusion matrices (rows: true, columns: predicted), one per run.

    Parameters
    ----------
    counts : mapping of str to array-like of shape (n_classes, n_classes)
        Run name → counts.
    labels : sequence of str
        Class names.
    titles : mapping of str to str, optional
        Run name → panel title (default: the name).

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    from ..plotting import plot_confusion_matrix

    n = len(counts)
    size = 1.2 + 0.62 * len(labels)
    fig, axes = plt.subplots(
        1, n, figsize=((size + 1.0) * n, size + 0.3), layout="constrained", squeeze=False
    )
    for ax, (name, cm) in zip(axes[0], counts.items(), strict=True):
        title = (titles or {}).get(name, name)
        plot_confusion_matrix(np.asarray(cm, dtype=float), list(labels), ax=ax, title=title)
    return fig


def plot_per_class_f1_grouped(
    f1: pd.DataFrame, *, intervals: Mapping[str, Sequence[dict]] | None = None, ax=None
):
    """Each class's F1, one bar per run side by side, with subject-bootstrap intervals.

    Parameters
    ----------
    f1 : DataFrame
        Classes × runs.
    intervals : mapping of str to list of dict, optional
        Run name → ``[{"low", "high"}, …]`` in class order.
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    classes, runs = list(f1.index), list(f1.columns)
    if ax is None:
        width = 1.6 + len(classes) * (0.35 + 0.22 * len(runs))
        fig, ax = plt.subplots(figsize=(width, 3.4), layout="constrained")
    else:
        fig = ax.figure
    x = np.arange(len(classes))
    w = 0.8 / max(len(runs), 1)
    for j, run in enumerate(runs):
        values = f1[run].to_numpy(dtype=float)
        pos = x - 0.4 + w * (j + 0.5)
        colour = RUN_COLOURS[j % len(RUN_COLOURS)]
        ax.bar(pos, values, width=w * 0.92, color=colour, label=run)
        if intervals and run in intervals:
            lo = np.array([np.nan if iv["low"] is None else iv["low"] for iv in intervals[run]])
            hi = np.array([np.nan if iv["high"] is None else iv["high"] for iv in intervals[run]])
            err = np.vstack([np.clip(values - lo, 0, None), np.clip(hi - values, 0, None)])
            ax.errorbar(pos, values, yerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.set_xticks(x, classes, rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (95 % CI over subjects)" if intervals else "F1")
    ax.legend(
        fontsize=7,
        frameon=False,
        ncol=min(len(runs), 4),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
    )
    return fig


def plot_metric_intervals(
    metrics: pd.DataFrame,
    *,
    names: Sequence[str] = ("accuracy", "balanced_accuracy", "macro_f1"),
    chance: Mapping[str, float] | None = None,
):
    """Each run's scores with their 95 % intervals, one panel per score.

    Parameters
    ----------
    metrics : DataFrame
        :attr:`Comparison.metrics` (``run``, ``<name>``, ``<name>_low``, ``<name>_high``).
    names : sequence of str
    chance : mapping of str to float, optional
        Score → chance level, drawn as a dashed line.

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    runs = list(metrics["run"])
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(2.6 * len(names) + 1.0, 0.9 + 0.4 * len(runs)),
        layout="constrained",
        sharey=True,
        squeeze=False,
    )
    y = np.arange(len(runs))[::-1]
    for ax, name in zip(axes[0], names, strict=True):
        v = metrics[name].to_numpy(dtype=float)
        lo = metrics[f"{name}_low"].to_numpy(dtype=float)
        hi = metrics[f"{name}_high"].to_numpy(dtype=float)
        for j in range(len(runs)):
            ax.errorbar(
                v[j],
                y[j],
                xerr=[[max(v[j] - lo[j], 0)], [max(hi[j] - v[j], 0)]],
                fmt="o",
                color=RUN_COLOURS[j % len(RUN_COLOURS)],
                capsize=3,
                ms=5,
            )
        if chance and name in chance:
            ax.axvline(chance[name], color="0.4", ls="--", lw=1)
        ax.set_xlabel(_LABELS.get(name, name))
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, len(runs) - 0.4)
    axes[0][0].set_yticks(y, runs)
    return fig


def plot_differences(
    pairs: pd.DataFrame, *, names: Sequence[str] = ("accuracy", "balanced_accuracy")
):
    """Paired differences (A − B) with their 95 % bootstrap intervals, one panel per score.

    Parameters
    ----------
    pairs : DataFrame
        :attr:`Comparison.pairs`.
    names : sequence of str

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    labels = [f"{a} − {b}" for a, b in zip(pairs["run_a"], pairs["run_b"], strict=True)]
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(2.8 * len(names) + 1.6, 0.9 + 0.4 * len(labels)),
        layout="constrained",
        sharey=True,
        squeeze=False,
    )
    y = np.arange(len(labels))[::-1]
    for ax, name in zip(axes[0], names, strict=True):
        v = pairs[f"diff_{name}"].to_numpy(dtype=float)
        lo = pairs[f"diff_{name}_low"].to_numpy(dtype=float)
        hi = pairs[f"diff_{name}_high"].to_numpy(dtype=float)
        err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
        ax.errorbar(v, y, xerr=err, fmt="o", color="#0072B2", capsize=3, ms=5)
        ax.axvline(0, color="0.4", ls="--", lw=1)
        ax.set_xlabel(f"Δ {_LABELS.get(name, name)} (95 % CI)")
        top = max(0.05, float(np.nanmax(np.abs(np.concatenate([lo, hi])))) * 1.15)
        ax.set_xlim(-top, top)
        ax.set_ylim(-0.6, len(labels) - 0.4)
    axes[0][0].set_yticks(y, labels)
    return fig
