"""Expressions as Action-Unit deformations of the face template.

Each Action Unit (AU) of the Facial Action Coding System (Ekman, Friesen &
Hager 2002) is modelled as a displacement of the landmarks it moves, in
inter-ocular distances on the upright template, at full (apex) intensity.
Displacements are written for the subject's right side and midline; the left
side is their mirror image, so every AU is symmetric. ``x`` points to the
image right (the subject's left), ``y`` down, so "up" is negative ``y`` and
"outward" on the right side is negative ``x``.

The seven expressions are the EMFACS-style prototype combinations
(Friesen & Ekman 1983; Matsumoto & Ekman's prototypes as summarised in the
FACS Investigator's Guide):

========  ==========================  =====================================
class     AUs                         meaning
========  ==========================  =====================================
anger     4 + 5 + 7 + 23              brows lowered, lids raised/tight, lips pressed
disgust   9 + 15 + 16                 nose wrinkled, lip corners and lower lip down
fear      1 + 2 + 4 + 5 + 7 + 20 + 26 brows raised and drawn, lips stretched, jaw drop
happy     6 + 12                      cheeks raised, lip corners pulled up
neutral   (none)
sad       1 + 4 + 15                  inner brows raised and drawn, corners down
surprise  1 + 2 + 5 + 26              brows raised, lids raised, jaw drop
========  ==========================  =====================================
"""

from __future__ import annotations

import numpy as np

from .._convention import MIRROR_PERMUTATION, N_LANDMARKS

__all__ = [
    "ACTION_UNITS",
    "EXPRESSIONS",
    "EXPRESSION_AUS",
    "au_displacement",
    "au_moved_regions",
    "expression_displacement",
    "moved_landmarks",
    "moved_regions",
]

#: geoface's seven classes, in the order every table and figure uses.
EXPRESSIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: The AUs of each expression's prototype.
EXPRESSION_AUS: dict[str, tuple[int, ...]] = {
    "anger": (4, 5, 7, 23),
    "disgust": (9, 15, 16),
    "fear": (1, 2, 4, 5, 7, 20, 26),
    "happy": (6, 12),
    "neutral": (),
    "sad": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
}

# point -> (dx, dy) on the subject's right side and midline, in IOD units
_AU_TABLE: dict[int, tuple[str, dict[int, tuple[float, float]]]] = {
    1: (
        "inner brow raiser",
        {21: (0.0, -0.13), 20: (0.0, -0.10), 19: (0.0, -0.05), 18: (0.0, -0.02)},
    ),
    2: (
        "outer brow raiser",
        {17: (0.0, -0.09), 18: (0.0, -0.12), 19: (0.0, -0.10), 20: (0.0, -0.04)},
    ),
    4: (
        "brow lowerer",
        {
            21: (0.06, 0.08),
            20: (0.04, 0.09),
            19: (0.02, 0.07),
            18: (0.0, 0.04),
            17: (0.0, 0.02),
            37: (0.0, 0.015),
            38: (0.0, 0.02),
        },
    ),
    5: (
        "upper lid raiser",
        {37: (0.0, -0.07), 38: (0.0, -0.07), 36: (0.0, -0.01), 39: (0.0, -0.01)},
    ),
    6: (
        "cheek raiser",
        {
            40: (0.0, -0.045),
            41: (0.0, -0.05),
            36: (0.005, -0.015),
            1: (0.01, -0.03),
            2: (0.01, -0.03),
            31: (0.0, -0.01),
        },
    ),
    7: ("lid tightener", {40: (0.0, -0.04), 41: (0.0, -0.04), 37: (0.0, 0.025), 38: (0.0, 0.025)}),
    9: (
        "nose wrinkler",
        {
            31: (0.015, -0.06),
            32: (0.0, -0.055),
            33: (0.0, -0.045),
            30: (0.0, -0.025),
            29: (0.0, -0.01),
            21: (0.02, 0.04),
            20: (0.0, 0.02),
            50: (0.0, -0.03),
            51: (0.0, -0.03),
            49: (0.0, -0.02),
            61: (0.0, -0.025),
            62: (0.0, -0.025),
        },
    ),
    12: (
        "lip corner puller",
        {
            48: (-0.14, -0.10),
            60: (-0.12, -0.09),
            49: (-0.06, -0.05),
            59: (-0.07, -0.05),
            61: (-0.04, -0.03),
            67: (-0.04, -0.03),
            3: (0.0, -0.02),
            4: (0.0, -0.02),
        },
    ),
    15: (
        "lip corner depressor",
        {48: (0.02, 0.10), 60: (0.02, 0.085), 59: (0.0, 0.05), 49: (0.0, 0.035), 67: (0.0, 0.03)},
    ),
    16: (
        "lower lip depressor",
        {57: (0.0, 0.07), 58: (0.0, 0.06), 66: (0.0, 0.06), 67: (0.0, 0.045), 59: (0.0, 0.03)},
    ),
    20: (
        "lip stretcher",
        {
            48: (-0.13, 0.02),
            60: (-0.11, 0.02),
            59: (-0.06, 0.01),
            49: (-0.05, 0.0),
            67: (-0.03, 0.0),
            61: (-0.03, 0.0),
            4: (-0.01, 0.0),
            5: (-0.01, 0.0),
        },
    ),
    23: (
        "lip tightener",
        {
            48: (0.05, 0.0),
            60: (0.045, 0.0),
            50: (0.0, 0.025),
            51: (0.0, 0.025),
            57: (0.0, -0.025),
            58: (0.0, -0.02),
            61: (0.0, 0.015),
            62: (0.0, 0.015),
            66: (0.0, -0.015),
            67: (0.0, -0.015),
        },
    ),
    26: (
        "jaw drop",
        {
            57: (0.0, 0.26),
            58: (0.0, 0.23),
            66: (0.0, 0.26),
            67: (0.0, 0.23),
            59: (0.0, 0.15),
            8: (0.0, 0.23),
            7: (0.0, 0.21),
            6: (0.0, 0.16),
            5: (0.0, 0.09),
            4: (0.0, 0.04),
            60: (0.0, 0.02),
        },
    ),
}

