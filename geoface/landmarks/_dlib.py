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

from .._convention import MIRROR_PERMUTATION
from .._errors import GeofaceError, MissingDependencyError
from .._threads import current_threads
from ._backends import FaceDetector, Landmarker

__all__ = [
    "DLIB_MIRROR_AVERAGE",
    "DLIB_MODEL_FILE",
    "DLIB_UPSAMPLE",
    "DlibLandmarker",
    "HogDetector",
    "dlib_available",
    "dlib_model_path",
]

#: Faces smaller than this (pixels, longer side of the detected box) are fitted
#: upsampled to it by default (see :class:`DlibLandmarker`).
DLIB_UPSAMPLE = 200

#: Whether the fit is averaged with that of the mirrored face by default (see
#: :class:`DlibLandmarker`).
DLIB_MIRROR_AVERAGE = True

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
    budget = current_threads()  # a thread budget in force (``--threads``) wins
    if budget is not None:
        return budget
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
    mirror_average : bool, default=True
        Also fit the horizontally flipped face (the same, possibly upsampled,
        crop flipped), map its points back (un-flip, then relabel through the
        68-point mirror permutation) and average the two fits. The shape
        predictor's errors are partly left/right asymmetric; averaging cancels
        that part. On HELEN it lowered the error of ~100-pixel faces a little
        (median NME -0.0008); on the 128-pixel CK+ crops it raised the
        balanced accuracy of every model (RBF SVM 0.896 → 0.929; see the
        README's "Real faces"). It doubles the shape predictor's time (not
        the detector's); ``False`` fits the face once.
    upsample : int, default=200
        Faces whose detected box is smaller than this many pixels are fitted
        on a crop around them resized (bicubic) so that the box is this
        size, then mapped back to the image (sub-pixel coordinates). On
        HELEN faces shrunk to ~100 pixels it lowered the median NME from
        0.0274 to 0.0263 (better on 77 % of faces), and on 128-pixel CK+
        crops the left/right disagreement of the fit by 11 %; larger faces
        are fitted as they are. 0 fits every face at the image's own
        resolution (the behaviour before this option).
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
        mirror_average: bool = DLIB_MIRROR_AVERAGE,
        upsample: int = DLIB_UPSAMPLE,
    ):
        from ._registry import make_detector

        if not (isinstance(upsample, int | np.integer) and 0 <= upsample <= 4096):
            raise GeofaceError(
                f"upsample={upsample!r} is not a whole number of pixels in [0, 4096]; use 0 "
                "(off) or the face size to fit small faces at, e.g. 200"
            )
        self.mirror_average = bool(mirror_average)
        self.upsample = int(upsample)
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

    def _predict(self, img: np.ndarray, box) -> np.ndarray:
        x0, y0, x1, y1 = box
        rect = self._rect(round(x0), round(y0), round(x1), round(y1))
        return np.array([(p.x, p.y) for p in self._predictor(img, rect).parts()], dtype=float)

    def _fit_region(self, img: np.ndarray, box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The image to fit ``box`` on, the box in its pixels and the map back.

        Faces smaller than ``upsample`` are fitted on a crop around them resized
        (bicubic) so that the box is ``upsample`` pixels; others on the image itself.
        Returns ``(region, box, (scale_x, scale_y, x0, y0))``: a point ``p`` of the
        region is ``(p + 0.5) / scale - 0.5 + origin`` in the image (pixel centres).
        """
        x0, y0, x1, y1 = (float(v) for v in box)
        side = max(x1 - x0, y1 - y0, 1.0)
        identity = np.array([1.0, 1.0, 0.0, 0.0])
        if not self.upsample or side >= self.upsample:
            return img, np.array([x0, y0, x1, y1]), identity
        import cv2

        h, w = img.shape[:2]
        margin = 0.5 * side
        cx0, cy0 = max(0, int(np.floor(x0 - margin))), max(0, int(np.floor(y0 - margin)))
        cx1, cy1 = min(w, int(np.ceil(x1 + margin)) + 1), min(h, int(np.ceil(y1 + margin)) + 1)
        if cx1 <= cx0 or cy1 <= cy0:  # a box outside the image: fit it as it is
            return img, np.array([x0, y0, x1, y1]), identity
        crop = img[cy0:cy1, cx0:cx1]
        scale = self.upsample / side
        size = (max(1, round((cx1 - cx0) * scale)), max(1, round((cy1 - cy0) * scale)))
        big = np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC))
        fx, fy = size[0] / (cx1 - cx0), size[1] / (cy1 - cy0)
        # pixel centres: x_big + 0.5 = (x - cx0 + 0.5) * fx
        to_big = np.array([fx, fy, fx, fy])
        offset = np.array([cx0, cy0, cx0, cy0], dtype=float)
        return (
            big,
            (np.array([x0, y0, x1, y1]) - offset + 0.5) * to_big - 0.5,
            (np.array([fx, fy, float(cx0), float(cy0)])),
        )

    def _fit_face(self, img: np.ndarray, box) -> np.ndarray:
        """Fit one face (upsampled when small; averaged with its mirror fit when asked)."""
        region, rbox, (fx, fy, ox, oy) = self._fit_region(img, box)
        pts = self._predict(region, rbox)
        if self.mirror_average:
            # the same region flipped: the box flipped with it, the points flipped back
            # and relabelled through the mirror permutation (left eye ↔ right eye …)
            w = region.shape[1]
            x0, y0, x1, y1 = rbox
            back = self._predict(
                np.ascontiguousarray(region[:, ::-1]), (w - 1 - x1, y0, w - 1 - x0, y1)
            )
            back[:, 0] = w - 1 - back[:, 0]
            pts = 0.5 * (pts + back[MIRROR_PERMUTATION])
        pts[:, 0] = (pts[:, 0] + 0.5) / fx - 0.5 + ox
        pts[:, 1] = (pts[:, 1] + 0.5) / fy - 0.5 + oy
        return pts

    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, bxs in zip(images, boxes, strict=True):
            img = np.ascontiguousarray(img)
            pts = np.empty((len(bxs), 68, 2))
            for k, box in enumerate(np.asarray(bxs, dtype=float)):
                pts[k] = self._fit_face(img, box)
            out.append(pts)
        return out

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp["model"] = {"file": self.model_path.name, "bytes": self.model_path.stat().st_size}
        if self.mirror_average:
            fp["mirror_average"] = True
        if self.upsample:
            fp["upsample"] = self.upsample
        return fp

    def describe(self) -> str:
        extra = [
            *(["mirror-averaged"] if self.mirror_average else []),
            *([f"faces under {self.upsample} px upsampled"] if self.upsample else []),
        ]
        return super().describe() + (f", {', '.join(extra)}" if extra else "")

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "dlib": str(getattr(_import_dlib(), "__version__", "?"))}
