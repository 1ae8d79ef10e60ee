"""SHAP values drawn on the face mesh: per-class maps, class contrasts, single faces.

Triangles are filled by the summed SHAP value of their four features (area
and three angles) and edges drawn with a width that grows with the SHAP
value of their strain; region borders are dashed and named. A run fitted
with the aligned landmark coordinates (``extract --coords aligned``) has one
more kind of element, the landmark *point*: each is drawn as a dot at the
landmark, filled on the triangles' colour scale with the summed SHAP value of
its coordinates (``lateral`` and ``vertical``; the midline points have only
the vertical one). Importance
(mean |SHAP|) uses the sequential, colour-blind-safe ``cividis`` map; signed
values use the diverging ``RdBu_r`` (red pushes toward the class, blue away),
centred on zero.
"""

from __future__ import annotations

import numpy as np

from ..mesh import Mesh
from ._shap_bars import coalition_note

__all__ = [
    "element_statistics",
    "element_summary",
    "plot_contrast_map",
    "plot_face_shap",
    "plot_region_map",
    "plot_shap_mesh",
    "shap_cmap",
    "shap_norm",
]

_POSITIVE, _NEGATIVE = "#B2182B", "#2166AC"  # the ends of RdBu: push toward / away from a class


def _region_borders(mesh: Mesh) -> np.ndarray:
    """Edge indices that separate triangles of different regions, or lie on the hull."""
    te = mesh.triangle_edges
    regions = mesh.triangle_regions
    seen: dict[int, set] = {}
    count = np.zeros(mesh.n_edges, dtype=int)
    for t, edges in enumerate(te.tolist()):
        for e in edges:
            seen.setdefault(e, set()).add(str(regions[t]))
            count[e] += 1
    return np.array([e for e in range(mesh.n_edges) if count[e] == 1 or len(seen.get(e, ())) > 1])


def _label_positions(mesh: Mesh, pts: np.ndarray) -> dict[str, np.ndarray]:
    """Where to write each region's name: a triangle of it (the subject's right or midline)."""
    centroids = pts[mesh.triangles].mean(axis=1)
    out = {}
    for region in dict.fromkeys(mesh.triangle_regions.tolist()):
        idx = np.flatnonzero((mesh.triangle_regions == region) & (mesh.triangle_sides != "left"))
        if len(idx) == 0:
            idx = np.flatnonzero(mesh.triangle_regions == region)
        mean = centroids[idx].mean(axis=0)
        out[str(region)] = centroids[idx[np.argmin(np.hypot(*(centroids[idx] - mean).T))]]
    return out


def shap_norm(top: float, *, signed: bool = False, scale: str = "sqrt"):
    """The colour normalisation of the SHAP maps: from 0 (or -top) to ``top``.

    ``scale="sqrt"`` spreads the many small values of a sparse model (trees
    use few features) over more of the colour map, symmetrically about 0 when
    ``signed``; ``"linear"`` is proportional.
    """
    from matplotlib.colors import FuncNorm, Normalize, TwoSlopeNorm

    if scale not in {"sqrt", "linear"}:
        raise ValueError(f"scale={scale!r} is not one of {{'sqrt', 'linear'}}")
    top = float(top) if top and np.isfinite(top) and top > 0 else 1.0
    if scale == "linear":
        return TwoSlopeNorm(0.0, -top, top) if signed else Normalize(0.0, top)

    def forward(x):
        x = np.asarray(x, dtype=float)
        return np.sign(x) * np.sqrt(np.abs(x))

    def inverse(y):
        y = np.asarray(y, dtype=float)
        return np.sign(y) * y**2

    return FuncNorm((forward, inverse), vmin=-top if signed else 0.0, vmax=top)


def shap_cmap(signed: bool = False):
    """``RdBu_r`` for signed values, ``cividis`` for magnitudes (both colour-blind-safe)."""
    import matplotlib.pyplot as plt

    return plt.get_cmap("RdBu_r" if signed else "cividis")


def _top(values) -> float:
    v = np.abs(np.asarray(values, dtype=float))
    return float(np.nanmax(v)) if np.isfinite(v).any() and np.nanmax(v) > 0 else 1.0


