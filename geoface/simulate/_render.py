"""Grey-level line drawings of faces, for demonstrating image models offline."""

from __future__ import annotations

import numpy as np

__all__ = ["render_face"]

_SHIFT = 4  # sub-pixel precision for OpenCV drawing (1/16 pixel)


def _poly(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def render_face(
    landmarks: np.ndarray, *, size: int = 128, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Draw a face as a simple grey-level line drawing.

    The face is a light oval (jaw line closed over the brows) on a mid-grey
    background, with dark lines for brows, nose, eyes (white, with an iris)
    and lips; an open mouth is filled dark. Mild blur and sensor noise make
    it less synthetic.

    Parameters
    ----------
    landmarks : ndarray of shape (68, 2)
        Pixel coordinates inside a ``size`` × ``size`` image.
    size : int, default=128
    rng : numpy Generator, optional
        For the noise; no noise when omitted.

    Returns
    -------
    image : ndarray of shape (size, size), dtype uint8
    """
    import cv2

    p = np.asarray(landmarks, dtype=float)
    img = np.full((size, size), 96, dtype=np.uint8)
    thick = max(1, round(size / 128))
    aa = cv2.LINE_AA
    # face: jaw and a forehead arc over the brows
    brow_top = p[17:27][::-1].copy()
    brow_top[:, 1] -= 0.35 * np.linalg.norm(p[45] - p[36]) / 1.6
    outline = np.concatenate([p[:17], brow_top])
    cv2.fillPoly(img, [_poly(outline)], 185, aa, _SHIFT)
    # eyes: white with an iris
    for eye in (p[36:42], p[42:48]):
        cv2.fillPoly(img, [_poly(eye)], 235, aa, _SHIFT)
        centre = eye.mean(axis=0)
        radius = 0.22 * np.linalg.norm(eye[3] - eye[0])
        cv2.circle(
            img,
            tuple(int(v) for v in np.round(centre * (1 << _SHIFT))),
            round(radius * (1 << _SHIFT)),
            40,
            -1,
            aa,
            _SHIFT,
        )
        cv2.polylines(img, [_poly(eye)], True, 30, thick, aa, _SHIFT)
    # mouth: lips, filled dark where the inner lips part
    cv2.fillPoly(img, [_poly(p[48:60])], 140, aa, _SHIFT)
    cv2.fillPoly(img, [_poly(p[60:68])], 45, aa, _SHIFT)
    cv2.polylines(img, [_poly(p[48:60])], True, 30, thick, aa, _SHIFT)
    cv2.polylines(img, [_poly(p[60:68])], True, 30, thick, aa, _SHIFT)
    # brows, nose, jaw line
    for seg in (p[17:22], p[22:27], p[27:31], p[31:36], p[:17]):
        cv2.polylines(img, [_poly(seg)], False, 30, thick + (1 if size >= 192 else 0), aa, _SHIFT)
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    if rng is not None:
        noise = rng.normal(0.0, 3.0, img.shape)
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    return img
