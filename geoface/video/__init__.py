"""Video in: probe a file's frame index, choose frames, decode them, track faces over time,
and write frame tables (one row per sampled frame and kept face).

::

    info = probe_video("session.mp4")            # stream facts + presentation-time index
    kept = Sampling(fps=5).select(info.times)    # decided on the whole index
    for frame in read_frames(info, kept[:256], max_side=640):
        frame.ordinal, frame.time_s, frame.status, frame.image  # one per wanted ordinal

    extract_videos("session.mp4", "frames.parquet")   # the whole of 'geoface extract'

:class:`FaceTracker` detects faces on keyframes and tracks them in between;
:func:`smooth_landmarks` filters landmark tracks on request.

Importing this package imports NumPy; :mod:`geoface` itself imports it only on use.
"""

from ._decode import VideoFrame, read_frames
from ._extract import VideoExtraction, default_landmarks_out, extract_videos
from ._face_geometry import BOX_CALIBRATION, box_from_landmarks, box_iou
from ._identity import FaceEmbedder, face_embedder_available
from ._merge import FrameChunk, TableWriter, TrackStitcher, video_chunks
from ._overlay import (
    FaceLabel,
    OverlayWriter,
    overlay_path,
    prediction_labels,
    write_prediction_overlay,
)
from ._probe import (
    VIDEO_SUFFIXES,
    VideoInfo,
    VideoReadError,
    decoder_versions,
    is_video_path,
    probe_video,
)
from ._sampling import Sampling
from ._segments import (
    SegmentTask,
    config_hash,
    get_landmarker,
    landmarker_spec,
    part_folder,
    plan_segments,
    read_part_meta,
    resolve_landmarker,
    run_segment,
    run_segments_together,
)
from ._smooth import SMOOTH_METHODS, OneEuro, smooth_landmarks, smooth_tracks
from ._sources import MediaSources, find_media, holds_videos
from ._track import FACES_MODES, FaceTracker, TrackedFace, stitch_tracks

__all__ = [
    "BOX_CALIBRATION",
    "FACES_MODES",
    "SMOOTH_METHODS",
    "VIDEO_SUFFIXES",
    "FaceEmbedder",
    "FaceLabel",
    "FaceTracker",
    "FrameChunk",
    "MediaSources",
    "OneEuro",
    "OverlayWriter",
    "Sampling",
    "SegmentTask",
    "TableWriter",
    "TrackStitcher",
    "TrackedFace",
    "VideoExtraction",
    "VideoFrame",
    "VideoInfo",
    "VideoReadError",
    "box_from_landmarks",
    "box_iou",
    "config_hash",
    "decoder_versions",
    "default_landmarks_out",
    "extract_videos",
    "face_embedder_available",
    "find_media",
    "get_landmarker",
    "holds_videos",
    "is_video_path",
    "landmarker_spec",
    "overlay_path",
    "part_folder",
    "plan_segments",
    "prediction_labels",
    "probe_video",
    "read_frames",
    "read_part_meta",
    "resolve_landmarker",
    "run_segment",
    "run_segments_together",
    "smooth_landmarks",
    "smooth_tracks",
    "stitch_tracks",
    "video_chunks",
    "write_prediction_overlay",
]
