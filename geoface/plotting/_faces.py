"""Faces with their landmarks and mesh drawn over them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..mesh import Mesh
from ._style import REGION_COLOURS

__all__ = ["plot_face", "plot_faces"]


def plot_face(
    landmarks: np.ndarray,
    *,
    image: np.ndarray | None = None,
    mesh: Mesh | None = None,
    ax=None,
    title: str | None = None,
    fill: bool = False,
):
    """Draw one face's mesh on its image (or alone), triangles edged by region.

    Parameters
    ----------
    landmarks : ndarray of shape (68, 2)
        Image coordinates.
    image : ndarray, optional
        Grey-level or RGB image the landmarks belong to.
    mesh : Mesh, optional
    ax : matplotlib Axes, optional
    title : str, optional
    fill : bool, default=False
        Fill triangles with their region colour.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    mesh = Mesh.default() if mesh is None else mesh
    if ax is None:
        fig, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    else:
        fig = ax.figure
    pts = np.asarray(landmarks, dtype=float)
    if image is not None:
        ax.imshow(image, cmap="gray" if np.ndim(image) == 2 else None, vmin=0, vmax=255)
    colours = [REGION_COLOURS[r] for r in mesh.triangle_regions]
    ax.add_collection(
        PolyCollection(
            pts[mesh.triangles],
            facecolors=colours if fill else "none",
            edgecolors=colours,
            linewidths=0.6,
            alpha=0.9,
        )
    )
    ax.plot(pts[:, 0], pts[:, 1], ".", ms=1.5, color="white" if image is not None else "black")
    if image is None:
        ax.autoscale_view()
        ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_faces(
    landmarks: np.ndarray,
    *,
    images: Sequence[np.ndarray] | None = None,
    titles: Sequence[str] | None = None,
    mesh: Mesh | None = None,
    ncols: int = 7,
):
    """A grid of :func:`plot_face` panels; returns the figure."""
    import matplotlib.pyplot as plt

    n = len(landmarks)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.9 * ncols, 2.1 * nrows), layout="constrained", squeeze=False
    )
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_axis_off()
            continue
        plot_face(
            landmarks[i],
            image=None if images is None else images[i],
            mesh=mesh,
            ax=ax,
            title=None if titles is None else titles[i],
        )
    return fig
