"""The ``file`` backend: landmarks that already exist beside the images or in a table.

For each image it looks, in this order, at

1. a landmark table given by the user: a CSV with ``x_0..x_67, y_0..y_67``
   and a column naming the image — ``path``, ``input`` (py-feat), ``file``,
   ``filename`` or ``image`` — one row per face (py-feat's ``FaceRectX``,
   ``FaceRectY``, ``FaceRectWidth``, ``FaceRectHeight``, ``FaceScore`` and
   OpenFace's ``confidence``/``success`` are used when present);
2. ``<stem>.pts`` beside the image (iBUG format, one face);
3. ``<stem>.csv`` beside the image (OpenFace ``FaceLandmarkImg`` output, one
   row per face).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._backends import Faces, Landmarker, WholeImageDetector
from ._io import landmarks_from_frame, read_pts

__all__ = ["FileLandmarker"]

_KEY_COLUMNS = ("path", "input", "file", "filename", "image")
_SCORE_COLUMNS = ("FaceScore", "confidence")
_RECT = ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight")


def _faces_from_frame(frame: pd.DataFrame, source: str) -> Faces:
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    if "success" in frame.columns:
        frame = frame[pd.to_numeric(frame["success"], errors="coerce").fillna(1) != 0]
    lm = landmarks_from_frame(frame, source=source)
    keep = np.isfinite(lm).all(axis=(1, 2))
    frame, lm = frame[keep], lm[keep]
    if not len(lm):
        return Faces.none(note=f"no finite landmarks in {source}")
    score_col = next((c for c in _SCORE_COLUMNS if c in frame.columns), None)
    scores = (
        pd.to_numeric(frame[score_col], errors="coerce").to_numpy(dtype=float)
        if score_col
        else np.full(len(lm), np.nan)
    )
    if all(c in frame.columns for c in _RECT):
        x, y, w, h = (pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in _RECT)
        boxes = np.stack([x, y, x + w, y + h], axis=1)
    else:
        boxes = np.concatenate([lm.min(axis=1), lm.max(axis=1)], axis=1)
    return Faces(lm, boxes, scores, how="file")


class FileLandmarker(Landmarker):
    """Landmarks read from files instead of detected.

    Parameters
    ----------
    table : path, optional
        A CSV of landmarks for many images (py-feat, OpenFace or geoface
        layout) with a column naming each row's image.
    """

    name = "file"
    cacheable = False
    needs_pixels = False

    def __init__(self, *, table: str | os.PathLike | None = None):
        super().__init__(detector=WholeImageDetector(), fallback=False)
        self.table = Path(table) if table is not None else None
        self._by_path: dict[str, pd.DataFrame] = {}
        self._by_name: dict[str, list[str]] = {}
        if self.table is not None:
            self._index_table(self.table)

    def _index_table(self, path: Path) -> None:
        try:
            frame = pd.read_csv(path, skipinitialspace=True)
        except FileNotFoundError:
            raise GeofaceError(f"landmark table {path} does not exist") from None
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise GeofaceError(f"cannot parse {path} as CSV: {str(exc).splitlines()[0]}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        key = next((c for c in _KEY_COLUMNS if c in frame.columns), None)
        if key is None:
            raise GeofaceError(
                f"landmark table {path} has no column naming the images; add one of "
                f"{list(_KEY_COLUMNS)}"
            )
        landmarks_from_frame(frame.head(0), source=str(path))  # checks the columns
        for value, rows in frame.groupby(frame[key].astype(str), sort=False):
            p = Path(value)
            resolved = str((p if p.is_absolute() else path.parent / p).resolve())
            self._by_path[resolved] = rows
            self._by_name.setdefault(p.name, []).append(resolved)

    def _lookup(self, image: Path) -> pd.DataFrame | None:
        rows = self._by_path.get(str(image.resolve()))
        if rows is None:
            candidates = self._by_name.get(image.name, [])
            if len(candidates) == 1:
                rows = self._by_path[candidates[0]]
        return rows

    def read(self, image: str | os.PathLike) -> Faces:
        """The faces recorded for one image (original-image pixels)."""
        image = Path(image)
        if self.table is not None:
            rows = self._lookup(image)
            if rows is not None:
                return _faces_from_frame(rows, f"{self.table.name} ({image.name})")
        pts = image.with_suffix(".pts")
        if pts.is_file():
            lm = read_pts(pts)
            box = np.concatenate([lm.min(axis=0), lm.max(axis=0)])
            return Faces(lm[None], box[None], [np.nan], how="file")
        csv = image.with_suffix(".csv")
        if csv.is_file():
            try:
                frame = pd.read_csv(csv, skipinitialspace=True)
            except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise GeofaceError(f"cannot parse {csv}: {str(exc).splitlines()[0]}") from None
            return _faces_from_frame(frame, csv.name)
        where = f"in {self.table.name} or " if self.table is not None else ""
        return Faces.none(note=f"no landmarks {where}beside the image (.pts or OpenFace .csv)")

    def fit(self, images, boxes):  # pragma: no cover - files are read, not fitted
        raise GeofaceError("the file landmarker reads landmarks; it cannot fit them to images")

    def process(self, paths: Sequence[Path], loaded) -> list[Faces]:
        return [self.read(p) for p in paths]

    def fingerprint(self):
        return {"landmarker": self.name, "table": str(self.table) if self.table else None}

    def describe(self) -> str:
        return (
            "file (" + (f"table {self.table}" if self.table else ".pts / .csv beside images") + ")"
        )
