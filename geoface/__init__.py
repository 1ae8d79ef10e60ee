"""geoface: interpretable facial-expression analysis from facial geometry.

Faces → 68 landmarks → a fixed, mirror-symmetric Delaunay mesh → triangle
areas, angles and edge strains normalised by inter-ocular distance → models
evaluated on subject-grouped folds and explained by facial region.
"""

from ._atomic import atomic_path
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

#: Names served from :mod:`geoface._convention` on first use, so that ``import geoface``
#: (and the ``geoface`` command's start) loads no NumPy until a command needs it.
_CONVENTION_NAMES = frozenset(
    {
        "LANDMARK_GROUPS",
        "MIDLINE_POINTS",
        "MIRROR_PERMUTATION",
        "N_LANDMARKS",
        "inter_ocular_distance",
    }
)


def __getattr__(name: str):
    if name in _CONVENTION_NAMES:
        from . import _convention

        return getattr(_convention, name)
    # the extraction pulls in pandas, the landmark backends and the features: import on use
    if name == "extract_images":
        from .extraction import extract_images

        return extract_images
    raise AttributeError(f"module 'geoface' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _CONVENTION_NAMES | {"extract_images"})
