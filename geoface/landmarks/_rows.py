"""From detections to table rows: image-level QC statuses and columns, face selection.

Every image given yields at least one row, with an image-level ``qc_status``:

==================  ==========================================================
``ok``              one face (or, with ``faces="all"``, each face of the image)
``multiple_faces``  several faces; the largest is kept (``faces="largest"``)
``fallback_box``    the detector missed; a face filling the frame was found on
                    a border-extended copy at a lower threshold (tight crop)
``no_face``         no face found (or, for ``file``, no landmarks recorded)
``unreadable``      missing, empty, truncated, corrupt, not an image, or not a
                    regular file (a device such as ``/dev/zero``, a pipe)
``too_large``       declares more pixels than the budget (``max_pixels``), or
                    the file is larger than such an image can be; not decoded
``too_small``       shorter side below ``min_size`` pixels
``error``           the backend failed on this image (message in ``qc_note``)
==================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from .._convention import N_LANDMARKS
from ..statuses import IMAGE_STATUSES as _IMAGE_STATUSES
from ._backends import Faces
from ._images import LoadedImage
from ._io import landmarks_to_frame
from ._sources import ImageSources

__all__ = ["IMAGE_QC_COLUMNS", "IMAGE_STATUSES", "ImageLandmarks", "yaw_proxy"]

#: Image-level statuses, the ones with landmarks first.
IMAGE_STATUSES = _IMAGE_STATUSES  # declared with every other status in geoface.statuses
#: Columns of the image-level QC frame, in order.
IMAGE_QC_COLUMNS: tuple[str, ...] = (
    "qc_status",
    "qc_note",
    "qc_n_faces",
    "qc_box_x",
    "qc_box_y",
    "qc_box_w",
    "qc_box_h",
    "qc_det_score",
    "qc_yaw_proxy",
    "qc_image_w",
    "qc_image_h",
    "qc_image_sha1",
)
_FACES_MODES = ("largest", "all")


@dataclass
class ImageLandmarks:
    """Landmarks of a batch of images, one row per face kept (or per failed image).

    Attributes
    ----------
    landmarks : ndarray of shape (n_rows, 68, 2)
        Original-image pixels; NaN on rows without a face.
    meta : DataFrame
        The input's columns (``id, path, label, …`` or the manifest's) and
        ``face_index`` (0 = largest face of its image; empty without a face).
    qc : DataFrame
        :data:`IMAGE_QC_COLUMNS`.
    info : dict
        Backend, options, counts per status, cache use and timings.
    """

    landmarks: np.ndarray
    meta: pd.DataFrame
    qc: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The landmark table: metadata, image QC, then ``x_0..x_67, y_0..y_67``."""
        return landmarks_to_frame(self.landmarks, pd.concat([self.meta, self.qc], axis=1))

    def counts(self) -> dict[str, int]:
        """Rows per ``qc_status``."""
        return {str(k): int(v) for k, v in self.qc["qc_status"].value_counts().items()}


def yaw_proxy(landmarks: np.ndarray) -> np.ndarray:
    """A head-yaw proxy in [-1, 1] from the nose tip's place between the jaw ends.

    ``(a - b) / (a + b)`` where ``a`` and ``b`` are the distances, along the
    eye line, from the right jaw end (point 0) to the nose tip (30) and from
    the nose tip to the left jaw end (16). 0 for a frontal face; positive
    when the face is turned towards the subject's left (image right).

    Parameters
    ----------
    landmarks : ndarray of shape (n, 68, 2)

    Returns
    -------
    ndarray of shape (n,)
    """
    p = np.asarray(landmarks, dtype=float).reshape(-1, N_LANDMARKS, 2)
    u = p[:, 42:48].mean(axis=1) - p[:, 36:42].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        a = ((p[:, 30] - p[:, 0]) * u).sum(axis=1)
        b = ((p[:, 16] - p[:, 30]) * u).sum(axis=1)
        return np.clip((a - b) / (a + b), -1.0, 1.0)


@dataclass
class _Result:
    status: str
    note: str = ""
    size: tuple[int, int] | None = None
    sha1: str = ""
    faces: Faces | None = None


