"""Mesh features (triangle areas and angles, edge strains) and the feature table."""

from ._coords import COORD_CHOICES, aligned_coordinates, coord_mirror, coord_names
from ._geometry import QC_STATUSES, GeometryResult, compute_geometry, edge_lengths
from ._names import coords_of, feature_map, feature_mirror, feature_names
from ._rebase import REBASE_COLUMNS, rebase_frames
from ._reference import (
    QUIET_FRACTION,
    QUIET_MIN_FRAMES,
    RELATIVE_RULES,
    marked_rows,
    quiet_reference_mask,
)
from ._table import USABLE_STATUSES, FeatureTable, extract_table, sidecar_paths
from ._transformer import FeatureResult, MeshFeatures

__all__ = [
    "COORD_CHOICES",
    "QC_STATUSES",
    "QUIET_FRACTION",
    "QUIET_MIN_FRAMES",
    "REBASE_COLUMNS",
    "RELATIVE_RULES",
    "USABLE_STATUSES",
    "FeatureResult",
    "FeatureTable",
    "GeometryResult",
    "MeshFeatures",
    "aligned_coordinates",
    "compute_geometry",
    "coord_mirror",
    "coord_names",
    "coords_of",
    "edge_lengths",
    "extract_table",
    "feature_map",
    "feature_mirror",
    "feature_names",
    "marked_rows",
    "quiet_reference_mask",
    "rebase_frames",
    "sidecar_paths",
]
