"""Quality-control overlays: faces drawn on their photographs with OpenCV (fast, no figure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..mesh import REGION_COLOURS, Mesh

__all__ = ["draw_overlay"]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def draw_overlay(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    boxes: Sequence[np.ndarray] | None = None,
    other_boxes: Sequence[np.ndarray] | None = None,
    mesh: Mesh | None = None,
    title: str | None = None,
    max_side: int = 1024,
) -> np.ndarray:
    """Draw faces (mesh edges coloured by region, the 68 points, the box) on an image.

    Parameters
    ----------
    image : ndarray of shape (height, width, 3), uint8 RGB
    landmarks : ndarray of shape (n_faces, 68, 2)
        In the image's pixels.
    boxes : sequence of ndarray of shape (4,), optional
        Face boxes ``(x0, y0, x1, y1)``, drawn in blue.
    other_boxes : sequence of ndarray of shape (4,), optional
        Boxes of faces found but not kept, drawn thin in grey.
    mesh : Mesh, optional
        The default mesh when None.
    title : str, optional
        Written in the top-left corner.
    max_side : int, default=1024
        The overlay is downscaled to this longer side.

    Returns
    -------
    ndarray of shape (h, w, 3), uint8 RGB
    """
    import cv2

    mesh = Mesh.default() if mesh is None else mesh
    h, w = image.shape[:2]
    s = min(1.0, max_side / max(h, w))
    out = (
        image
        if s == 1.0
        else cv2.resize(
            image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
    )
    out = np.ascontiguousarray(out.copy())
    thick = max(1, round(max(out.shape[:2]) / 500))
    shift = 4  # sub-pixel drawing: coordinates × 16
    colours = [_rgb(REGION_COLOURS[r]) for r in mesh.edge_regions]
    for pts in np.asarray(landmarks, dtype=float).reshape(-1, 68, 2):
        if not np.isfinite(pts).all():
            continue
        q = np.rint(((pts + 0.5) * s - 0.5) * (1 << shift)).astype(np.int64)
        for (a, b), colour in zip(mesh.edges, colours, strict=True):
            cv2.line(
                out, tuple(map(int, q[a])), tuple(map(int, q[b])), colour, thick, cv2.LINE_AA, shift
            )
        for p in q:
            cv2.circle(
                out,
                tuple(map(int, p)),
                (thick + 1) << shift,
                (255, 255, 255),
                -1,
                cv2.LINE_AA,
                shift,
            )
    for group, colour, width in (
        (other_boxes, (160, 160, 160), max(1, thick // 2)),
        (boxes, (0, 114, 178), thick),
    ):
        for box in group or []:
            b = np.asarray(box, dtype=float).ravel()
            if b.size == 4 and np.isfinite(b).all():
                p0 = tuple(int(v) for v in np.rint((b[:2] + 0.5) * s - 0.5))
                p1 = tuple(int(v) for v in np.rint((b[2:] + 0.5) * s - 0.5))
                cv2.rectangle(out, p0, p1, colour, width, cv2.LINE_AA)
    if title:
        scale = max(0.4, max(out.shape[:2]) / 1400)
        org = (6, int(22 * scale) + 4)
        cv2.putText(
            out, title, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA
        )
        cv2.putText(
            out, title, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA
        )
    return out