def _select(result: _Result, mode: str) -> list[tuple[int | None, str, str]]:
    """(face index, status, note) of the rows an image yields."""
    if result.faces is None:
        return [(None, result.status, result.note)]
    faces = result.faces
    if len(faces) == 0:
        return [(None, "no_face", faces.note or "no face found")]
    base = {"fallback": "fallback_box"}.get(faces.how, "ok")
    if mode == "all" or len(faces) == 1:
        return [(k, base, faces.note) for k in range(len(faces))]
    note = f"{len(faces)} faces found; the largest is kept"
    return [(0, "multiple_faces", note)]


def _by_area(faces: Faces) -> Faces:
    if len(faces) < 2:
        return faces
    b = faces.boxes
    order = np.argsort(-(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), kind="stable")
    return Faces(faces.landmarks[order], b[order], faces.scores[order], faces.how, faces.note)


def _assemble(sources: ImageSources, results: list[_Result], mode: str) -> ImageLandmarks:
    meta_rows, qc_rows, shapes = [], [], []
    for i, res in enumerate(results):
        rows = _select(res, mode)
        for face_index, status, note in rows:
            meta_rows.append((i, face_index, len(rows) > 1))
            box = np.full(4, np.nan)
            score = np.nan
            lm = np.full((N_LANDMARKS, 2), np.nan)
            if face_index is not None:
                lm = res.faces.landmarks[face_index]
                box = res.faces.boxes[face_index]
                score = res.faces.scores[face_index]
            shapes.append(lm)
            qc_rows.append(
                {
                    "qc_status": status,
                    "qc_note": note,
                    "qc_n_faces": None if res.faces is None else len(res.faces),
                    "qc_box_x": box[0],
                    "qc_box_y": box[1],
                    "qc_box_w": box[2] - box[0],
                    "qc_box_h": box[3] - box[1],
                    "qc_det_score": score,
                    "qc_image_w": None if res.size is None else res.size[0],
                    "qc_image_h": None if res.size is None else res.size[1],
                    "qc_image_sha1": res.sha1,
                }
            )
    landmarks = np.stack(shapes) if shapes else np.empty((0, N_LANDMARKS, 2))
    idx = [m[0] for m in meta_rows]
    meta = sources.meta.iloc[idx].reset_index(drop=True).copy()
    face_index = pd.array([m[1] for m in meta_rows], dtype="Int64")
    if any(m[2] for m in meta_rows):
        meta["id"] = [
            f"{i}#{k}" if split else str(i)
            for i, (_, k, split) in zip(meta["id"].astype(str), meta_rows, strict=True)
        ]
    meta["face_index"] = face_index
    qc = pd.DataFrame(qc_rows, columns=[c for c in IMAGE_QC_COLUMNS if c != "qc_yaw_proxy"])
    qc.insert(IMAGE_QC_COLUMNS.index("qc_yaw_proxy"), "qc_yaw_proxy", yaw_proxy(landmarks))
    for col in ("qc_n_faces", "qc_image_w", "qc_image_h"):
        qc[col] = pd.array(qc[col].tolist(), dtype="Int64")
    return ImageLandmarks(landmarks=landmarks, meta=meta, qc=qc)


def _write_overlay(
    folder: Path, sources: ImageSources, i: int, loaded: LoadedImage, result, mode, mesh
) -> None:
    import cv2

    from ._overlays import draw_overlay

    rows = _select(result, mode)
    shapes, boxes, labels = [], [], []
    kept = set()
    for face_index, status, _ in rows:
        if face_index is not None:
            kept.add(face_index)
            shapes.append(loaded.to_working(result.faces.landmarks[face_index]))
            boxes.append(loaded.to_working(result.faces.boxes[face_index].reshape(2, 2)).ravel())
        labels.append(status)
    others = []
    if result.faces is not None:
        others = [
            loaded.to_working(b.reshape(2, 2)).ravel()
            for k, b in enumerate(result.faces.boxes)
            if k not in kept
        ]
    title = f"{sources.meta['id'].iloc[i]}: {', '.join(sorted(set(labels)))}"
    img = draw_overlay(
        loaded.image,
        np.array(shapes).reshape(-1, 68, 2),
        boxes=boxes,
        other_boxes=others,
        mesh=mesh,
        title=title,
    )
    parts = [
        p for p in PurePosixPath(str(sources.meta["id"].iloc[i])).parts if p not in ("..", ".", "/")
    ]
    target = folder.joinpath(*parts[:-1], f"{parts[-1] if parts else f'image_{i}'}.jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    if ok:
        from .._atomic import atomic_path

        with atomic_path(target) as tmp:
            tmp.write_bytes(buf.tobytes())
