"""Drawing the template mesh with its triangles, regions and numbers."""

from __future__ import annotations

import numpy as np

from ..mesh import REGIONS, Mesh
from ._style import REGION_COLOURS

__all__ = ["plot_mesh"]


def plot_mesh(
    mesh: Mesh | None = None,
    *,
    ax=None,
    shape: np.ndarray | None = None,
    number_triangles: bool = True,
    number_points: bool = False,
    legend: bool = True,
):
    """Draw a mesh: triangles filled by region, edges, landmarks and numbers.

    Parameters
    ----------
    mesh : Mesh, optional
        Defaults to :meth:`Mesh.default`.
    ax : matplotlib Axes, optional
        Drawn into; a new figure is made when ``None``.
    shape : ndarray of shape (68, 2), optional
        Landmarks to draw the mesh on (image coordinates, ``y`` down);
        the mesh's template by default.
    number_triangles : bool, default=True
        Write each triangle's index at its centroid.
    number_points : bool, default=False
        Write each landmark's index.
    legend : bool, default=True

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    mesh = Mesh.default() if mesh is None else mesh
    pts = mesh.template if shape is None else np.asarray(shape, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 8), layout="constrained")
    else:
        fig = ax.figure
    polys = pts[mesh.triangles]
    colours = [REGION_COLOURS[r] for r in mesh.triangle_regions]
    ax.add_collection(
        PolyCollection(polys, facecolors=colours, edgecolors="0.25", linewidths=0.6, alpha=0.55)
    )
    ax.plot(pts[:, 0], pts[:, 1], "o", ms=2.5, color="black", zorder=3)
    if number_triangles:
        for k, c in enumerate(polys.mean(axis=1)):
            ax.text(c[0], c[1], str(k), ha="center", va="center", fontsize=5.5, color="0.1")
    if number_points:
        for i, (x, y) in enumerate(pts):
            ax.annotate(
                str(i),
                (x, y),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=5,
                color="#0072B2",
            )
    ax.set_aspect("equal")
    ax.autoscale_view()
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_axis_off()
    if legend:
        present = [r for r in REGIONS if r in set(mesh.triangle_regions)]
        ax.legend(
            handles=[Patch(facecolor=REGION_COLOURS[r], alpha=0.55, label=r) for r in present],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
            fontsize=8,
        )
    ax.set_title(
        f"geoface mesh {mesh.hash}: {mesh.n_triangles} triangles, {mesh.n_edges} edges",
        fontsize=9,
    )
    return fig
