"""Everything ``geoface explain --out DIR`` writes, written atomically.

``DIR`` holds:

* ``shap_values.npz`` — ``values`` (faces × features × classes), ``base_values``,
  ``features``, ``ids``, ``subjects``, ``labels``, ``folds``,
  ``feature_names``, ``classes`` (no pickle: ``np.load(allow_pickle=False)``);
* ``explain.json`` — explainer, output space, model, mode (out-of-fold or
  final), counts of faces explained and skipped (with reasons), cost,
  timings, the largest additivity error and the mesh;
* ``regions.csv`` — :func:`geoface.explain.region_table` over all faces and
  over each class's own faces (column ``over``);
* ``triangles.csv``, ``edges.csv`` — :func:`geoface.explain.element_table`;
  with the aligned landmark coordinates (``extract --coords aligned``) also
  ``points.csv``, one row per landmark point and class (its coordinates' total);
* ``figures/`` — PDF and 300-dpi PNG of each figure; on the maps a landmark
  point with coordinate features is a dot filled on the triangles' scale.

``explain.json``'s ``feature_kinds`` says which kinds of feature were explained
(mesh features, aligned coordinates, CNN embedding components) and how many;
coordinates count towards their point's region and side in every table.

An explanation kept as region sums only (:class:`RegionExplanation`, ``geoface
explain --region-sums-only``) writes ``region_values.npz`` instead of
``shap_values.npz``, ``regions.csv`` and the region bars; the tables and
figures that need each feature's values (triangles, edges, sides, maps,
beeswarms, single faces, contrasts) are not made.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..runs import staged_directory, write_json
from ._bilateral import side_table
from ._explain import Explanation, RegionExplanation
from ._summary import element_table, region_table

__all__ = ["FIGURES", "default_contrast", "write_explanation"]

#: Figure groups ``write_explanation`` can draw.
FIGURES = ("regions", "maps", "summary", "faces", "contrast")

#: Callable giving a face's ``(landmarks (68, 2) or None, image or None)`` from its id.
FaceSource = Callable[[str], tuple]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "x"


def default_contrast(expl: Explanation, metrics: dict | None = None) -> tuple[str, str] | None:
    """The pair of classes to contrast when none is asked for.

    ``surprise`` and ``fear`` when both are classes (the pair infant studies
    confuse most), else the two classes the run confused most often
    (symmetrised confusion counts), else the first two classes.
    """
    classes = list(expl.classes)
    if len(classes) < 2:
        return None
    if {"surprise", "fear"} <= set(classes):
        return "surprise", "fear"
    cm = (metrics or {}).get("confusion_matrix", {})
    counts, labels = cm.get("counts"), cm.get("labels")
    if counts is not None and labels is not None and len(labels) == len(classes):
        c = np.asarray(counts, dtype=float)
        sym = c + c.T
        np.fill_diagonal(sym, -1)
        i, j = np.unravel_index(np.argmax(sym), sym.shape)
        return str(labels[min(i, j)]), str(labels[max(i, j)])
    return classes[0], classes[1]


def default_faces(expl: Explanation) -> list[int]:
    """One face per class: the first explained face labelled with it."""
    out = []
    for c in expl.classes:
        idx = np.flatnonzero(expl.labels == c)
        if len(idx):
            out.append(int(idx[0]))
    return out or [0]


def _draw(expl, folder, over, faces, contrasts, face_source, regions, which) -> list[Path]:
    import matplotlib.pyplot as plt

    from ..plotting import save_figure
    from ._shap_bars import (
        plot_contrast_bars,
        plot_region_importance,
        plot_region_waterfall,
        plot_shap_summary,
    )
    from ._shap_mesh import plot_contrast_map, plot_face_shap, plot_region_map

    written: list[Path] = []

    def save(fig, name):
        written.extend(save_figure(fig, folder / name))
        plt.close(fig)

    part = regions[regions["over"] == over]
    if "regions" in which:
        for stat, name in (("mean_abs_total", "total"), ("mean_abs_per_feature", "per_feature")):
            save(plot_region_importance(part, statistic=stat), f"region_importance_{name}")
    if "maps" in which:
        for signed in (False, True):
            save(
                _map_grid(expl, over="class" if signed else over, signed=signed),
                "region_maps_signed" if signed else "region_maps",
            )
        vmax, edge_vmax = _map_scales(expl, over, signed=False)
        for c in expl.classes:
            fig = plot_region_map(expl, c, over=over, vmax=vmax, edge_vmax=edge_vmax)
            save(fig, f"region_map_{_safe(c)}")
    if "summary" in which:
        for c in expl.classes:
            save(plot_shap_summary(expl, c), f"summary_{_safe(c)}")
    if "faces" in which:
        for i in faces:
            landmarks, image = face_source(str(expl.ids[i])) if face_source else (None, None)
            fig, axes = plt.subplots(
                1, 2, figsize=(8.4, 3.8), layout="constrained", width_ratios=[1.1, 1]
            )
            plot_face_shap(expl, i, landmarks=landmarks, image=image, ax=axes[0])
            plot_region_waterfall(expl, i, ax=axes[1])
            save(fig, f"face_{_safe(expl.ids[i])}")
    if "contrast" in which:
        for a, b in contrasts:
            fig, axes = plt.subplots(
                1, 2, figsize=(8.0, 3.9), layout="constrained", width_ratios=[1.2, 1]
            )
            plot_contrast_map(expl, a, b, ax=axes[0])
            plot_contrast_bars(expl, a, b, ax=axes[1])
            save(fig, f"contrast_{_safe(a)}_vs_{_safe(b)}")
    return written


def _map_scales(expl, over: str, signed: bool) -> tuple[float, float]:
    """Colour-scale top and widest-edge value shared by every class's map."""
    from ._shap_mesh import element_statistics

    tri_top, edge_top = 0.0, 0.0
    for c in expl.classes:
        tri, edge, points, _ = element_statistics(expl, c, signed=signed, over=over)
        if points is not None:  # the dots share the triangles' colour scale
            tri = np.concatenate([tri, points[np.isfinite(points)]])
        tri_top = max(tri_top, float(np.abs(tri).max(initial=0)))
        edge_top = max(edge_top, float(np.abs(edge).max(initial=0)))
    return tri_top or 1.0, edge_top or 1.0


