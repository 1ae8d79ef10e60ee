"""Landmarks in, landmarks out: file formats for the 68-point iBUG markup, and landmark
detection on images (face-alignment FAN, dlib, or files that already exist)."""

from ._backends import FaceDetector, Faces, Landmarker, WholeImageDetector
from ._cache import LandmarkCache
from ._dlib import (
    DLIB_MIRROR_AVERAGE,
    DLIB_MODEL_FILE,
    DLIB_UPSAMPLE,
    DlibLandmarker,
    HogDetector,
    dlib_available,
    dlib_model_path,
)
from ._fan import (
    FAN_WEIGHT_FILES,
    FAN_WEIGHT_URLS,
    WEIGHTS_ENV,
    FanLandmarker,
    find_fan_weights,
    resolve_device,
)
from ._files import FileLandmarker
from ._images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    ImageReadError,
    LoadedImage,
    decode_image,
    load_image,
    read_image_bytes,
)
from ._inputs import read_landmark_input
from ._io import (
    LANDMARK_COLUMNS,
    landmarks_from_frame,
    landmarks_to_frame,
    read_landmark_csv,
    read_landmarks_npz,
    read_pts,
    write_landmark_csv,
    write_landmarks_npz,
    write_pts,
)
from ._overlays import draw_overlay
from ._pipeline import detect_landmarks
from ._registry import DETECTORS, LANDMARKERS, make_detector, make_landmarker
from ._rows import IMAGE_QC_COLUMNS, IMAGE_STATUSES, ImageLandmarks, yaw_proxy
from ._scoring import (
    SCORE_REGIONS,
    LandmarkScores,
    cumulative_error,
    score_landmarks,
    write_landmark_scores,
)
from ._scoring_figure import plot_cumulative_error
from ._sfd import S3fdDetector
from ._sources import (
    ImageSources,
    find_images,
    ids_from_paths,
    input_kind,
    read_manifest_table,
    walk_files,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DETECTORS",
    "DLIB_MIRROR_AVERAGE",
    "DLIB_MODEL_FILE",
    "DLIB_UPSAMPLE",
    "FAN_WEIGHT_FILES",
    "FAN_WEIGHT_URLS",
    "IMAGE_QC_COLUMNS",
    "IMAGE_STATUSES",
    "IMAGE_SUFFIXES",
    "LANDMARKERS",
    "LANDMARK_COLUMNS",
    "SCORE_REGIONS",
    "WEIGHTS_ENV",
    "DlibLandmarker",
    "FaceDetector",
    "Faces",
    "FanLandmarker",
    "FileLandmarker",
    "HogDetector",
    "ImageLandmarks",
    "ImageReadError",
    "ImageSources",
    "LandmarkCache",
    "LandmarkScores",
    "Landmarker",
    "LoadedImage",
    "S3fdDetector",
    "WholeImageDetector",
    "cumulative_error",
    "decode_image",
    "detect_landmarks",
    "dlib_available",
    "dlib_model_path",
    "draw_overlay",
    "find_fan_weights",
    "find_images",
    "ids_from_paths",
    "input_kind",
    "landmarks_from_frame",
    "landmarks_to_frame",
    "load_image",
    "make_detector",
    "make_landmarker",
    "plot_cumulative_error",
    "read_image_bytes",
    "read_landmark_csv",
    "read_landmark_input",
    "read_landmarks_npz",
    "read_manifest_table",
    "read_pts",
    "resolve_device",
    "score_landmarks",
    "walk_files",
    "write_landmark_csv",
    "write_landmark_scores",
    "write_landmarks_npz",
    "write_pts",
    "yaw_proxy",
]
