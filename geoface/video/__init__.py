"""Video in: frames, face tracks over time, smoothed landmarks."""

from ._face_geometry import BOX_CALIBRATION, box_from_landmarks, box_iou
from ._identity import FaceEmbedder, face_embedder_available
from ._smooth import SMOOTH_METHODS, OneEuro, smooth_landmarks, smooth_tracks
from ._track import FACES_MODES, FaceTracker, TrackedFace, stitch_tracks

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
