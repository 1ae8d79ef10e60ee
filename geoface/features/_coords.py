"""Aligned landmark coordinates: an optional feature block beside the mesh features.

Each face is aligned to the mesh template by the least-squares similarity
transform (Procrustes: translation, rotation, uniform scale over all 68
points) and its points are read in the template's frame, centred on the
template's centroid and measured in the template's inter-ocular distances.
Because the template is left–right symmetric about ``x = 0``, a mirrored
face aligns to the mirror image of the aligned face, so the block is kept
mirror-consistent by writing each point's horizontal coordinate as its
*lateral* distance from the midline (outward positive: ``x`` for points of
the subject's left side, ``-x`` for the right side) and its vertical
coordinate as it is (image down positive). A mirror then only swaps paired
points, a permutation (:func:`coord_mirror`). The horizontal coordinate of
the 10 midline points (chin, nose bridge, nose tip, lip centres) would
change sign under a mirror, and is left out; their asymmetry still shows in
the lateral coordinates of the paired points around them.

Names: ``pt_36_lateral`` and ``pt_36_vertical`` (point 36, two digits).
"""

from __future__ import annotations

import numpy as np

from .._convention import MIRROR_PERMUTATION, inter_ocular_distance
from .._errors import GeofaceError

__all__ = ["COORD_CHOICES", "aligned_coordinates", "coord_mirror", "coord_names", "coord_points"]

#: Values of the ``coords`` option: no block, or the aligned coordinates.
COORD_CHOICES = ("none", "aligned")


def check_coords(coords: str) -> str:
    """Return ``coords`` if it is one of :data:`COORD_CHOICES`, else raise a one-line error."""
    if coords not in COORD_CHOICES:
        raise GeofaceError(
            f"coords={coords!r} is not one of {set(COORD_CHOICES)}; 'aligned' adds the "
            "Procrustes-aligned landmark coordinates beside the mesh features"
        )
    return coords


def coord_points() -> list[tuple[int, str]]:
    """The (point, axis) pairs of the block, in column order.

    Every point's ``vertical`` coordinate, and the ``lateral`` one of every
    point that has a mirror partner (points 0–67 in order, lateral first).
    """
    out = []
    for i in range(len(MIRROR_PERMUTATION)):
        if MIRROR_PERMUTATION[i] != i:
            out.append((i, "lateral"))
        out.append((i, "vertical"))
    return out


def coord_names() -> list[str]:
    """Column names of the block: ``pt_00_lateral``, ``pt_00_vertical``, …"""
    return [f"pt_{i:02d}_{axis}" for i, axis in coord_points()]


def coord_mirror() -> np.ndarray:
    """Permutation ``p`` of the block with ``block(mirror(face))[:, j] == block(face)[:, p[j]]``."""
    pts = coord_points()
    where = {key: k for k, key in enumerate(pts)}
    return np.array([where[(int(MIRROR_PERMUTATION[i]), axis)] for i, axis in pts], np.int64)


def aligned_coordinates(landmarks: np.ndarray, template: np.ndarray, *, iod: str = "centres"):
    """The block for a batch of faces.

    Parameters
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
    template : ndarray of shape (68, 2)
        A left–right symmetric template (the mesh's), symmetric about ``x = 0``.
    iod : {"centres", "corners"}, default="centres"
        How the template's inter-ocular distance, the unit, is measured.

    Returns
    -------
    block : ndarray of shape (n_faces, len(coord_names()))
        NaN for faces with non-finite points or no spread.
    """
    from ..mesh import align_to

    template = np.asarray(template, dtype=float)
    aligned = align_to(np.asarray(landmarks, dtype=float), template)
    unit = float(inter_ocular_distance(template[None], iod)[0])
    centre = template.mean(axis=0)
    side = np.sign(template[:, 0])
    pts = coord_points()
    idx = np.array([i for i, _ in pts])
    is_lat = np.array([axis == "lateral" for _, axis in pts])
    x = (aligned[:, idx, 0] - centre[0]) * side[idx]
    y = aligned[:, idx, 1] - centre[1]
    return np.where(is_lat, x, y) / unit
