"""Video in: probe a file's frame index, choose frames, decode them.

Importing this package imports NumPy; :mod:`geoface` itself imports it only on use.
"""

from ._decode import VideoFrame, read_frames
from ._probe import (
    VIDEO_SUFFIXES,
    VideoInfo,
    VideoReadError,
    decoder_versions,
    is_video_path,
    probe_video,
)
from ._sampling import Sampling

__all__ = [
    "VIDEO_SUFFIXES",
    "Sampling",
    "VideoFrame",
    "VideoInfo",
    "VideoReadError",
    "decoder_versions",
    "is_video_path",
    "probe_video",
    "read_frames",
]
