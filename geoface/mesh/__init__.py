"""The canonical template, Procrustes alignment and the frozen Delaunay mesh."""

from ._mesh import DEFAULT_ANGLE_REGULARISATION, Mesh, triangulate_symmetric
from ._procrustes import align_to, generalized_procrustes, mirror_shapes
from ._regions import REGION_COLOURS, REGIONS, SIDES, region_of, side_of
from ._template import build_template, canonical_frame, default_template, symmetrise

__all__ = [
    "DEFAULT_ANGLE_REGULARISATION",
    "REGIONS",
    "REGION_COLOURS",
    "SIDES",
    "Mesh",
    "align_to",
    "build_template",
    "canonical_frame",
    "default_template",
    "generalized_procrustes",
    "mirror_shapes",
    "region_of",
    "side_of",
    "symmetrise",
    "triangulate_symmetric",
]
