"""The dlib backend: HOG face detector + the 68-point shape predictor (works offline).

The 68-point model (``shape_predictor_68_face_landmarks.dat``, trained on
iBUG 300-W) ships inside the ``face-recognition-models`` package; dlib itself
comes from the ``dlib-bin`` wheels. Both are the ``dlib`` extra:
``pip install 'geoface[dlib]'``.
"""

from __future__ import annotations

import importlib.util
import os
import queue
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import MissingDependencyError
from ._backends import FaceDetector, Landmarker

__all__ = ["DLIB_MODEL_FILE", "DlibLandmarker", "HogDetector", "dlib_available", "dlib_model_path"]

#: The 68-point shape predictor's file name inside ``face_recognition_models/models``.
DLIB_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
_INSTALL = "pip install 'geoface[dlib]'"


def _import_dlib():
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError(
            f"the dlib landmarker needs the dlib package: {_INSTALL}"
        ) from None
    return dlib


def dlib_model_path() -> Path:
    """Where the 68-point model file is, without importing ``face_recognition_models``.

    Raises
    ------
    MissingDependencyError
        When the package or its model file is absent.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = Path(loc) / "models" / DLIB_MODEL_FILE
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"the dlib landmarker needs the model file {DLIB_MODEL_FILE} from the "
        f"face-recognition-models package: {_INSTALL}"
    )


def dlib_available() -> bool:
    """True when dlib imports and its 68-point model file is installed."""
    try:
        _import_dlib()
        dlib_model_path()
    except MissingDependencyError:
        return False
    return True


def _default_jobs() -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, n or 1))


class HogDetector(FaceDetector):
    """dlib's frontal-face detector (HOG features + linear SVM).

    It finds faces of about 80 pixels and larger at the resolution it scans.
    Images larger than ``detect_side`` (longer side) are scanned downscaled
    to it, so faces down to about a tenth of the longer side are found;
    smaller images are upsampled by powers of two (dlib's pyramid
    upsampling) while the result stays within 1.5 × ``detect_side`` — a
    500-pixel photo is scanned at 1000 pixels and its 40-pixel faces are
    found, a 64-pixel crop at 512.

    Parameters
    ----------
    detect_side : int, default=800
    threshold : float, default=0.0
        SVM score a detection needs.
    weak_threshold : float, default=-0.4
        Score accepted by the tight-crop fallback.
    n_jobs : int, optional
        Images scanned in parallel (dlib's detector is not thread-safe, so
        each thread has its own); at most 4 by default.
    """

    name = "hog"

    def __init__(
        self,
        *,
        detect_side: int = 800,
        threshold: float = 0.0,
        weak_threshold: float = -0.4,
        n_jobs: int | None = None,
    ):
        self.detect_side = int(detect_side)
        self.threshold = float(threshold)
        self.weak_threshold = float(weak_threshold)
        self.n_jobs = _default_jobs() if n_jobs is None else max(1, int(n_jobs))
        self._dlib = _import_dlib()
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        self._made = 0
        self._executor: ThreadPoolExecutor | None = None

    def _borrow(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            self._made += 1
            return self._dlib.get_frontal_face_detector()

    def _one(self, image: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        h, w = image.shape[:2]
        longer = max(h, w)
        upsample = 0
        if longer > self.detect_side:
            s = self.detect_side / longer
            small = cv2.resize(
                image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
            )
        else:
            s, small = 1.0, image
            while upsample < 3 and longer * 2 ** (upsample + 1) <= 1.5 * self.detect_side:
                upsample += 1
        det = self._borrow()
        try:
            rects, scores, _ = det.run(np.ascontiguousarray(small), upsample, threshold)
        finally:
            self._pool.put(det)
        if not len(rects):
            return np.empty((0, 4)), np.empty(0)
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=float)
        boxes = (boxes + 0.5) / s - 0.5
        scores = np.asarray(scores, dtype=float)
        order = np.argsort(-scores, kind="stable")
        return boxes[order], scores[order]

    def detect(self, images, *, weak=False):
        threshold = self.weak_threshold if weak else self.threshold
        images = list(images)
        if len(images) > 1 and self.n_jobs > 1:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.n_jobs, thread_name_prefix="geoface-hog")
            return list(self._executor.map(lambda im: self._one(im, threshold), images))
        return [self._one(im, threshold) for im in images]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "detector": self.name,
            "detect_side": self.detect_side,
            "threshold": self.threshold,
            "weak_threshold": self.weak_threshold,
        }

    def close(self) -> None:
        """Stop the worker threads (they stop by themselves at exit too)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __del__(self):  # pragma: no cover - best effort
        ex = getattr(self, "_executor", None)
        if ex is not None:
            ex.shutdown(wait=False)


class DlibLandmarker(Landmarker):
    """dlib's 68-point shape predictor (an ensemble of regression trees).

    Parameters
    ----------
    detector : "hog", "sfd", "none" or FaceDetector, default="hog"
        ``"sfd"`` uses face-alignment's S3FD detector (its weights must be
        available, see :class:`~geoface.landmarks.FanLandmarker`).
    detect_side : int, default=800
        Detection resolution (see :class:`HogDetector`).
    n_jobs : int, optional
        Images processed in parallel.
    fallback : bool, default=True
        Tight-crop fallback (see :class:`~geoface.landmarks.Landmarker`).
    model_path : path, optional
        Another dlib 68-point model file.
    """

    name = "dlib"

    def __init__(
        self,
        *,
        detector: str | FaceDetector = "hog",
        detect_side: int = 800,
        n_jobs: int | None = None,
        fallback: bool = True,
        model_path: str | os.PathLike | None = None,
    ):
        from ._registry import make_detector

        dlib = _import_dlib()
        self.model_path = Path(model_path) if model_path is not None else dlib_model_path()
        self.n_jobs = _default_jobs() if n_jobs is None else max(1, int(n_jobs))
        if isinstance(detector, str):
            detector = make_detector(
                detector,
                default="hog",
                detect_side=detect_side,
                n_jobs=self.n_jobs,
            )
        super().__init__(detector=detector, fallback=fallback)
        self.batch_size = max(1, 2 * self.n_jobs)
        self._predictor = dlib.shape_predictor(str(self.model_path))
        self._rect = dlib.rectangle

    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, bxs in zip(images, boxes, strict=True):
            img = np.ascontiguousarray(img)
            pts = np.empty((len(bxs), 68, 2))
            for k, (x0, y0, x1, y1) in enumerate(np.asarray(bxs, dtype=float)):
                rect = self._rect(round(x0), round(y0), round(x1), round(y1))
                shape = self._predictor(img, rect)
                pts[k] = [(p.x, p.y) for p in shape.parts()]
            out.append(pts)
        return out

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp["model"] = {"file": self.model_path.name, "bytes": self.model_path.stat().st_size}
        return fp

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "dlib": str(getattr(_import_dlib(), "__version__", "?"))}
