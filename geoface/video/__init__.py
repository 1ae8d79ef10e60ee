"""Video in: decode, sample, track faces and write frame tables (one row per frame and face)."""

from ._extract import VideoExtraction, decoder_versions, default_landmarks_out, extract_videos
from ._merge import FrameChunk, TableWriter, TrackStitcher, video_chunks
from ._overlay import OverlayWriter
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
)
from ._sources import MediaSources, find_media, holds_videos

__all__ = [
    "FrameChunk",
    "MediaSources",
    "OverlayWriter",
    "SegmentTask",
    "TableWriter",
    "TrackStitcher",
    "VideoExtraction",
    "config_hash",
    "decoder_versions",
    "default_landmarks_out",
    "extract_videos",
    "find_media",
    "get_landmarker",
    "holds_videos",
    "landmarker_spec",
    "part_folder",
    "plan_segments",
    "read_part_meta",
    "resolve_landmarker",
    "run_segment",
    "video_chunks",
]
