"""The cumulative error distribution figure of landmark scores."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_cumulative_error"]

# Okabe & Ito (2008) colour-blind-safe palette, with line styles as a second cue
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_STYLES = ("-", "--", "-.", ":")


def plot_cumulative_error(
    curves: Mapping[str, np.ndarray],
    *,
    threshold: float = 0.08,
    x_max: float | None = None,
    ax=None,
):
    """Plot the cumulative error distribution of one or more landmarkers.

    Parameters
    ----------
    curves : mapping of str to ndarray of shape (n_faces,)
        Name → per-face NME (``inf`` or NaN for faces without a prediction).
    threshold : float, default=0.08
        Marked with a vertical line; the legend gives each curve's AUC up to
        it and its failure rate above it.
    x_max : float, optional
        Right end of the x axis (default ``1.5 * threshold``).
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from ._scoring import cumulative_error

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.4))
    x_max = 1.5 * threshold if x_max is None else float(x_max)
    for k, (name, nme) in enumerate(curves.items()):
        nme = np.asarray(nme, dtype=float)
        _, _, auc = cumulative_error(nme, threshold=threshold)
        x, frac, _ = cumulative_error(nme, threshold=x_max)
        fail = float(np.mean(~(np.nan_to_num(nme, nan=np.inf) <= threshold))) if len(nme) else 0
        ax.plot(
            x,
            frac,
            color=_COLOURS[k % len(_COLOURS)],
            linestyle=_STYLES[(k // len(_COLOURS) + k) % len(_STYLES)],
            label=f"{name} (AUC@{threshold:g} {auc:.3f}, failures {fail:.1%})",
        )
    ax.axvline(threshold, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("NME")
    ax.set_ylabel("fraction of faces")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return ax
