"""Video in: probe a file's frame index, choose frames, decode them.

::

    info = probe_video("session.mp4")            # stream facts + presentation-time index
    kept = Sampling(fps=5).select(info.times)    # decided on the whole index
    for frame in read_frames(info, kept[:256], max_side=640):
        frame.ordinal, frame.time_s, frame.status, frame.image  # one per wanted ordinal

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
