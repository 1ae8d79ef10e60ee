"""geoface: interpretable facial-expression analysis from facial geometry.

Faces → 68 landmarks → a fixed, mirror-symmetric Delaunay mesh → triangle
areas, angles and edge strains normalised by inter-ocular distance → models
evaluated on subject-grouped folds and explained by facial region.
"""

from ._atomic import atomic_path
from ._convention import (
    LANDMARK_GROUPS,
    MIDLINE_POINTS,
    MIRROR_PERMUTATION,
    N_LANDMARKS,
    inter_ocular_distance,
)
from ._errors import GeofaceError

__version__ = "0.1.0"

__all__ = [
    "LANDMARK_GROUPS",
    "MIDLINE_POINTS",
    "MIRROR_PERMUTATION",
    "N_LANDMARKS",
    "GeofaceError",
    "__version__",
    "atomic_path",
    "extract_images",
    "inter_ocular_distance",
]


def __getattr__(name: str):
    # the extraction pulls in pandas, the landmark backends and the features: import on use
    if name == "extract_images":
        from .extraction import extract_images

        return extract_images
    raise AttributeError(f"module 'geoface' has no attribute {name!r}")