def plot_shap_mesh(
    triangle_values: np.ndarray,
    edge_values: np.ndarray | None = None,
    *,
    mesh: Mesh | None = None,
    shape: np.ndarray | None = None,
    image: np.ndarray | None = None,
    signed: bool = False,
    scale: str = "sqrt",
    vmax: float | None = None,
    edge_vmax: float | None = None,
    ax=None,
    title: str | None = None,
    colorbar: bool = True,
    colorbar_label: str | None = None,
    edge_label: str = "edge strain",
    label_regions: bool = True,
    alpha: float = 0.9,
    point_values: np.ndarray | None = None,
    point_label: str = "landmark: its coordinates' total",
):
    """Draw per-triangle, per-edge and (optionally) per-landmark values on a mesh.

    Parameters
    ----------
    triangle_values : ndarray of shape (n_triangles,)
        Fill of each triangle (e.g. mean |SHAP| of its area and angles).
    edge_values : ndarray of shape (n_edges,), optional
        Each edge is drawn with a width that grows with ``|value|`` (and, when
        ``signed``, red for positive, blue for negative).
    mesh : Mesh, optional
        Defaults to :meth:`Mesh.default`.
    shape : ndarray of shape (68, 2), optional
        Landmarks to draw on (image coordinates, ``y`` down); the template
        when omitted.
    image : ndarray, optional
        Picture behind the mesh (then ``shape`` should be its landmarks).
    signed : bool, default=False
        Diverging colours centred on zero instead of a sequential scale from zero.
    scale : {"sqrt", "linear"}, default="sqrt"
        Colour scale and edge widths (see :func:`shap_norm`).
    vmax, edge_vmax : float, optional
        Top of the colour scale and the value of the widest edge (the
        largest ``|value|`` by default): give the same ones to panels that are
        to be compared.
    ax : matplotlib Axes, optional
    title : str, optional
    colorbar : bool, default=True
    colorbar_label : str, optional
    edge_label : str, default="edge strain"
        What edge widths show, for the width legend.
    label_regions : bool, default=True
        Write region names on the map.
    alpha : float, default=0.9
        Opacity of the triangle fill.
    point_values : ndarray of shape (n_points,), optional
        Values of the landmark points (the aligned coordinates' total): each
        finite one is drawn as a dot at its landmark, filled on the same
        colour scale as the triangles (NaN: not drawn).
    point_label : str
        What the dots show, for the legend.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    mesh = Mesh.default() if mesh is None else mesh
    pts = mesh.template if shape is None else np.asarray(shape, dtype=float)
    tri = np.asarray(triangle_values, dtype=float)
    if tri.shape != (mesh.n_triangles,):
        raise ValueError(f"triangle_values has shape {tri.shape}; expected ({mesh.n_triangles},)")
    dots = None
    if point_values is not None:
        dots = np.asarray(point_values, dtype=float)
        if dots.shape != (len(pts),):
            raise ValueError(f"point_values has shape {dots.shape}; expected ({len(pts)},)")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.4, 4.4), layout="constrained")
    else:
        fig = ax.figure
    if image is not None:
        ax.imshow(image, cmap="gray" if np.ndim(image) == 2 else None, vmin=0, vmax=255)
    both = tri if dots is None else np.concatenate([tri, dots[np.isfinite(dots)]])
    norm = shap_norm(vmax if vmax is not None else _top(both), signed=signed, scale=scale)
    polys = PolyCollection(
        pts[mesh.triangles],
        array=tri,
        cmap=shap_cmap(signed),
        norm=norm,
        edgecolors="none",
        alpha=alpha,
    )
    ax.add_collection(polys)
    segments = pts[mesh.edges]
    ax.add_collection(LineCollection(segments, colors="0.7", linewidths=0.2, zorder=2))
    handles = []
    if edge_values is not None:
        ev = np.nan_to_num(np.asarray(edge_values, dtype=float))
        emax = edge_vmax if edge_vmax is not None else _top(ev)
        emax = emax if emax > 0 else 1.0
        rel = np.clip(np.abs(ev) / emax, 0, 1)

        def width(r):
            return 3.0 * (np.sqrt(r) if scale == "sqrt" else r)

        widths = width(rel)
        shown = widths > 0.2
        colours = np.where(ev >= 0, _POSITIVE, _NEGATIVE) if signed else np.full(len(ev), "black")
        ax.add_collection(
            LineCollection(
                segments[shown],
                colors=colours[shown].tolist(),
                linewidths=widths[shown],
                capstyle="round",
                zorder=3,
            )
        )
        for frac in (1.0, 0.25):
            handles.append(
                Line2D(
                    [], [], color="black", lw=width(frac), label=f"{edge_label} {frac * emax:.2g}"
                )
            )
    borders = _region_borders(mesh)
    ax.add_collection(LineCollection(segments[borders], colors="white", linewidths=1.6, zorder=4))
    ax.add_collection(
        LineCollection(
            segments[borders], colors="0.1", linewidths=0.8, linestyles=(0, (3, 2)), zorder=4
        )
    )
    if dots is not None and np.isfinite(dots).any():
        at = np.flatnonzero(np.isfinite(dots))
        ax.scatter(
            pts[at, 0],
            pts[at, 1],
            c=dots[at],
            cmap=shap_cmap(signed),
            norm=norm,
            s=16,
            marker="o",
            edgecolors="0.1",
            linewidths=0.5,
            zorder=6,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                markerfacecolor="white",
                markeredgecolor="0.1",
                markersize=4,
                label=point_label,
            )
        )
    if label_regions:
        halo = [patheffects.withStroke(linewidth=2, foreground="white")]
        for region, (x, y) in _label_positions(mesh, pts).items():
            ax.text(
                x,
                y,
                region,
                ha="center",
                va="center",
                fontsize=6,
                color="0.1",
                path_effects=halo,
                zorder=5,
            )
    ax.set_aspect("equal")
    if image is None:
        ax.autoscale_view()
        if not ax.yaxis_inverted():
            ax.invert_yaxis()
    ax.set_axis_off()
    if colorbar:
        cbar = fig.colorbar(polys, ax=ax, shrink=0.75, pad=0.02, aspect=25)
        label = colorbar_label or ("SHAP value" if signed else "mean |SHAP|")
        if scale == "sqrt":
            label += " (square-root scale)"
        cbar.set_label(label, fontsize=6)
        cbar.ax.tick_params(labelsize=6)
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.02),
            ncol=2,
            fontsize=6,
            frameon=False,
            handlelength=2.2,
        )
    if title:
        ax.set_title(title, fontsize=8)
    return fig


def _element_split(expl, element_values: np.ndarray):
    """Triangle, edge and point (None without coordinate features; NaN: a point without any)."""
    t, e = expl.mesh.n_triangles, expl.mesh.n_edges
    hier = expl.hierarchy
    points = None
    if hier.n_points:
        points = np.array(element_values[t + e : t + e + hier.n_points], dtype=float)
        counts = hier.elements["n_features"].to_numpy()[t + e : t + e + hier.n_points]
        points[counts == 0] = np.nan
    return element_values[:t], element_values[t : t + e], points


def _fill_label(expl, what: str) -> str:
    """Colour-bar label: what the triangles (and dots) are filled with."""
    if expl.hierarchy.n_points:
        return f"{what} per triangle or landmark dot (total of its features)"
    return f"{what} per triangle (total of area + 3 angles)"


def _space(expl) -> str:
    return f"{expl.space} space"


def element_summary(
    expl, cls: str, *, signed: bool = False, over: str = "all"
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-triangle and per-edge mean |SHAP| (or mean SHAP) of class ``cls``.

    Returns
    -------
    triangles : ndarray of shape (n_triangles,)
        Statistic of each triangle's total (area + 3 angles).
    edges : ndarray of shape (n_edges,)
    n_faces : int
        Faces averaged over.
    """
    tri, edge, _, n = element_statistics(expl, cls, signed=signed, over=over)
    return tri, edge, n


