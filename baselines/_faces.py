"""The faces the CNN sees: decoded once, cropped like the geometric models', resized.

Faces are located, in this order of preference, by the landmarks (columns
``x_0 … y_67`` of the input or of ``landmarks=``), by the face box of the
extract step (``qc_box_x, qc_box_y, qc_box_w, qc_box_h``), or as the whole
image. ``align="eyes"`` rotates and scales each face so that the eye centres
land on fixed positions; ``"box"`` crops a square around the landmarks (or the
box) with a margin; ``"none"`` resizes the whole image.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geoface import GeofaceError
from geoface.landmarks import LANDMARK_COLUMNS, landmarks_from_frame

__all__ = ["FaceSet", "load_faces", "read_face_table"]

_BOX_COLUMNS = ("qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h")
#: Where the eye centres go in an eye-aligned crop (fractions of the side).
EYE_Y, EYE_DX = 0.40, 0.17
BOX_MARGIN = 0.25


@dataclass
class FaceSet:
    """Decoded, cropped, resized faces and the status of every input row.

    Attributes
    ----------
    frame : DataFrame
        The input rows (all of them), with ``id`` as text.
    status : ndarray of str, shape (n_rows,)
        ``ok`` or why a row has no face image (``qc_<status>``,
        ``missing_file``, ``unreadable``, ``no_path``).
    images : ndarray of uint8, shape (n_ok, size, size, 3)
        RGB faces of the ``ok`` rows, in row order.
    align : str
        The alignment actually used.
    """

    frame: pd.DataFrame
    status: np.ndarray
    images: np.ndarray
    align: str
    size: int
    sources: dict = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        return self.status == "ok"


def read_face_table(path: str | os.PathLike, *, landmarks: str | os.PathLike | None = None):
    """Read a feature table, landmark CSV or manifest, joining separate landmarks by id.

    Returns
    -------
    frame : DataFrame
    base : Path
        The folder image paths are relative to (the input's, or for a feature
        table the folder of the file it was extracted from).
    """
    path = Path(path)
    if not path.exists():
        raise GeofaceError(f"input {path} does not exist")
    if path.suffix.lower() in {".parquet", ".pq"}:
        frame = pd.read_parquet(path)
    else:
        try:
            frame = pd.read_csv(path, dtype={"id": str, "subject": str, "label": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise GeofaceError(f"cannot parse {path} as CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if "path" not in frame.columns:
        raise GeofaceError(f"{path} has no 'path' column naming each face's image")
    if "id" not in frame.columns:
        frame.insert(0, "id", [Path(str(p)).stem for p in frame["path"]])
    frame["id"] = frame["id"].astype(str)
    if "label" in frame.columns:  # the same rule as extract, split and fit: case and spaces
        from geoface.labels import normalise_labels

        frame["label"] = normalise_labels(frame["label"])[0]
    base = path.parent
    meta = path.with_name(path.with_suffix("").name + ".meta.json")
    if meta.exists():  # a geoface feature table: paths are relative to its source
        import json

        source = json.loads(meta.read_text(encoding="utf-8")).get("source")
        if source:
            src = Path(source)
            base = src if src.is_dir() else src.parent
            if not base.is_absolute():
                base = Path.cwd() / base
    if landmarks is not None:
        from geoface.landmarks import read_landmark_csv

        lm, lm_meta = read_landmark_csv(landmarks)
        if "id" not in lm_meta.columns:
            raise GeofaceError(f"landmark file {landmarks} needs an 'id' column to join on")
        coords = pd.DataFrame(
            np.concatenate([lm[..., 0], lm[..., 1]], axis=1), columns=list(LANDMARK_COLUMNS)
        )
        coords.insert(0, "id", lm_meta["id"].astype(str).to_numpy())
        frame = frame.drop(columns=[c for c in LANDMARK_COLUMNS if c in frame.columns])
        frame = frame.merge(coords.drop_duplicates("id"), on="id", how="left")
    return frame, base


def _similarity_to_eyes(pts: np.ndarray, size: int) -> np.ndarray:
    right = pts[36:42].mean(axis=0)
    left = pts[42:48].mean(axis=0)
    src_mid, d = (right + left) / 2, left - right
    dist = float(np.hypot(*d))
    scale = (2 * EYE_DX * size) / dist
    angle = np.arctan2(d[1], d[0])
    c, s = scale * np.cos(-angle), scale * np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    dst_mid = np.array([size / 2, EYE_Y * size])
    return np.hstack([rot, (dst_mid - rot @ src_mid)[:, None]])


def _square_box(x0, y0, x1, y1, margin: float) -> tuple[float, float, float]:
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    return cx - side / 2, cy - side / 2, side


def crop_face(
    image: np.ndarray, size: int, *, align: str, landmarks: np.ndarray | None, box: tuple | None
) -> np.ndarray:
    """Crop one RGB image to a ``size`` × ``size`` face (see the module docstring)."""
    import cv2

    if align == "eyes" and landmarks is not None:
        m = _similarity_to_eyes(landmarks, size)
        return cv2.warpAffine(
            image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
    if align in {"eyes", "box"} and (landmarks is not None or box is not None):
        if landmarks is not None:
            x0, y0 = landmarks.min(axis=0)
            x1, y1 = landmarks.max(axis=0)
        else:
            x0, y0, w, h = box
            x1, y1 = x0 + w, y0 + h
        left, top, side = _square_box(x0, y0, x1, y1, BOX_MARGIN)
        scale = size / side
        m = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]])
        return cv2.warpAffine(
            image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _decode(path: Path) -> np.ndarray | None:
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_faces(
    frame: pd.DataFrame,
    *,
    base: str | os.PathLike = ".",
    size: int = 224,
    align: str = "auto",
    image_root: str | os.PathLike | None = None,
    workers: int | None = None,
) -> FaceSet:
    """Decode, crop and resize every usable row's face, in parallel threads.

    Parameters
    ----------
    frame : DataFrame
        Needs ``id`` and ``path``; uses landmark columns, box columns and
        ``qc_status`` when present.
    base : path-like, default="."
        Folder relative image paths start from.
    size : int, default=224
    align : {"auto", "eyes", "box", "none"}, default="auto"
        ``auto`` is ``eyes`` with landmarks, ``box`` with boxes, else ``none``.
    image_root : path-like, optional
        Overrides ``base``.
    workers : int, optional
        Decoding threads (default: the number of cores).

    Returns
    -------
    FaceSet
    """
    if align not in {"auto", "eyes", "box", "none"}:
        raise GeofaceError(f"align={align!r} is not one of {{'eyes', 'box', 'none'}}")
    if size < 16:
        raise GeofaceError(f"image size {size} is too small; use at least 16 pixels")
    has_landmarks = all(c in frame.columns for c in LANDMARK_COLUMNS)
    has_box = all(c in frame.columns for c in _BOX_COLUMNS)
    if align == "auto":
        align = "eyes" if has_landmarks else "box" if has_box else "none"
    if align == "eyes" and not has_landmarks:
        raise GeofaceError("align='eyes' needs landmarks: give a landmark CSV or --landmarks")
    root = Path(image_root if image_root is not None else base)
    lms = landmarks_from_frame(frame) if has_landmarks else None
    boxes = frame[list(_BOX_COLUMNS)].to_numpy(dtype=float) if has_box else None

    status = np.full(len(frame), "ok", dtype=object)
    if "qc_status" in frame.columns:
        from geoface.features import USABLE_STATUSES

        qc = frame["qc_status"].astype(str).to_numpy()
        failed = ~np.isin(qc, USABLE_STATUSES)
        status[failed] = np.char.add("qc_", qc[failed].astype(str))
    paths = frame["path"]
    status[(status == "ok") & (paths.isna() | (paths.astype(str).str.strip() == "")).to_numpy()] = (
        "no_path"
    )

    def job(i: int):
        p = Path(str(paths.iloc[i]))
        p = p if p.is_absolute() else root / p
        if not p.exists():
            return i, "missing_file", None
        img = _decode(p)
        if img is None:
            return i, "unreadable", None
        lm = None
        if lms is not None and np.isfinite(lms[i]).all():
            lm = lms[i]
        box = None
        if boxes is not None and np.isfinite(boxes[i]).all():
            box = tuple(boxes[i])
        return i, "ok", crop_face(img, size, align=align, landmarks=lm, box=box)

    todo = np.flatnonzero(status == "ok")
    faces: dict[int, np.ndarray] = {}
    n_workers = workers or (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    with ThreadPoolExecutor(max_workers=max(1, n_workers)) as pool:
        for i, st, img in pool.map(job, todo):
            status[i] = st
            if img is not None:
                faces[i] = img
    ok = np.flatnonzero(status == "ok")
    images = np.stack([faces[i] for i in ok]) if len(ok) else np.zeros((0, size, size, 3), np.uint8)
    return FaceSet(
        frame=frame.reset_index(drop=True),
        status=status.astype(str),
        images=images,
        align=align,
        size=size,
        sources={"root": str(root)},
    )
