"""SHAP summaries as charts: region bars with intervals, beeswarms, waterfalls, contrasts.

Region colours are the Okabe–Ito palette of :data:`REGION_COLOURS`; signs use
its vermillion (toward a class) and blue (away from it). Every axis label
says whether it shows a region's *total* or its *mean per feature* and in
which output space the SHAP values are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..mesh import REGION_COLOURS

__all__ = [
    "coalition_note",
    "plot_contrast_bars",
    "plot_region_importance",
    "plot_region_waterfall",
    "plot_shap_summary",
]

_TOWARD, _AWAY = "#D55E00", "#0072B2"

_STATISTICS = {
    "mean_abs_total": "mean |SHAP|, total per region",
    "mean_abs_per_feature": "mean |SHAP|, mean per feature",
    "mean_signed_total": "mean SHAP, total per region",
    "mean_signed_per_feature": "mean SHAP, mean per feature",
}


def coalition_note(expl) -> str:
    """A line for figures of partition-explainer values below the region level ("" otherwise)."""
    if expl.info.get("explainer") != "partition":
        return ""
    return (
        "\npartition explainer: features of a coalition it did not split within its budget "
        "share that coalition's value equally"
    )


def _region_panel(ax, part: pd.DataFrame, statistic: str, show_labels: bool = True) -> None:
    regions = part["region"].tolist()
    y = np.arange(len(regions))
    value = part[statistic].to_numpy(dtype=float)
    ax.barh(y, value, color=[REGION_COLOURS.get(r, "0.5") for r in regions], height=0.7)
    low, high = f"{statistic}_low", f"{statistic}_high"
    if low in part and part[low].notna().any():
        err = np.vstack(
            [
                np.clip(value - part[low].to_numpy(dtype=float), 0, None),
                np.clip(part[high].to_numpy(dtype=float) - value, 0, None),
            ]
        )
        ax.errorbar(value, y, xerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    if "signed" in statistic:
        ax.axvline(0, color="0.3", lw=0.6)
    labels = [f"{r} ({n})" for r, n in zip(regions, part["n_features"], strict=True)]
    ax.set_yticks(y, labels if show_labels else [""] * len(y), fontsize=7)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=6)


def plot_region_importance(
    regions: pd.DataFrame,
    *,
    classes: Sequence[str] | None = None,
    statistic: str = "mean_abs_total",
    ax=None,
    ncols: int = 4,
):
    """Bars of each region's importance per class, with their 95 % intervals.

    Parameters
    ----------
    regions : DataFrame
        :func:`geoface.explain.region_table` output.
    classes : sequence of str, optional
        Classes to draw (all by default); one panel each.
    statistic : str, default="mean_abs_total"
        ``mean_abs_total``, ``mean_abs_per_feature``, ``mean_signed_total`` or
        ``mean_signed_per_feature``.
    ax : matplotlib Axes, optional
        Draw one class (``classes`` must name exactly one) into this Axes.
    ncols : int, default=4

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if statistic not in _STATISTICS:
        raise ValueError(f"statistic={statistic!r} is not one of {sorted(_STATISTICS)}")
    classes = list(dict.fromkeys(regions["class"])) if classes is None else list(classes)
    space = str(regions["space"].iloc[0]) if "space" in regions else ""
    over = str(regions["over"].iloc[0]) if "over" in regions else "all"
    xlabel = f"{_STATISTICS[statistic]} ({space} space)"
    faces = "all faces" if over == "all" else "faces of the class"
    if ax is not None:
        if len(classes) != 1:
            raise ValueError("with ax, give exactly one class")
        _region_panel(ax, regions[regions["class"] == classes[0]], statistic)
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_title(f"{classes[0]} ({faces})", fontsize=8)
        return ax.figure
    ncols = max(1, min(ncols, len(classes)))
    nrows = int(np.ceil(len(classes) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(2.1 * ncols + 0.6, 2.0 * nrows + 0.5),
        layout="constrained",
        squeeze=False,
        sharex=True,
    )
    for i, axis in enumerate(axes.ravel()):
        if i >= len(classes):
            axis.set_axis_off()
            continue
        _region_panel(
            axis, regions[regions["class"] == classes[i]], statistic, show_labels=i % ncols == 0
        )
        axis.set_title(classes[i], fontsize=8)
    fig.supxlabel(xlabel, fontsize=8)
    fig.suptitle(
        f"Which regions each class relies on — {_STATISTICS[statistic]}, over {faces}; "
        "bars: 95% CI (bootstrap over subjects)",
        fontsize=8,
    )
    return fig


def _swarm_offsets(x: np.ndarray, width: float = 0.4, bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points of similar ``x`` apart (a beeswarm)."""
    if len(x) < 2 or np.ptp(x) == 0:
        return np.zeros_like(x)
    idx = np.clip(((x - x.min()) / np.ptp(x) * bins).astype(int), 0, bins)
    offsets = np.zeros(len(x))
    for b in np.unique(idx):
        members = np.flatnonzero(idx == b)
        n = len(members)
        order = np.arange(n)
        layer = np.ceil(order / 2) * np.where(order % 2, 1, -1)
        offsets[members] = layer
    peak = np.abs(offsets).max()
    return offsets / peak * width if peak > 0 else offsets


def plot_shap_summary(expl, cls: str, *, top: int = 15, ax=None):
    """Beeswarm of the ``top`` features for class ``cls``.

    Each row is a feature (labelled like ``"mouth · tri 41 area"``), each dot a
    face: its SHAP value for ``cls`` along x, its feature value in colour
    (low → high, per feature, 5th–95th percentile). Features are ordered by
    mean |SHAP|.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    k = expl.class_index(cls)
    values = expl.values[:, :, k]
    keep = np.isfinite(values).all(axis=1)
    values, feats = values[keep], expl.features[keep]
    importance = np.abs(values).mean(axis=0) if len(values) else np.zeros(values.shape[1])
    order = np.argsort(-importance, kind="stable")[:top]
    labels = expl.hierarchy.feature_map["label"].to_numpy()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 0.28 * len(order) + 1.2), layout="constrained")
    else:
        fig = ax.figure
    cmap = plt.get_cmap("viridis")
    sc = None
    for row, j in enumerate(order):
        x = values[:, j]
        f = feats[:, j]
        lo, hi = np.nanpercentile(f, [5, 95]) if len(f) else (0, 1)
        colour = np.clip((f - lo) / (hi - lo), 0, 1) if hi > lo else np.full(len(f), 0.5)
        sc = ax.scatter(
            x,
            row + _swarm_offsets(x),
            c=colour,
            cmap=cmap,
            norm=Normalize(0, 1),
            s=5,
            linewidths=0,
            alpha=0.85,
            rasterized=True,
        )
    ax.axvline(0, color="0.4", lw=0.6)
    ax.set_yticks(range(len(order)), labels[order], fontsize=7)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlabel(f"SHAP value for {cls} ({expl.space} space)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(
        f"{cls}: top {len(order)} features by mean |SHAP| ({len(values)} faces)"
        + coalition_note(expl),
        fontsize=8,
    )
    if sc is not None:
        cbar = fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.01, ticks=[0, 1])
        cbar.ax.set_yticklabels(["low", "high"], fontsize=6)
        cbar.set_label("feature value", fontsize=7)
    return fig


