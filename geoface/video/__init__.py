"""Video in: probe a file's frame index, choose frames, decode them, track faces over time.

::

    info = probe_video("session.mp4")            # stream facts + presentation-time index
    kept = Sampling(fps=5).select(info.times)    # decided on the whole index
    for frame in read_frames(info, kept[:256], max_side=640):
        frame.ordinal, frame.time_s, frame.status, frame.image  # one per wanted ordinal

:class:`FaceTracker` detects faces on keyframes and tracks them in between;
:func:`smooth_landmarks` filters landmark tracks on request.

Importing this package imports NumPy; :mod:`geoface` itself imports it only on use.
"""

from ._decode import VideoFrame, read_frames
from ._face_geometry import BOX_CALIBRATION, box_from_landmarks, box_iou
from ._identity import FaceEmbedder, face_embedder_available
from ._probe import (
    VIDEO_SUFFIXES,
    VideoInfo,
    VideoReadError,
    decoder_versions,
    is_video_path,
    probe_video,
)
from ._sampling import Sampling
from ._smooth import SMOOTH_METHODS, OneEuro, smooth_landmarks, smooth_tracks
from ._track import FACES_MODES, FaceTracker, TrackedFace, stitch_tracks

__all__ = [
    "BOX_CALIBRATION",
    "FACES_MODES",
    "SMOOTH_METHODS",
    "VIDEO_SUFFIXES",
    "FaceEmbedder",
    "FaceTracker",
    "OneEuro",
    "Sampling",
    "TrackedFace",
    "VideoFrame",
    "VideoInfo",
    "VideoReadError",
    "box_from_landmarks",
    "box_iou",
    "decoder_versions",
    "face_embedder_available",
    "is_video_path",
    "probe_video",
    "read_frames",
    "smooth_landmarks",
    "smooth_tracks",
    "stitch_tracks",
]
