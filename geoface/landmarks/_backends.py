"""The landmark-backend interface: images in, ``(n_faces, 68, 2)`` + boxes + scores out.

A :class:`Landmarker` pairs a :class:`FaceDetector` (where are the faces?)
with a landmark model (where are the 68 points in each face box?). Both work
on batches of RGB images; coordinates are in the pixels of the images given.

When the detector finds no face, the landmarker looks again on a copy of the
image whose border is extended by a third on every side (replicated edge
pixels), accepting a weaker detection that covers a large part of the frame:
that is the tight crop, a face that fills the photograph, which detectors
trained on whole scenes miss. Such faces are flagged ``fallback``. With the
detector ``"none"`` the whole image is the face box (for datasets of
pre-cropped faces).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._convention import N_LANDMARKS

__all__ = ["FaceDetector", "Faces", "Landmarker", "WholeImageDetector"]


@dataclass(frozen=True)
class Faces:
    """The faces found in one image.

    Attributes
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
        ``(x, y)`` pixels, iBUG 68-point order.
    boxes : ndarray of shape (n_faces, 4)
        Face boxes ``(x0, y0, x1, y1)`` in pixels.
    scores : ndarray of shape (n_faces,)
        Detector confidence (its own scale: dlib's HOG margin, S3FD's
        probability; NaN where the box was not detected).
    how : {"detected", "fallback", "whole_image", "file"}
        ``"fallback"``: found only on the border-extended copy at the weaker
        threshold (a tight crop); ``"whole_image"``: detector ``"none"``.
    note : str
        Anything worth telling the user about this image.
    """

    landmarks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    how: str = "detected"
    note: str = ""

    def __post_init__(self):
        lm = np.asarray(self.landmarks, dtype=float).reshape(-1, N_LANDMARKS, 2)
        object.__setattr__(self, "landmarks", lm)
        object.__setattr__(self, "boxes", np.asarray(self.boxes, dtype=float).reshape(-1, 4))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=float).reshape(-1))
        if not (len(lm) == len(self.boxes) == len(self.scores)):
            raise ValueError(
                f"Faces: {len(lm)} landmark sets, {len(self.boxes)} boxes and "
                f"{len(self.scores)} scores; they must match"
            )

    def __len__(self) -> int:
        return len(self.landmarks)

    @classmethod
    def none(cls, note: str = "") -> Faces:
        """No face."""
        return cls(np.empty((0, N_LANDMARKS, 2)), np.empty((0, 4)), np.empty(0), note=note)

    def map_points(self, fn) -> Faces:
        """Apply ``fn`` (an ``(..., 2)`` → ``(..., 2)`` coordinate map) to landmarks and boxes."""
        boxes = fn(self.boxes.reshape(-1, 2, 2)).reshape(-1, 4)
        return Faces(fn(self.landmarks), boxes, self.scores, self.how, self.note)


class FaceDetector(abc.ABC):
    """Finds face boxes in RGB images.

    Subclasses implement :meth:`detect`; ``weak=True`` asks for candidates
    down to :attr:`weak_threshold` (used by the tight-crop fallback).
    """

    #: name used on the command line (``--detector NAME``)
    name: str = ""

    @abc.abstractmethod
    def detect(
        self, images: Sequence[np.ndarray], *, weak: bool = False
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Detect faces.

        Parameters
        ----------
        images : sequence of ndarray of shape (height, width, 3), uint8 RGB
        weak : bool, default=False
            Use the lower threshold of the tight-crop fallback.

        Returns
        -------
        list of (boxes, scores)
            Per image: boxes of shape (n, 4) ``(x0, y0, x1, y1)`` and scores
            of shape (n,), best first.
        """

    def fingerprint(self) -> dict[str, Any]:
        """What determines this detector's output (for the landmark cache)."""
        return {"detector": self.name}


class WholeImageDetector(FaceDetector):
    """``--detector none``: the whole image is one face (pre-cropped faces)."""

    name = "none"

    def detect(self, images, *, weak=False):
        out = []
        for img in images:
            h, w = img.shape[:2]
            out.append((np.array([[0.0, 0.0, w - 1.0, h - 1.0]]), np.array([np.nan])))
        return out


def _pad_fraction_boxes(
    detector: FaceDetector, images: Sequence[np.ndarray], pad: float, min_cover: float
) -> list[tuple[np.ndarray, float] | None]:
    """The tight-crop fallback: weak detection on border-extended copies."""
    import cv2

    padded, offsets = [], []
    for img in images:
        h, w = img.shape[:2]
        ph, pw = round(pad * h), round(pad * w)
        padded.append(cv2.copyMakeBorder(img, ph, ph, pw, pw, cv2.BORDER_REPLICATE))
        offsets.append((pw, ph))
    found = detector.detect(padded, weak=True)
    result: list[tuple[np.ndarray, float] | None] = []
    for img, (pw, ph), (boxes, scores) in zip(images, offsets, found, strict=True):
        h, w = img.shape[:2]
        best = None
        for box, score in zip(boxes, scores, strict=True):
            b = box - np.array([pw, ph, pw, ph], dtype=float)
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            area = (b[2] - b[0]) * (b[3] - b[1])
            if 0 <= cx < w and 0 <= cy < h and area >= min_cover * w * h:
                if best is None or score > best[1]:
                    best = (b, float(score))
        result.append(best)
    return result


