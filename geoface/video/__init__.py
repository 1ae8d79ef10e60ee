"""Video in: frames, face tracks over time, smoothed landmarks."""

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
    "FaceTracker",
    "TrackedFace",
    "box_from_landmarks",
    "box_iou",
    "stitch_tracks",
]