#: AU number → its name.
ACTION_UNITS: dict[int, str] = {au: name for au, (name, _) in _AU_TABLE.items()}


def au_displacement(au: int) -> np.ndarray:
    """Apex displacement field of one Action Unit.

    Parameters
    ----------
    au : int
        One of :data:`ACTION_UNITS`.

    Returns
    -------
    displacement : ndarray of shape (68, 2)
        In inter-ocular distances on the upright template; symmetric.
    """
    if au not in _AU_TABLE:
        raise ValueError(f"au={au!r} is not one of {sorted(_AU_TABLE)}")
    d = np.zeros((N_LANDMARKS, 2))
    for point, (dx, dy) in _AU_TABLE[au][1].items():
        d[point] = (dx, dy)
        mirror = MIRROR_PERMUTATION[point]
        if mirror != point:
            d[mirror] = (-dx, dy)
    return d


def expression_displacement(label: str, au_gains: dict[int, float] | None = None) -> np.ndarray:
    """Apex displacement of an expression prototype (sum of its AUs).

    Parameters
    ----------
    label : str
        One of :data:`EXPRESSIONS`.
    au_gains : dict of int to float, optional
        Per-AU multipliers (a subject's idiosyncratic strength), 1 by default.

    Returns
    -------
    displacement : ndarray of shape (68, 2)
    """
    if label not in EXPRESSION_AUS:
        raise ValueError(f"label={label!r} is not one of {EXPRESSIONS}")
    d = np.zeros((N_LANDMARKS, 2))
    for au in EXPRESSION_AUS[label]:
        d += au_displacement(au) * (1.0 if au_gains is None else au_gains.get(au, 1.0))
    return d


def moved_landmarks(label: str, *, threshold: float = 0.02) -> np.ndarray:
    """Indices of the landmarks an expression moves by at least ``threshold`` IOD."""
    d = expression_displacement(label)
    return np.flatnonzero(np.hypot(d[:, 0], d[:, 1]) >= threshold)


def moved_regions(label: str, mesh=None, *, threshold: float = 0.1) -> set[str]:
    """Ground truth: the mesh regions an expression deforms.

    The expression's prototype is applied at apex intensity to the mesh
    template, and a region counts as moved when one of its edges changes
    length by at least ``threshold`` (a strain of 0.1 is a 10 % change).
    Measuring strain rather than point displacement matters for small
    structures: lowering an upper eyelid by 0.02 inter-ocular distances
    barely moves a point but changes the eye's shape a lot.

    Parameters
    ----------
    label : str
    mesh : Mesh, optional
        The default mesh when omitted.
    threshold : float, default=0.1

    Returns
    -------
    regions : set of str
    """
    return _regions_moved_by(expression_displacement(label), mesh, threshold)


def au_moved_regions(au: int, mesh=None, *, threshold: float = 0.1) -> set[str]:
    """Ground truth: the mesh regions one Action Unit deforms (as :func:`moved_regions`).

    Parameters
    ----------
    au : int
        One of :data:`ACTION_UNITS`.
    mesh : Mesh, optional
    threshold : float, default=0.1

    Returns
    -------
    regions : set of str
    """
    return _regions_moved_by(au_displacement(au), mesh, threshold)


def _regions_moved_by(displacement: np.ndarray, mesh, threshold: float) -> set[str]:
    from ..features import compute_geometry
    from ..mesh import Mesh

    mesh = Mesh.default() if mesh is None else mesh
    shape = np.asarray(mesh.template) + displacement
    strain = compute_geometry(shape, mesh).features[0, 4 * mesh.n_triangles :]
    return {str(r) for r in np.unique(mesh.edge_regions[np.abs(strain) >= threshold])}