def _map_grid(expl, *, over: str, signed: bool, ncols: int = 4):
    """All classes' region maps on one shared colour scale, with one colour bar."""
    import matplotlib.pyplot as plt

    from ._shap_bars import coalition_note
    from ._shap_mesh import _fill_label, plot_region_map, shap_cmap, shap_norm

    n = len(expl.classes)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(2.6 * ncols + 0.8, 2.9 * nrows + 0.5),
        layout="constrained",
        squeeze=False,
    )
    vmax, edge_vmax = _map_scales(expl, over, signed)
    what = "mean SHAP" if signed else "mean |SHAP|"
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_axis_off()
            continue
        c = expl.classes[i]
        plot_region_map(
            expl,
            c,
            signed=signed,
            over=over,
            vmax=vmax,
            edge_vmax=edge_vmax,
            ax=ax,
            colorbar=False,
            label_regions=i == 0,
            title=c,
        )
        if i != 0 and ax.get_legend() is not None:
            ax.get_legend().remove()
    sm = plt.cm.ScalarMappable(norm=shap_norm(vmax, signed=signed), cmap=shap_cmap(signed))
    cbar = fig.colorbar(sm, ax=axes.ravel().tolist(), shrink=0.6, aspect=30)
    dots = expl.hierarchy.n_points > 0
    cbar.set_label(f"{_fill_label(expl, what)}, {expl.space} space, square-root scale", fontsize=7)
    cbar.ax.tick_params(labelsize=6)
    faces = "each class's own faces" if over == "class" else "all faces"
    direction = " (red: toward the class, blue: away)" if signed else ""
    fig.suptitle(
        f"{what}{direction} over {faces}: triangles filled by their total, edges drawn by "
        "their strain's value"
        + (";\nlandmark dots by their aligned coordinates' total" if dots else "")
        + "; one scale for all panels"
        + coalition_note(expl),
        fontsize=8,
    )
    return fig