class Landmarker(abc.ABC):
    """A landmark backend: detector + 68-point model, on batches of RGB images.

    Parameters
    ----------
    detector : FaceDetector
    fallback : bool, default=True
        Look again for a face that fills the frame (tight crop) when the
        detector finds none; such faces are returned with ``how="fallback"``.

    Attributes
    ----------
    name : str
        Backend name (``"dlib"``, ``"fan"``, ``"file"``), recorded in the
        table's sidecar.
    batch_size : int
        Images per call that use the hardware well.
    cacheable : bool
        Whether results may be cached by image content.
    """

    name: str = ""
    batch_size: int = 1
    cacheable: bool = True
    #: why this backend was chosen (set by :func:`make_landmarker`)
    choice: str = ""
    #: whether :meth:`process` needs the decoded pixels
    needs_pixels: bool = True
    #: fraction of the image added on each side for the fallback
    fallback_pad: float = 1 / 3
    #: smallest fallback box, as a fraction of the image area
    fallback_min_cover: float = 0.3

    def __init__(self, *, detector: FaceDetector, fallback: bool = True):
        self.detector = detector
        self.fallback = fallback

    @abc.abstractmethod
    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Landmarks for given boxes.

        Parameters
        ----------
        images : sequence of ndarray of shape (height, width, 3), uint8 RGB
        boxes : sequence of ndarray of shape (n_i, 4)

        Returns
        -------
        list of ndarray of shape (n_i, 68, 2)
        """

    def detect(self, images: Sequence[np.ndarray]) -> list[Faces]:
        """Find the faces of each image and their landmarks.

        Parameters
        ----------
        images : sequence of ndarray of shape (height, width, 3), uint8 RGB

        Returns
        -------
        list of Faces
            One per image, coordinates in that image's pixels.
        """
        images = list(images)
        found = self.detector.detect(images)
        boxes = [np.asarray(b, dtype=float).reshape(-1, 4) for b, _ in found]
        scores = [np.asarray(s, dtype=float).reshape(-1) for _, s in found]
        how = ["whole_image" if self.detector.name == "none" else "detected"] * len(images)
        misses = [i for i, b in enumerate(boxes) if len(b) == 0]
        if misses and self.fallback and self.detector.name != "none":
            again = _pad_fraction_boxes(
                self.detector,
                [images[i] for i in misses],
                self.fallback_pad,
                self.fallback_min_cover,
            )
            for i, hit in zip(misses, again, strict=True):
                if hit is not None:
                    boxes[i], scores[i], how[i] = hit[0][None], np.array([hit[1]]), "fallback"
        todo = [i for i, b in enumerate(boxes) if len(b)]
        fitted = self.fit([images[i] for i in todo], [boxes[i] for i in todo]) if todo else []
        landmarks = [np.empty((0, N_LANDMARKS, 2))] * len(images)
        for i, lm in zip(todo, fitted, strict=True):
            landmarks[i] = lm
        out = []
        for i in range(len(images)):
            note = ""
            if how[i] == "fallback":
                note = "face fills the frame: found on a border-extended copy at a lower threshold"
            out.append(Faces(landmarks[i], boxes[i], scores[i], how=how[i], note=note))
        return out

    def process(self, paths: Sequence[Any], loaded: Sequence[Any]) -> list[Faces]:
        """Faces of decoded images, in original-image pixels.

        Parameters
        ----------
        paths : sequence of Path
            The image files (used by backends that read landmarks from files).
        loaded : sequence of LoadedImage
            The decoded images; landmarks are found on their working copies
            and mapped back to the original pixels.

        Returns
        -------
        list of Faces
        """
        faces = self.detect([item.image for item in loaded])
        return [f.map_points(item.to_original) for f, item in zip(faces, loaded, strict=True)]

    def fingerprint(self) -> dict[str, Any]:
        """What determines this backend's output (the landmark cache key)."""
        return {"landmarker": self.name, **self.detector.fingerprint(), "fallback": self.fallback}

    def versions(self) -> dict[str, str]:
        """Versions of the libraries this backend runs on (for the sidecar)."""
        import cv2

        return {"opencv": cv2.__version__}

    def describe(self) -> str:
        """One line for the user: backend, detector, device."""
        return f"{self.name} (detector {self.detector.name})"
