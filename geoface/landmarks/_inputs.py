"""Open whatever landmark input a user points geoface at."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._io import read_landmark_csv, read_landmarks_npz, read_pts

__all__ = ["read_landmark_input"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _image_beside(pts: Path) -> str | None:
    for suffix in _IMAGE_SUFFIXES:
        for cand in (pts.with_suffix(suffix), pts.with_suffix(suffix.upper())):
            if cand.exists():
                return cand.name if cand.parent == pts.parent else str(cand)
    return None


def read_landmark_input(path: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Read landmarks from a CSV, an ``.npz``, one ``.pts`` or a folder of ``.pts``.

    For ``.pts`` input each face's ``id`` is the file stem and ``path`` the
    image with the same stem beside it, when there is one (relative to the
    folder). A ``.pts`` file that cannot be read is an error naming the file.

    Returns
    -------
    landmarks : ndarray of shape (n_faces, 68, 2)
    meta : DataFrame
    """
    p = Path(path)
    if not p.exists():
        raise GeofaceError(f"input {p} does not exist")
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.suffix.lower() == ".pts")
        if not files:
            raise GeofaceError(
                f"folder {p} holds no .pts landmark files; give a landmark CSV, an .npz, "
                "or a folder of .pts files"
            )
        shapes = np.stack([read_pts(f) for f in files])
        meta = pd.DataFrame(
            {
                "id": [str(f.relative_to(p).with_suffix("")) for f in files],
                "path": [
                    (str((f.parent / img).relative_to(p)) if img else "")
                    for f, img in ((f, _image_beside(f)) for f in files)
                ],
            }
        )
        return shapes, meta
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return read_landmark_csv(p)
    if suffix == ".npz":
        return read_landmarks_npz(p)
    if suffix == ".pts":
        img = _image_beside(p)
        return read_pts(p)[None], pd.DataFrame({"id": [p.stem], "path": [img or ""]})
    raise GeofaceError(
        f"input {p.name} has extension {suffix or '(none)'!r}; landmark input must be "
        ".csv (x_0..x_67, y_0..y_67), .npz, .pts or a folder of .pts files"
    )
