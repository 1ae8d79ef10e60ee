"""Stable, self-describing feature names and the feature → vertices → region map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..mesh import Mesh, region_of, side_of
from ._coords import check_coords, coord_mirror, coord_names

__all__ = ["coords_of", "feature_map", "feature_mirror", "feature_names"]


def feature_names(mesh: Mesh, coords: str = "none") -> list[str]:
    """Names of the features of ``mesh``, in the order of the feature matrix.

    All triangle areas first (``tri_041_area``), then each triangle's three
    interior angles (``tri_041_angle_1`` … ``_3``, at its vertices in
    increasing index order), then edge strains (``edge_087_strain``), then,
    with ``coords="aligned"``, the aligned landmark coordinates
    (``pt_36_lateral``, ``pt_36_vertical``; see :mod:`geoface.features._coords`).
    """
    t, e = mesh.n_triangles, mesh.n_edges
    names = [f"tri_{k:03d}_area" for k in range(t)]
    names += [f"tri_{k:03d}_angle_{j}" for k in range(t) for j in (1, 2, 3)]
    names += [f"edge_{k:03d}_strain" for k in range(e)]
    if check_coords(coords) == "aligned":
        names += coord_names()
    return names


def coords_of(names) -> str:
    """The ``coords`` option a list of feature names was made with (``"none"`` or ``"aligned"``)."""
    return "aligned" if any(str(n).startswith("pt_") for n in names) else "none"


def feature_map(mesh: Mesh, coords: str = "none") -> pd.DataFrame:
    """One row per feature: what it measures, on which vertices, in which region.

    Columns: ``feature, kind`` (area, angle, strain), ``element`` (triangle or
    edge), ``element_index``, ``vertices`` (landmark indices joined by ``-``),
    ``apex`` (the vertex of an angle, else -1), ``region``, ``side`` and
    ``label``, a readable name such as ``"mouth · tri 41 area"``. With
    ``coords="aligned"`` the aligned coordinates follow (kind ``coord``,
    element ``point``, the point's own region and side).
    """
    rows = []
    tri = mesh.triangles.tolist()
    for k, verts in enumerate(tri):
        rows.append(("area", "triangle", k, verts, -1))
    for k, verts in enumerate(tri):
        for j in range(3):
            rows.append((f"angle_{j + 1}", "triangle", k, verts, verts[j]))
    for k, verts in enumerate(mesh.edges.tolist()):
        rows.append(("strain", "edge", k, verts, -1))
    names = feature_names(mesh)
    out = []
    for name, (measure, element, k, verts, apex) in zip(names, rows, strict=True):
        is_tri = element == "triangle"
        region = (mesh.triangle_regions if is_tri else mesh.edge_regions)[k]
        side = (mesh.triangle_sides if is_tri else mesh.edge_sides)[k]
        short = "tri" if is_tri else "edge"
        what = measure.replace("_", " ") if measure != "strain" else "strain"
        out.append(
            {
                "feature": name,
                "kind": measure.split("_")[0],
                "element": element,
                "element_index": k,
                "vertices": "-".join(str(v) for v in verts),
                "apex": apex,
                "region": str(region),
                "side": str(side),
                "label": f"{region} · {short} {k} {what}",
            }
        )
    if check_coords(coords) == "aligned":
        from ._coords import coord_points

        for (i, axis), name in zip(coord_points(), coord_names(), strict=True):
            region = region_of([i])
            out.append(
                {
                    "feature": name,
                    "kind": "coord",
                    "element": "point",
                    "element_index": i,
                    "vertices": str(i),
                    "apex": -1,
                    "region": region,
                    "side": side_of([i], mesh.template),
                    "label": f"{region} · point {i} {axis}",
                }
            )
    return pd.DataFrame(out)


def feature_mirror(mesh: Mesh, coords: str = "none") -> np.ndarray:
    """Permutation ``p`` with ``features(mirror(face))[:, j] == features(face)[:, p[j]]``.

    Mirroring a face maps each triangle onto its mirror triangle and each
    angle onto the angle at the mirrored apex; with ``coords="aligned"`` each
    aligned coordinate onto the same coordinate of the mirror point.
    """
    from .._convention import MIRROR_PERMUTATION

    t, e = mesh.n_triangles, mesh.n_edges
    perm = np.empty(4 * t + e, dtype=np.int64)
    perm[:t] = mesh.triangle_mirror
    tri = mesh.triangles
    for k in range(t):
        m = mesh.triangle_mirror[k]
        # angle j of triangle k in the mirrored face sits at vertex tri[k, j];
        # that vertex is the mirror of vertex MIRROR[tri[k, j]] of triangle m
        for j in range(3):
            src = MIRROR_PERMUTATION[tri[k, j]]
            jj = int(np.flatnonzero(tri[m] == src)[0])
            perm[t + 3 * k + j] = t + 3 * m + jj
    perm[4 * t :] = 4 * t + mesh.edge_mirror
    if check_coords(coords) == "aligned":
        perm = np.concatenate([perm, len(perm) + coord_mirror()])
    return perm