def element_statistics(
    expl, cls: str, *, signed: bool = False, over: str = "all"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """:func:`element_summary` with the landmark points of a run with aligned coordinates.

    Returns
    -------
    triangles : ndarray of shape (n_triangles,)
    edges : ndarray of shape (n_edges,)
    points : ndarray of shape (68,) or None
        Statistic of each point's total (its aligned coordinates; NaN for a
        point without any); None when the run has no coordinate features.
    n_faces : int
    """
    k = expl.class_index(cls)
    rows = np.arange(expl.n_faces) if over == "all" else np.flatnonzero(expl.labels == cls)
    ev = expl.element_values()[rows, :, k]
    ev = ev[np.isfinite(ev).all(axis=1)]
    if len(ev) == 0:
        stat = np.zeros(ev.shape[1])
    else:
        stat = ev.mean(axis=0) if signed else np.abs(ev).mean(axis=0)
    tri, edge, points = _element_split(expl, stat)
    return tri, edge, points, len(ev)


def plot_region_map(
    expl,
    cls: str,
    *,
    signed: bool = False,
    over: str = "all",
    ax=None,
    title: str | None = None,
    **kwargs,
):
    """Where on the face the model finds evidence for class ``cls``.

    Triangles are filled with the mean over faces of the |SHAP| (or, with
    ``signed``, the signed SHAP) of each triangle's total (area + 3 angles);
    edges are drawn by the same statistic of their strain's SHAP value;
    region borders are dashed. With aligned landmark coordinates, each
    landmark is a dot filled with the same statistic of its coordinates'
    total, on the triangles' colour scale.

    Parameters
    ----------
    expl : Explanation
    cls : str
        A class of the run.
    signed : bool, default=False
    over : {"all", "class"}, default="all"
        Average over all explained faces or only the faces labelled ``cls``.
    ax : matplotlib Axes, optional
    title : str, optional
    **kwargs
        Passed to :func:`plot_shap_mesh` (``vmax``, ``edge_vmax``, ``scale``,
        ``colorbar``, ``label_regions`` …).

    Returns
    -------
    fig : matplotlib Figure
    """
    tri, edge, points, n = element_statistics(expl, cls, signed=signed, over=over)
    what = "mean SHAP" if signed else "mean |SHAP|"
    faces = "all faces" if over == "all" else f"{cls} faces"
    options = {
        "colorbar_label": f"{_fill_label(expl, what)}, {_space(expl)}",
        "edge_label": f"strain {what}",
        **kwargs,
    }
    return plot_shap_mesh(
        tri,
        edge,
        point_values=points,
        mesh=expl.mesh,
        signed=signed,
        ax=ax,
        title=title or f"{cls}: {what}, {faces} (n={n})" + coalition_note(expl),
        **options,
    )


def plot_contrast_map(expl, a: str, b: str, *, ax=None, **kwargs):
    """Where the evidence for class ``a`` differs from that for class ``b``.

    Shows the mean over the faces labelled ``a`` or ``b`` of ``|φ_a − φ_b|``
    per triangle (total of its features) and per edge: the exact SHAP values
    of ``f_a − f_b``, the log-odds of ``a`` against ``b`` in margin or logit
    space (see :func:`geoface.explain.contrast_values`).

    Parameters
    ----------
    expl : Explanation
    a, b : str
        Two classes of the run.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :func:`plot_shap_mesh`.

    Returns
    -------
    fig : matplotlib Figure
    """
    from ._summary import contrast_values

    diff, rows = contrast_values(expl, a, b)
    ev = np.abs(expl.hierarchy.to_elements(diff[:, :, None])[:, :, 0]).mean(axis=0)
    tri, edge, points = _element_split(expl, ev)
    log_odds = expl.space in {"margin", "logit"}
    quantity = f"log-odds {a} vs {b}" if log_odds else f"f({a}) − f({b})"
    where = "triangle and landmark dot" if points is not None else "triangle"
    options = {
        "title": f"{a} vs {b}: where the evidence differs ({len(rows)} faces)",
        "colorbar_label": f"mean |SHAP of {quantity}| per {where} (total), {_space(expl)}",
        "edge_label": "strain",
        **kwargs,
    }
    return plot_shap_mesh(tri, edge, point_values=points, mesh=expl.mesh, ax=ax, **options)


def plot_face_shap(
    expl,
    face: int,
    cls: str | None = None,
    *,
    landmarks: np.ndarray | None = None,
    image: np.ndarray | None = None,
    ax=None,
    **kwargs,
):
    """One face's SHAP values for one class, on its photo or its own landmarks.

    Parameters
    ----------
    expl : Explanation
    face : int
        Row of the explanation.
    cls : str, optional
        Defaults to the face's predicted class.
    landmarks : ndarray of shape (68, 2), optional
        The face's landmarks (image coordinates); the template when omitted.
    image : ndarray, optional
        The face's photo, drawn behind the mesh (needs ``landmarks``).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :func:`plot_shap_mesh`.

    Returns
    -------
    fig : matplotlib Figure
    """
    k = expl.predicted[face] if cls is None else expl.class_index(cls)
    ev = expl.hierarchy.to_elements(expl.values[face : face + 1, :, k : k + 1])[0, :, 0]
    tri, edge, points = _element_split(expl, np.nan_to_num(ev))
    if landmarks is None:
        image = None
    where = "photo" if image is not None else "landmarks" if landmarks is not None else "template"
    options = {
        "alpha": 0.55 if image is not None else 0.9,
        "label_regions": landmarks is None,
        "title": f"{expl.ids[face]} ({where}): SHAP for {expl.classes[k]}",
        "colorbar_label": f"{_fill_label(expl, 'SHAP')}, {_space(expl)}",
        "edge_label": "strain |SHAP|",
        **kwargs,
    }
    return plot_shap_mesh(
        tri,
        edge,
        point_values=points,
        mesh=expl.mesh,
        shape=landmarks,
        image=image,
        signed=True,
        ax=ax,
        **options,
    )
