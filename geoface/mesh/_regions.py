"""Which facial region each triangle and edge of the mesh belongs to.

Every landmark has a *feature*: jaw (points 0–16), brow (17–26), nose
(27–35), eye (36–47) or mouth (48–67). A simplex (an edge or a triangle) gets
its region from the features of its vertices, by the first rule that matches:

1. all vertices share a feature: that feature's region
   (``jaw``, ``brows``, ``nose``, ``eyes``, ``mouth``);
2. a mouth vertex with nose vertices only: ``mouth`` (the upper lip, which
   AU10 raises);
3. a mouth vertex with a jaw vertex: ``jaw`` if one of the jaw vertices is a
   chin point (6–10), else ``cheeks``;
4. brow and eye vertices only: ``brows`` (brow-to-eye geometry is what AU1,
   AU2 and AU4 change);
5. brow and nose vertices (with or without eye vertices): ``glabella``
   (between the brows and down to the nasion, where AU4 acts);
6. a jaw vertex with anything else: ``cheeks`` (the side of the face);
7. eye with nose-bridge points (27–30) only: ``nose``; eye with nose-base
   points (31–35): ``cheeks`` (the infra-orbital cheek that AU6 raises).

Each simplex also gets a *side*: ``right`` or ``left`` (the subject's) from
the sign of its centroid's ``x`` on the symmetric template, ``midline`` when
that is zero (a simplex that is its own mirror image).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["REGIONS", "REGION_COLOURS", "SIDES", "region_of", "side_of"]

#: Region names in the order tables and figures list them (top of face first).
REGIONS: tuple[str, ...] = ("brows", "glabella", "eyes", "nose", "cheeks", "mouth", "jaw")

# Okabe & Ito (2008) colour-blind-safe palette, one colour per region.
REGION_COLOURS: dict[str, str] = dict(
    zip(
        REGIONS,
        ("#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#009E73", "#D55E00", "#0072B2"),
        strict=True,
    )
)
SIDES: tuple[str, ...] = ("right", "midline", "left")

_FEATURE_REGION = {"jaw": "jaw", "brow": "brows", "nose": "nose", "eye": "eyes", "mouth": "mouth"}
_CHIN = frozenset(range(6, 11))
_NOSE_BRIDGE = frozenset(range(27, 31))


def _feature(point: int) -> str:
    if point < 17:
        return "jaw"
    if point < 27:
        return "brow"
    if point < 36:
        return "nose"
    if point < 48:
        return "eye"
    return "mouth"


def region_of(vertices: Sequence[int]) -> str:
    """Region of an edge or triangle given its landmark indices (rules above)."""
    feats = {_feature(int(v)) for v in vertices}
    if len(feats) == 1:
        return _FEATURE_REGION[feats.pop()]
    if "mouth" in feats:
        if feats == {"mouth", "nose"}:
            return "mouth"
        if "jaw" in feats:
            return "jaw" if any(int(v) in _CHIN for v in vertices) else "cheeks"
        return "mouth"
    if feats == {"brow", "eye"}:
        return "brows"
    if {"brow", "nose"} <= feats and "jaw" not in feats:
        return "glabella"
    if "jaw" in feats:
        return "cheeks"
    # only eye and nose remain
    nose_pts = {int(v) for v in vertices if _feature(int(v)) == "nose"}
    return "nose" if nose_pts <= _NOSE_BRIDGE else "cheeks"


def side_of(vertices: Sequence[int], template: np.ndarray, *, tol: float = 1e-9) -> str:
    """Side of the face (``right``, ``midline``, ``left``) of a simplex on the template."""
    x = float(np.mean(template[list(vertices), 0]))
    if abs(x) <= tol:
        return "midline"
    return "right" if x < 0 else "left"