def write_explanation(
    expl: Explanation | RegionExplanation,
    out: str | os.PathLike,
    *,
    over: str = "all",
    n_boot: int = 1000,
    figures: Sequence[str] | None = FIGURES,
    faces: Sequence[int] | None = None,
    contrasts: Sequence[tuple[str, str]] | None = None,
    face_source: FaceSource | None = None,
    metrics: dict | None = None,
    overwrite: bool = False,
    seed: int = 0,
) -> Path:
    """Write an explanation's values, tables and figures into a new folder.

    Parameters
    ----------
    expl : Explanation or RegionExplanation
    out : path-like
        Folder to create (refused when it exists, unless ``overwrite``).
    over : {"all", "class"}, default="all"
        Faces the figures average each class over (``regions.csv`` has both).
    n_boot : int, default=1000
        Subject-bootstrap replicates for the region intervals.
    figures : sequence of str, optional
        Which of :data:`FIGURES` to draw (None or empty: none).
    faces : sequence of int, optional
        Rows to draw single-face explanations of (default: one per class).
    contrasts : sequence of (str, str), optional
        Class pairs for contrast maps (default: :func:`default_contrast`).
    face_source : callable, optional
        ``face_source(id) -> (landmarks or None, image or None)``, to draw
        single faces on their own landmarks and photo.
    metrics : dict, optional
        The run's ``metrics.json`` (for the default contrast).
    overwrite : bool, default=False
    seed : int, default=0

    Returns
    -------
    Path
        The folder.
    """
    regions = pd.concat(
        [region_table(expl, over=o, n_boot=n_boot, seed=seed) for o in ("all", "class")],
        ignore_index=True,
    )
    sums_only = isinstance(expl, RegionExplanation)
    if sums_only:  # what needs per-feature values is not made
        figures = [f for f in (figures or ()) if f == "regions"]
        contrasts, faces = [], []
    elements = None if sums_only else element_table(expl, over=over)
    if contrasts is None:
        pair = default_contrast(expl, metrics)
        contrasts = [pair] if pair else []
    for a, b in contrasts:
        expl.class_index(a), expl.class_index(b)
    if faces is None:
        faces = default_faces(expl)
    faces = list(faces)
    with staged_directory(out, overwrite=overwrite) as tmp:
        expl.write(tmp)
        regions.to_csv(tmp / "regions.csv", index=False, float_format="%.6g")
        if not sums_only:
            sides = side_table(expl, n_boot=n_boot, seed=seed)
            sides.to_csv(tmp / "region_sides.csv", index=False, float_format="%.6g")
            kinds = [("triangle", "triangles.csv"), ("edge", "edges.csv")]
            if expl.hierarchy.n_points:
                kinds.append(("point", "points.csv"))
            for kind, name in kinds:
                part = elements[elements["element"] == kind]
                part.to_csv(tmp / name, index=False, float_format="%.6g")
        written = []
        if figures:
            (tmp / "figures").mkdir()
            written = _draw(
                expl, tmp / "figures", over, faces, contrasts, face_source, regions, set(figures)
            )
        info = dict(expl.info)
        info["figures"] = sorted(p.name for p in written)
        info["summaries"] = {
            "over": over,
            "bilateral": None
            if sums_only
            else "region_sides.csv: right, midline, left and bilateral importance per "
            "region and class, with an asymmetry index and its interval over subjects",
            "intervals": f"95% percentile, bootstrap over subjects ({n_boot} replicates)",
            "contrasts": [list(c) for c in contrasts],
        }
        write_json(tmp / "explain.json", {**info, "mesh": expl.mesh.to_dict()})
    return Path(out)
