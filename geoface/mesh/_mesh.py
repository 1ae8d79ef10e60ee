"""The frozen, mirror-symmetric Delaunay mesh over the 68 landmarks.

The mesh is triangulated once on a canonical template and its vertex index
triples are then reused for every face, so triangle ``k`` is the same patch of
face everywhere. It is built in three steps:

1. **Delaunay** triangulation of the (exactly symmetric) template.
2. **Peeling** of slivers on the convex hull: a boundary triangle whose
   smallest interior angle is below ``min_angle`` degrees (10 by default) is
   removed, repeatedly, until none is left. These are the long thin triangles
   that span the forehead above the brow arches, where there are no landmarks.
3. **Mirror closure**: the mesh is made the union of itself and its mirror
   image. Pairs of points mirrored across the midline form isosceles
   trapezoids, which are always cocircular, so Delaunay's choice of diagonal
   there is arbitrary and breaks symmetry; the closure keeps *both* diagonal
   splits of such a trapezoid (its four triangles overlap, which is harmless
   for geometric measurements). On the built-in template the peeled
   triangulation is already symmetric and the closure adds nothing.

Triangles are stored with their vertices in increasing order and listed in
lexicographic order; edges are the sorted vertex pairs of the triangles, in
lexicographic order.

The mesh also fixes how its triangles' angles are measured: each angle is
that of the triangle whose squared side lengths are the face's plus
``(angle_regularisation * IOD) ** 2`` (see
:func:`geoface.features.compute_geometry`), so an angle stays continuous when
two of its triangle's points coincide, as the inner-lip points do on a closed
mouth. The mesh hash is a SHA-256 over the template (rounded to 1e-6), the
triangles and, when it is not zero, the angle regularisation, so two tables
share a hash exactly when their features mean the same thing. Meshes saved
before the regularisation existed load with ``angle_regularisation=0.0`` and
keep their hash, so their tables and models stay self-consistent and are
refused beside tables of the regularised mesh.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from scipy.spatial import Delaunay

from .._convention import MIRROR_PERMUTATION, N_LANDMARKS
from .._errors import GeofaceError
from ._regions import region_of, side_of
from ._template import build_template, default_template

__all__ = ["DEFAULT_ANGLE_REGULARISATION", "Mesh", "triangulate_symmetric"]

#: Regularisation of triangle angles, as a fraction of the inter-ocular
#: distance (IOD): well below the inner-lip spacing of an open mouth
#: (about 0.1 IOD) and about the size of a landmark fit's pixel noise on a
#: 128-pixel face, so it bends ordinary angles by a fraction of a degree and
#: only decides the angles of triangles that are (nearly) collapsed.
DEFAULT_ANGLE_REGULARISATION = 0.01


def _interior_angles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    p = points[triangles]  # (T, 3, 2)
    angles = np.empty(triangles.shape, dtype=float)
    for i in range(3):
        u = p[:, (i + 1) % 3] - p[:, i]
        v = p[:, (i + 2) % 3] - p[:, i]
        cross = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
        angles[:, i] = np.degrees(np.arctan2(cross, (u * v).sum(axis=1)))
    return angles


def _canonical(triangles: np.ndarray) -> np.ndarray:
    tri = np.sort(np.asarray(triangles, dtype=np.int64), axis=1)
    tri = np.unique(tri, axis=0)  # unique also sorts lexicographically
    return tri


def _mirror(simplices: np.ndarray) -> np.ndarray:
    return np.sort(MIRROR_PERMUTATION[simplices], axis=1)


def triangulate_symmetric(template: np.ndarray, *, min_angle: float = 10.0) -> np.ndarray:
    """Triangulate a symmetric template: Delaunay, peel hull slivers, mirror closure.

    Parameters
    ----------
    template : ndarray of shape (68, 2)
        A left–right symmetric template (see :func:`geoface.mesh.symmetrise`).
    min_angle : float, default=10.0
        Boundary triangles with a smaller smallest angle (degrees) are peeled.

    Returns
    -------
    triangles : ndarray of shape (n_triangles, 3)
        Vertex indices, each row increasing, rows in lexicographic order.
    """
    template = np.asarray(template, dtype=float)
    tri = _canonical(Delaunay(template).simplices)
    while True:
        edges = np.sort(tri[:, [0, 1, 0, 2, 1, 2]].reshape(-1, 2), axis=1)
        _, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
        on_hull = (counts[inverse.reshape(-1)] == 1).reshape(-1, 3).any(axis=1)
        sliver = _interior_angles(template, tri).min(axis=1) < min_angle
        drop = on_hull & sliver
        if not drop.any():
            break
        tri = tri[~drop]
        if len(tri) == 0:
            raise GeofaceError(
                f"min_angle={min_angle} peels away every triangle; use a smaller one"
            )
    return _canonical(np.concatenate([tri, _mirror(tri)]))


class Mesh:
    """A frozen triangulation of the 68 landmarks with regions and a hash.

    Build it with :meth:`default` (the built-in template), :meth:`from_template`
    or :meth:`fit` (the symmetrised Procrustes mean of your own landmarks);
    save and load it with :meth:`to_dict` / :meth:`from_dict`.

    Parameters
    ----------
    template : ndarray of shape (68, 2)
        Symmetric template in inter-ocular-distance units.
    triangles : ndarray of shape (n_triangles, 3)
        Vertex index triples, as :func:`triangulate_symmetric` returns them.
    angle_regularisation : float, default=DEFAULT_ANGLE_REGULARISATION
        Length, in inter-ocular distances, that regularises triangle angles
        (0.0 gives the plain angles, which jump between 0 and 180 degrees
        when two points of a triangle coincide).

    Attributes
    ----------
    edges : ndarray of shape (n_edges, 2)
    triangle_regions, edge_regions : ndarray of str
    triangle_sides, edge_sides : ndarray of str
    triangle_mirror, edge_mirror : ndarray of int
        Index of each simplex's mirror image in the mesh.
    hash : str
        16 hex digits identifying template and triangles.
    """

    def __init__(
        self,
        template: np.ndarray,
        triangles: np.ndarray,
        *,
        angle_regularisation: float = DEFAULT_ANGLE_REGULARISATION,
    ):
        template = np.array(template, dtype=float)
        if template.shape != (N_LANDMARKS, 2) or not np.isfinite(template).all():
            raise GeofaceError(f"template has shape {template.shape}; expected finite (68, 2)")
        tri = np.asarray(triangles, dtype=np.int64)
        if tri.ndim != 2 or tri.shape[1] != 3 or tri.min() < 0 or tri.max() >= N_LANDMARKS:
            raise GeofaceError("triangles must be an (n, 3) array of landmark indices 0..67")
        canon = _canonical(tri)
        if len(canon) != len(tri) or not np.array_equal(canon, tri):
            raise GeofaceError("triangles must be unique, each row increasing, rows sorted")
        reg = float(angle_regularisation)
        if not (np.isfinite(reg) and 0.0 <= reg < 1.0):
            raise GeofaceError(
                f"angle_regularisation={angle_regularisation!r} is not a finite number in "
                f"[0, 1); use a small fraction of the inter-ocular distance such as "
                f"{DEFAULT_ANGLE_REGULARISATION}"
            )
        template.setflags(write=False)
        tri.setflags(write=False)
        self.template = template
        self.triangles = tri
        self.angle_regularisation = reg

    # ------------------------------------------------------------------ building
    @classmethod
    def from_template(
        cls,
        template: np.ndarray,
        *,
        min_angle: float = 10.0,
        angle_regularisation: float = DEFAULT_ANGLE_REGULARISATION,
    ) -> Mesh:
        """Triangulate ``template`` (see :func:`triangulate_symmetric`)."""
        return cls(
            template,
            triangulate_symmetric(template, min_angle=min_angle),
            angle_regularisation=angle_regularisation,
        )

    @classmethod
    def default(cls) -> Mesh:
        """The mesh of the built-in template (cached)."""
        return _default_mesh()

    @classmethod
    def fit(
        cls,
        landmarks: np.ndarray,
        *,
        min_angle: float = 10.0,
        angle_regularisation: float = DEFAULT_ANGLE_REGULARISATION,
    ) -> Mesh:
        """Build a mesh on the symmetrised Procrustes mean of ``landmarks``.

        Parameters
        ----------
        landmarks : ndarray of shape (n_faces, 68, 2)
            E.g. the training faces of an infant dataset; non-finite faces
            are ignored.
        min_angle : float, default=10.0
        angle_regularisation : float, default=DEFAULT_ANGLE_REGULARISATION

        Returns
        -------
        mesh : Mesh
        """
        return cls.from_template(
            build_template(landmarks),
            min_angle=min_angle,
            angle_regularisation=angle_regularisation,
        )

    # ------------------------------------------------------------- derived data
    @cached_property
    def edges(self) -> np.ndarray:
        e = self.triangles[:, [0, 1, 0, 2, 1, 2]].reshape(-1, 2)
        e = np.unique(e, axis=0)
        e.setflags(write=False)
        return e

    @cached_property
    def triangle_edges(self) -> np.ndarray:
        """Edge indices of each triangle's sides ``(a,b), (a,c), (b,c)``: shape (T, 3)."""
        lookup = {tuple(e): i for i, e in enumerate(self.edges.tolist())}
        t = self.triangles.tolist()
        out = np.array([[lookup[(a, b)], lookup[(a, c)], lookup[(b, c)]] for a, b, c in t])
        out.setflags(write=False)
        return out

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @cached_property
    def triangle_regions(self) -> np.ndarray:
        return np.array([region_of(t) for t in self.triangles.tolist()])

    @cached_property
    def edge_regions(self) -> np.ndarray:
        return np.array([region_of(e) for e in self.edges.tolist()])

    @cached_property
    def triangle_sides(self) -> np.ndarray:
        return np.array([side_of(t, self.template) for t in self.triangles.tolist()])

    @cached_property
    def edge_sides(self) -> np.ndarray:
        return np.array([side_of(e, self.template) for e in self.edges.tolist()])

    def _mirror_index(self, simplices: np.ndarray) -> np.ndarray:
        lookup = {tuple(s): i for i, s in enumerate(simplices.tolist())}
        mirrored = _mirror(simplices).tolist()
        try:
            return np.array([lookup[tuple(m)] for m in mirrored])
        except KeyError:
            raise GeofaceError("this mesh is not mirror-symmetric") from None

    @cached_property
    def triangle_mirror(self) -> np.ndarray:
        return self._mirror_index(self.triangles)

    @cached_property
    def edge_mirror(self) -> np.ndarray:
        return self._mirror_index(self.edges)

    @property
    def is_symmetric(self) -> bool:
        """True when the mirror image of every triangle is a triangle of the mesh."""
        mirrored = {tuple(m) for m in _mirror(self.triangles).tolist()}
        return mirrored == {tuple(t) for t in self.triangles.tolist()}

    @cached_property
    def hash(self) -> str:
        doc: dict[str, Any] = {
            "template": np.round(self.template, 6).tolist(),
            "triangles": self.triangles.tolist(),
        }
        if self.angle_regularisation:
            # absent for 0.0, so meshes saved before it existed keep their hash
            doc["angle_regularisation"] = self.angle_regularisation
        blob = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: template, triangles, edges, regions and hash."""
        return {
            "hash": self.hash,
            "n_triangles": self.n_triangles,
            "n_edges": self.n_edges,
            "template": np.round(self.template, 6).tolist(),
            "triangles": self.triangles.tolist(),
            "angle_regularisation": self.angle_regularisation,
            "edges": self.edges.tolist(),
            "triangle_regions": self.triangle_regions.tolist(),
            "edge_regions": self.edge_regions.tolist(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Mesh:
        """Rebuild a mesh saved by :meth:`to_dict`, checking its hash.

        A description without ``angle_regularisation`` was saved before it
        existed and gets 0.0 (the plain angles its features were built with).
        """
        try:
            mesh = cls(
                np.asarray(doc["template"]),
                np.asarray(doc["triangles"]),
                angle_regularisation=doc.get("angle_regularisation", 0.0),
            )
        except KeyError as exc:
            raise GeofaceError(f"mesh description lacks {exc.args[0]!r}") from None
        if "hash" in doc and doc["hash"] != mesh.hash:
            raise GeofaceError(
                f"mesh hash {doc['hash']} does not match its content ({mesh.hash}); "
                "the saved mesh was edited or corrupted"
            )
        return mesh

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mesh) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"Mesh(n_triangles={self.n_triangles}, n_edges={self.n_edges}, hash={self.hash!r})"


@lru_cache(maxsize=1)
def _default_mesh() -> Mesh:
    return Mesh.from_template(default_template())
