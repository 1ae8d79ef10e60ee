"""The feature → element → region hierarchy that SHAP values are summed along.

Every feature belongs to one mesh *element* — a triangle (its area and its
three angles), an edge (its strain) or, for the aligned landmark coordinates
(``extract --coords aligned``), a landmark *point* (its ``lateral`` and
``vertical`` coordinates) — and every element to one facial *region* and side
(see :mod:`geoface.mesh._regions`), exactly as the table's feature map
(:func:`geoface.features.feature_map`) places it. SHAP values are additive, so the
attribution of an element or a region is the **sum of the signed values of
its features**: nothing is lost, and for every face and class the region
totals add up to exactly the same number as the feature values (the model's
output minus the base value).

The same hierarchy, made binary, is the coalition structure the model-agnostic
*partition* explainer uses (:meth:`FeatureHierarchy.linkage`): features of a
triangle (or the two coordinates of a point) are grouped first, then the
elements of a region (right side, then midline, then left), then regions
along :data:`REGION_TREE`, which follows the Facial Action Coding System's
split of the face into an upper face (brows, glabella, eyes) and a lower face
(nose, cheeks, mouth, jaw). Region values from that explainer are therefore
Owen values for this hierarchy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..mesh import REGIONS, SIDES, Mesh, region_of, side_of

__all__ = ["REGION_TREE", "FeatureHierarchy"]

#: Nested pairs of regions: the top of the partition hierarchy (upper face | lower face).
REGION_TREE: tuple = ((("brows", "glabella"), "eyes"), (("nose", "cheeks"), ("mouth", "jaw")))


@dataclass(frozen=True)
class _Node:
    index: int
    size: int


class _LinkageBuilder:
    """Accumulates rows ``[left, right, height, size]`` of a SciPy-style linkage matrix."""

    def __init__(self, n_leaves: int):
        self.n_leaves = n_leaves
        self.rows: list[list[float]] = []

    def merge(self, nodes: list[_Node], height: float) -> _Node:
        """Merge ``nodes`` into one by a balanced binary tree, all merges at ``height``."""
        if not nodes:
            raise ValueError("nothing to merge")
        while len(nodes) > 1:
            merged = []
            for i in range(0, len(nodes) - 1, 2):
                a, b = nodes[i], nodes[i + 1]
                self.rows.append([a.index, b.index, height, a.size + b.size])
                merged.append(_Node(self.n_leaves + len(self.rows) - 1, a.size + b.size))
            if len(nodes) % 2:
                merged.append(nodes[-1])
            nodes = merged
        return nodes[0]

    def array(self) -> np.ndarray:
        return np.asarray(self.rows, dtype=float).reshape(-1, 4)


class FeatureHierarchy:
    """How the features of a mesh group into elements and regions.

    Parameters
    ----------
    mesh : Mesh
    extra : mapping of str to sequence of str, optional
        Pseudo-regions for columns beyond the face's features, in the order
        the model reads them after the face's features: name → feature names
        (e.g. ``{"cnn": ["cnn_pc_01", …]}``).
    features : sequence of str, optional
        The face's feature columns the model reads, in its order (a table's
        ``feature_names``): mesh features and, with ``extract --coords
        aligned``, the aligned landmark coordinates (``pt_36_lateral``).
        Each is placed by the feature map; a column the map cannot place is
        refused with a one-line :class:`~geoface.GeofaceError`. By default
        all the mesh's features, without coordinates.

    Attributes
    ----------
    feature_map : DataFrame
        The rows of :func:`geoface.features.feature_map` of the features, in
        their order (kind ``coord``, element ``point`` for a coordinate), then
        one row per extra feature (``element`` ``"embedding"``).
    regions : list of str
        The regions that hold features, in :data:`geoface.mesh.REGIONS` order,
        then the pseudo-regions.
    elements : DataFrame
        One row per element, triangles first, then edges, then — when a
        coordinate is among the features — the 68 landmark points, then one
        per pseudo-region: ``element`` (``triangle``/``edge``/``point``/
        ``embedding``), ``element_index`` (a point's is its landmark index),
        ``key`` (``tri_041``, ``edge_087``, ``pt_36``, ``cnn``), ``region``,
        ``side``, ``vertices``, ``n_features`` and ``label``
        (``"mouth · tri 41"``, ``"eyes · point 36"``).
    """

    def __init__(
        self,
        mesh: Mesh,
        extra: Mapping[str, Sequence[str]] | None = None,
        *,
        features: Sequence[str] | None = None,
    ):
        from ..features import feature_map

        self.mesh = mesh
        self.extra = {str(k): [str(f) for f in v] for k, v in (extra or {}).items()}
        clash = [k for k in self.extra if k in REGIONS]
        if clash:
            raise ValueError(f"pseudo-region(s) {clash} clash with facial regions")
        rows = [
            {
                "feature": name,
                "kind": "embedding",
                "element": "embedding",
                "element_index": j,
                "vertices": "",
                "apex": -1,
                "region": region,
                "side": "midline",
                "label": f"{region} · {name}",
            }
            for j, (region, names) in enumerate(self.extra.items())
            for name in names
        ]
        fmap = _place(mesh, features, feature_map)
        self.feature_map = pd.concat([fmap, pd.DataFrame(rows, columns=fmap.columns)])
        self.feature_map = self.feature_map.reset_index(drop=True)
        present = set(self.feature_map["region"])
        self.regions = [r for r in REGIONS if r in present]
        self.regions += [r for r in self.extra if r in present]

    @cached_property
    def n_points(self) -> int:
        """Point elements: the mesh's landmarks when a coordinate is a feature, else 0."""
        has = (self.feature_map["element"] == "point").any()
        return len(self.mesh.template) if has else 0

    @cached_property
    def mirror(self) -> np.ndarray:
        """The mirror permutation of the features: shape (n_features,).

        :func:`geoface.features.feature_mirror` (a coordinate's partner is the
        same coordinate of the mirror point, :func:`geoface.features.coord_mirror`)
        restricted to these features; a feature whose partner is not among
        them, and every pseudo-region column, maps to itself.
        """
        from ..features import coords_of, feature_map, feature_mirror

        names = self.feature_map["feature"].astype(str).tolist()
        coords = coords_of(names)
        full = feature_map(self.mesh, coords)["feature"].astype(str).to_numpy()
        partner = dict(zip(full, full[feature_mirror(self.mesh, coords)], strict=True))
        where = {n: j for j, n in enumerate(names)}
        return np.array([where.get(partner.get(n, n), j) for j, n in enumerate(names)])

    @cached_property
    def feature_kinds(self) -> dict[str, int]:
        """Number of features of each kind (``area``, ``angle``, ``strain``, ``coord``, …)."""
        counts = self.feature_map["kind"].value_counts(sort=False)
        return {str(k): int(n) for k, n in counts.items()}

    @property
    def n_features(self) -> int:
        return len(self.feature_map)

    @cached_property
    def element_of_feature(self) -> np.ndarray:
        """Row of :attr:`elements` each feature belongs to: shape (n_features,)."""
        fmap = self.feature_map
        t, e = self.mesh.n_triangles, self.mesh.n_edges
        offset = fmap["element"].map({"triangle": 0, "edge": t, "point": t + e})
        offset = offset.fillna(t + e + self.n_points)  # pseudo-regions
        return (offset + fmap["element_index"]).to_numpy().astype(np.int64)

    @cached_property
    def region_of_feature(self) -> np.ndarray:
        """Index into :attr:`regions` of each feature's region: shape (n_features,)."""
        return np.asarray(pd.Index(self.regions).get_indexer(self.feature_map["region"]))

    @cached_property
    def elements(self) -> pd.DataFrame:
        mesh = self.mesh
        n_elements = mesh.n_triangles + mesh.n_edges + self.n_points + len(self.extra)
        counts = np.bincount(self.element_of_feature, minlength=n_elements)
        rows = []
        for kind, simplices, regions, sides, short in (
            ("triangle", mesh.triangles, mesh.triangle_regions, mesh.triangle_sides, "tri"),
            ("edge", mesh.edges, mesh.edge_regions, mesh.edge_sides, "edge"),
        ):
            for k, verts in enumerate(simplices.tolist()):
                rows.append(
                    {
                        "element": kind,
                        "element_index": k,
                        "key": f"{short}_{k:03d}",
                        "region": str(regions[k]),
                        "side": str(sides[k]),
                        "vertices": "-".join(str(v) for v in verts),
                        "label": f"{regions[k]} · {short} {k}",
                    }
                )
        for i in range(self.n_points):
            region = region_of([i])
            rows.append(
                {
                    "element": "point",
                    "element_index": i,
                    "key": f"pt_{i:02d}",
                    "region": region,
                    "side": side_of([i], mesh.template),
                    "vertices": str(i),
                    "label": f"{region} · point {i}",
                }
            )
        for j, region in enumerate(self.extra):
            rows.append(
                {
                    "element": "embedding",
                    "element_index": j,
                    "key": region,
                    "region": region,
                    "side": "midline",
                    "vertices": "",
                    "label": f"{region} · embedding",
                }
            )
        frame = pd.DataFrame(rows)
        frame["n_features"] = counts
        return frame

    @cached_property
    def region_sizes(self) -> np.ndarray:
        """Number of features in each region of :attr:`regions`: shape (n_regions,)."""
        return np.bincount(self.region_of_feature, minlength=len(self.regions))

    # ----------------------------------------------------------------- summing
    def _sum(self, values: np.ndarray, index: np.ndarray, n_groups: int) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if values.ndim < 2 or values.shape[-2] != self.n_features:
            raise ValueError(
                f"values of shape {values.shape} do not hold {self.n_features} features "
                "on their second-last axis"
            )
        moved = np.moveaxis(values, -2, 0)  # (F, ..., K)
        order = np.argsort(index, kind="stable")
        groups, starts = np.unique(index[order], return_index=True)
        out = np.zeros((n_groups, *moved.shape[1:]))
        out[groups] = np.add.reduceat(moved[order], starts, axis=0)
        return np.moveaxis(out, 0, -2)

    def to_elements(self, values: np.ndarray) -> np.ndarray:
        """Sum feature values into elements.

        Parameters
        ----------
        values : ndarray of shape (..., n_features, n_outputs)

        Returns
        -------
        ndarray of shape (..., n_elements, n_outputs)
            Rows in :attr:`elements` order (triangles, edges, points, pseudo-regions).
        """
        return self._sum(values, self.element_of_feature, len(self.elements))

    def to_regions(self, values: np.ndarray) -> np.ndarray:
        """Sum feature values into regions.

        Parameters
        ----------
        values : ndarray of shape (..., n_features, n_outputs)

        Returns
        -------
        ndarray of shape (..., n_regions, n_outputs)
            Regions in :attr:`regions` order.
        """
        return self._sum(values, self.region_of_feature, len(self.regions))

    # -------------------------------------------------------- partition tree
    def linkage(self) -> np.ndarray:
        """The hierarchy as a binary SciPy-style linkage matrix over the features.

        Leaves are the features (in feature order). A triangle's four features
        (and a point's two coordinates) merge first (height 1), then each
        region's elements by side — right, midline, left — (heights 2 and 3), then the regions along
        :data:`REGION_TREE` (heights 4 and up). Used as the clustering of
        SHAP's partition masker, so that the explainer's coalitions are
        triangles, regions and halves of the face.

        Returns
        -------
        ndarray of shape (n_features - 1, 4)
        """
        builder = _LinkageBuilder(self.n_features)
        element_nodes: dict[int, _Node] = {}
        for e, members in pd.Series(np.arange(self.n_features)).groupby(
            self.element_of_feature, sort=True
        ):
            leaves = [_Node(int(i), 1) for i in members]
            element_nodes[int(e)] = builder.merge(leaves, 1.0)
        elements = self.elements
        region_nodes: dict[str, _Node] = {}
        for region in self.regions:
            side_nodes = []
            for side in SIDES:
                rows = elements.index[
                    (elements["region"] == region) & (elements["side"] == side)
                ].tolist()
                nodes = [element_nodes[i] for i in rows if i in element_nodes]
                if nodes:
                    side_nodes.append(builder.merge(nodes, 2.0))
            region_nodes[region] = builder.merge(side_nodes, 3.0)

        def build(tree, depth: int) -> tuple[_Node | None, int]:
            if isinstance(tree, str):
                return region_nodes.pop(tree, None), 0
            built = [build(t, depth + 1) for t in tree]
            nodes = [n for n, _ in built if n is not None]
            height = 1 + max((h for _, h in built), default=0)
            if not nodes:
                return None, height
            if len(nodes) == 1:
                return nodes[0], height
            return builder.merge(nodes, 3.0 + height), height

        top, height = build(REGION_TREE, 0)
        rest = [top] if top is not None else []
        rest += list(region_nodes.values())  # regions a custom tree does not name
        if len(rest) > 1:
            builder.merge(rest, 4.0 + height)
        return builder.array()


def _place(mesh: Mesh, features: Sequence[str] | None, feature_map) -> pd.DataFrame:
    """The feature-map rows of ``features``, in their order; one line for unplaceable columns."""
    from ..features import coords_of

    if features is None:
        return feature_map(mesh)
    features = [str(f) for f in features]
    full = feature_map(mesh, coords_of(features))
    pos = pd.Index(full["feature"]).get_indexer(features)
    unplaced = [f for f, p in zip(features, pos, strict=True) if p < 0]
    if unplaced:
        more = f" and {len(unplaced) - 3} more" if len(unplaced) > 3 else ""
        raise GeofaceError(
            f"feature column(s) {unplaced[:3]}{more} are not in the feature map of mesh "
            f"{mesh.hash} (mesh features tri_NNN_…/edge_NNN_strain and aligned coordinates "
            "pt_NN_lateral/pt_NN_vertical), so explain cannot place them in a region; "
            "re-extract the table with geoface extract"
        )
    return full.iloc[pos].reset_index(drop=True)
