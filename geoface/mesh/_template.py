"""The canonical 68-point face template and how it is built.

The built-in template (``geoface/data/template.json``) is the symmetrised
Procrustes mean of the 50 HELEN test faces with 300-W annotations; only the
resulting 68×2 numbers ship with geoface. ``scripts/make_template.py`` rebuilds
it from those annotations with :func:`build_template`, which is also what
:meth:`geoface.mesh.Mesh.fit` runs on a user's own landmarks (e.g. to get
infant proportions).

Template coordinates are in units of the inter-ocular distance (eye centres),
with the origin midway between the eye centres, ``x`` towards the image right
(the subject's left) and ``y`` downwards, as in image coordinates.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from .._convention import MIRROR_PERMUTATION, inter_ocular_distance
from .._errors import GeofaceError
from ._procrustes import generalized_procrustes, mirror_shapes

__all__ = ["build_template", "canonical_frame", "default_template", "symmetrise"]


def canonical_frame(shape: np.ndarray) -> np.ndarray:
    """Put one face in the template frame.

    Rotates the face so that the line from the right to the left eye centre
    is horizontal, scales it to an inter-ocular distance of 1 and moves the
    midpoint of the eye centres to the origin.

    Parameters
    ----------
    shape : ndarray of shape (68, 2)

    Returns
    -------
    shape : ndarray of shape (68, 2)
    """
    shape = np.asarray(shape, dtype=float)
    right = shape[36:42].mean(axis=0)
    left = shape[42:48].mean(axis=0)
    d = left - right
    iod = float(np.hypot(*d))
    if not np.isfinite(iod) or iod <= 0:
        raise GeofaceError("cannot put a face with zero or non-finite IOD in the template frame")
    theta = np.arctan2(d[1], d[0])
    c, s = np.cos(-theta), np.sin(-theta)
    rot = np.array([[c, -s], [s, c]])
    return ((shape - (right + left) / 2) @ rot.T) / iod


def symmetrise(shape: np.ndarray) -> np.ndarray:
    """Make a face in the template frame exactly left–right symmetric.

    Each point is averaged with its mirror partner reflected about ``x = 0``,
    so midline points get ``x = 0`` exactly and partners are exact mirror
    images.

    Parameters
    ----------
    shape : ndarray of shape (68, 2)
        A face in :func:`canonical_frame`.

    Returns
    -------
    shape : ndarray of shape (68, 2)
    """
    shape = np.asarray(shape, dtype=float)
    out = np.empty_like(shape)
    out[:, 0] = (shape[:, 0] - shape[MIRROR_PERMUTATION, 0]) / 2.0
    out[:, 1] = (shape[:, 1] + shape[MIRROR_PERMUTATION, 1]) / 2.0
    return out


def build_template(shapes: np.ndarray, *, decimals: int = 6) -> np.ndarray:
    """Build a symmetric canonical template from a set of annotated faces.

    Runs a generalised Procrustes analysis on the faces together with their
    mirror images, puts the mean in :func:`canonical_frame`, symmetrises it
    exactly and rounds it.

    Parameters
    ----------
    shapes : ndarray of shape (n_faces, 68, 2)
        At least two faces with finite landmarks.
    decimals : int, default=6
        Rounding of the result (template units are inter-ocular distances).

    Returns
    -------
    template : ndarray of shape (68, 2)
    """
    shapes = np.asarray(shapes, dtype=float)
    if shapes.ndim != 3 or shapes.shape[1:] != (68, 2):
        raise GeofaceError(f"shapes has shape {shapes.shape}; expected (n_faces, 68, 2)")
    ok = np.isfinite(shapes).all(axis=(1, 2)) & (inter_ocular_distance(shapes) > 0)
    if ok.sum() < 2:
        raise GeofaceError(
            f"building a template needs at least 2 faces with finite landmarks; got {ok.sum()}"
        )
    both = np.concatenate([shapes[ok], mirror_shapes(shapes[ok])])
    mean = generalized_procrustes(both)
    template = symmetrise(canonical_frame(mean))
    # rounding keeps exact symmetry: x and -x round alike, partners share y
    return np.round(template, decimals) + 0.0


@lru_cache(maxsize=1)
def _load_default() -> tuple[np.ndarray, dict]:
    raw = resources.files("geoface").joinpath("data/template.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    pts = np.asarray(doc["points"], dtype=float)
    pts.setflags(write=False)
    return pts, doc


def default_template() -> np.ndarray:
    """The built-in canonical template.

    Returns
    -------
    template : ndarray of shape (68, 2)
        Read-only; in inter-ocular-distance units (see the module docstring).
    """
    return _load_default()[0]
