"""The training-curves figure of a baseline run (``figures/training_curves``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plot_history"]


def plot_history(folder: Path, history: pd.DataFrame, *, unit: str | None = None) -> list[Path]:
    """Loss and accuracy (or, for an age run, mean absolute error) per epoch and network.

    Solid lines: training; dashed: the inner validation faces. Saved as PDF + PNG.
    """
    import matplotlib.pyplot as plt

    from geoface.plotting import save_figure

    score = "mae" if "train_mae" in history else "accuracy"
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    colours = plt.get_cmap("tab10")
    for i, (f, h) in enumerate(history.groupby("fold", sort=False)):
        x = np.arange(1, len(h) + 1)
        c = colours(i % 10)
        label = "final" if str(f) == "final" else f"fold {f}"
        axes[0].plot(x, h["train_loss"], color=c, ls="-", lw=1, label=label)
        axes[1].plot(x, h[f"train_{score}"], color=c, ls="-", lw=1)
        if "val_loss" in h:
            axes[0].plot(x, h["val_loss"], color=c, ls="--", lw=1)
            axes[1].plot(x, h[f"val_{score}"], color=c, ls="--", lw=1)
    if score == "mae":
        axes[0].set_ylabel("loss (on standardised ages)")
        axes[1].set_ylabel(f"mean absolute error ({unit or 'target unit'})")
    else:
        axes[0].set_ylabel("loss (training: with smoothing and centre terms)")
        axes[1].set_ylabel("accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=6, frameon=False)
    axes[1].set_title("solid: training, dashed: inner validation", fontsize=8)
    written = save_figure(fig, folder / "training_curves")
    plt.close(fig)
    return written