def plot_region_waterfall(expl, face: int, cls: str | None = None, *, ax=None):
    """How one face's regions move class ``cls`` from the base value to the model's output.

    Bars are region totals (the sum of the SHAP values of the region's
    features), largest first; they add up exactly to the output minus the
    base value.

    Parameters
    ----------
    expl : Explanation
    face : int
        Row of the explanation.
    cls : str, optional
        Defaults to the face's predicted class.
    ax : matplotlib Axes, optional

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    k = expl.predicted[face] if cls is None else expl.class_index(cls)
    regions = expl.hierarchy.regions
    vals = expl.hierarchy.to_regions(expl.values[face : face + 1, :, k : k + 1])[0, :, 0]
    base = float(expl.base_values[face, k])
    order = np.argsort(-np.abs(vals), kind="stable")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 0.32 * len(regions) + 1.4), layout="constrained")
    else:
        fig = ax.figure
    start = base
    sizes = expl.hierarchy.region_sizes
    for row, r in enumerate(order):
        v = vals[r]
        ax.barh(row, v, left=start, color=_TOWARD if v >= 0 else _AWAY, height=0.7)
        ax.text(
            start + v,
            row,
            f" {v:+.3g} ",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=6,
        )
        start += v
    ax.axvline(base, color="0.4", lw=0.7, ls=":")
    ax.axvline(start, color="0.1", lw=0.9)
    ax.set_yticks(range(len(order)), [f"{regions[r]} ({sizes[r]})" for r in order], fontsize=7)
    ax.set_ylim(len(order) - 0.5, -0.6)
    ax.tick_params(axis="x", labelsize=6)
    ax.set_xlabel(
        f"{expl.classes[k]} output ({expl.space} space): base {base:.3g} → {start:.3g}",
        fontsize=7,
    )
    ax.set_title(f"{expl.ids[face]}: region totals (sum of their features' SHAP)", fontsize=8)
    return fig


def plot_contrast_bars(expl, a: str, b: str, *, ax=None):
    """Per region, the mean SHAP value of ``f_a − f_b`` on faces of ``a`` and on faces of ``b``.

    A region that separates the two classes pushes ``a``'s faces toward ``a``
    (positive) and ``b``'s faces toward ``b`` (negative). Values are region
    totals.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    from ._summary import contrast_values

    diff, rows = contrast_values(expl, a, b)
    reg = expl.hierarchy.to_regions(diff[:, :, None])[:, :, 0]
    labels = expl.labels[rows]
    regions = expl.hierarchy.regions
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 0.35 * len(regions) + 1.2), layout="constrained")
    else:
        fig = ax.figure
    y = np.arange(len(regions))
    for offset, name, colour in ((-0.19, a, _TOWARD), (0.19, b, _AWAY)):
        sel = labels == name
        mean = reg[sel].mean(axis=0) if sel.any() else np.zeros(len(regions))
        ax.barh(
            y + offset, mean, height=0.36, color=colour, label=f"faces of {name} (n={sel.sum()})"
        )
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_yticks(y, regions, fontsize=7)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=6)
    log_odds = expl.space in {"margin", "logit"}
    quantity = f"log-odds {a} vs {b}" if log_odds else f"f({a}) − f({b})"
    ax.set_xlabel(f"mean SHAP of {quantity}, total per region\n(> 0: toward {a})", fontsize=7)
    ax.legend(fontsize=6, frameon=False, loc="best")
    return fig
