"""Landmarks in, landmarks out: file formats for the 68-point iBUG markup."""

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

__all__ = [
    "LANDMARK_COLUMNS",
    "landmarks_from_frame",
    "landmarks_to_frame",
    "read_landmark_csv",
    "read_landmark_input",
    "read_landmarks_npz",
    "read_pts",
    "write_landmark_csv",
    "write_landmarks_npz",
    "write_pts",
]
