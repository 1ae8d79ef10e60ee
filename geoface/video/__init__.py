"""Video in: frames, face tracks over time, smoothed landmarks."""

from ._identity import FaceEmbedder, face_embedder_available
from ._smooth import SMOOTH_METHODS, OneEuro, smooth_landmarks, smooth_tracks
from ._track import (
    BOX_CALIBRATION,
    FACES_MODES,
    FaceTracker,
    TrackedFace,
    box_from_landmarks,
    box_iou,
    stitch_tracks,
)

__all__ = [
    "BOX_CALIBRATION",
    "FACES_MODES",
    "SMOOTH_METHODS",
    "FaceEmbedder",
    "FaceTracker",
    "OneEuro",
    "TrackedFace",
    "box_from_landmarks",
    "box_iou",
    "face_embedder_available",
    "smooth_landmarks",
    "smooth_tracks",
    "stitch_tracks",
]
