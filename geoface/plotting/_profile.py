"""Model-free view of a feature table: how much each expression deforms each region."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..mesh import REGIONS

__all__ = ["plot_region_profile", "region_profile"]


def region_profile(
    table, *, by: str = "label", baseline: str | None = "neutral", subject: str | None = "subject"
) -> pd.DataFrame:
    """How strongly each group changes each region's edge lengths, on average.

    For every edge, the mean change of its strain from the baseline is taken
    over each group's faces (so landmark noise averages out), its absolute
    value is taken, and those are averaged over the edges of each region.
    The baseline is each subject's own mean ``baseline`` face when a subject
    column is present (removing identity), else the baseline group's mean.

    Parameters
    ----------
    table : FeatureTable
    by : str, default="label"
        Column to group faces by.
    baseline : str or None, default="neutral"
        Group to measure change from; None uses the raw strains (change from
        the template).
    subject : str or None, default="subject"
        Column naming the subject, for within-subject baselines.

    Returns
    -------
    profile : DataFrame
        Regions as rows (top of the face first), groups as columns; values
        are mean |change in strain| per edge of the region (a mean, not a
        total, since regions have different numbers of edges).
    """
    from ..features import feature_map

    fmap = feature_map(table.mesh)
    strain = fmap[fmap["kind"] == "strain"]
    ok = table.frame[table.usable]
    values = ok[strain["feature"].tolist()].to_numpy(dtype=float)
    groups = ok[by].astype(str).to_numpy()
    if baseline is not None and baseline in set(groups):
        is_base = groups == baseline
        base = np.broadcast_to(values[is_base].mean(axis=0), values.shape).copy()
        if subject is not None and subject in ok.columns:
            subj = ok[subject].astype(str).to_numpy()
            own = pd.DataFrame(values[is_base]).groupby(subj[is_base]).mean()
            pos = pd.Index(own.index).get_indexer(subj)
            has = pos >= 0
            base[has] = own.to_numpy()[pos[has]]
        values = values - base
    per_group = pd.DataFrame(values).groupby(groups).mean().abs()
    regions = strain["region"].to_numpy()
    out = {r: per_group.loc[:, regions == r].mean(axis=1) for r in REGIONS if (regions == r).any()}
    return pd.DataFrame(out).T


def plot_region_profile(
    table,
    *,
    by: str = "label",
    baseline: str | None = "neutral",
    subject: str | None = "subject",
    ax=None,
):
    """Heat map of :func:`region_profile`; returns the figure."""
    import matplotlib.pyplot as plt

    prof = region_profile(table, by=by, baseline=baseline, subject=subject)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.8 * prof.shape[1], 3.6), layout="constrained")
    else:
        fig = ax.figure
    im = ax.imshow(prof.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(range(prof.shape[1]), prof.columns, rotation=35, ha="right")
    ax.set_yticks(range(prof.shape[0]), prof.index)
    for (i, j), v in np.ndenumerate(prof.to_numpy()):
        ax.text(
            j,
            i,
            f"{v:.3f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if v < np.nanmax(prof.to_numpy()) * 0.6 else "black",
        )
    what = f"change from {baseline}" if baseline else "(vs template)"
    fig.colorbar(im, ax=ax, label=f"|mean strain {what}|, mean per edge", shrink=0.9)
    ax.set_title(f"Which regions each {by} deforms", fontsize=9)
    return fig
