"""Synthetic faces: identities, Action-Unit expressions, pose, noise and drawings."""

from ._dataset import AU_COLUMNS, SimulatedData, simulate_landmarks, write_simulated_dataset
from ._expressions import (
    ACTION_UNITS,
    EXPRESSION_AUS,
    EXPRESSIONS,
    au_displacement,
    au_moved_regions,
    expression_displacement,
    moved_landmarks,
    moved_regions,
)
from ._faces import IDENTITY_MODES, INFANT_SHIFT, pose_shape, sample_identity
from ._render import render_face

__all__ = [
    "ACTION_UNITS",
    "AU_COLUMNS",
    "EXPRESSIONS",
    "EXPRESSION_AUS",
    "IDENTITY_MODES",
    "INFANT_SHIFT",
    "SimulatedData",
    "au_displacement",
    "au_moved_regions",
    "expression_displacement",
    "moved_landmarks",
    "moved_regions",
    "pose_shape",
    "render_face",
    "sample_identity",
    "simulate_landmarks",
    "write_simulated_dataset",
]
