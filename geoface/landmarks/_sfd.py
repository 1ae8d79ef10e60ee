"""face-alignment's S3FD face detector, batched on any PyTorch device.

Images of any size are letterboxed into one square (``detect_side``), so a
batch goes through the network at once; candidate boxes are decoded on the
device and thinned by non-maximum suppression.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._errors import MissingDependencyError
from ._backends import FaceDetector
from ._fan import _INSTALL, _import_torch, _load_network, _weights, resolve_device

__all__ = ["S3fdDetector"]

_SFD_MEAN_RGB = (123.0, 117.0, 104.0)


def _nms(rows, iou: float):
    """Greedy non-maximum suppression of rows ``(x0, y0, x1, y1, score)``, best first."""
    import torch

    rows = rows[torch.argsort(rows[:, 4], descending=True)]
    area = (rows[:, 2] - rows[:, 0]).clamp(min=0) * (rows[:, 3] - rows[:, 1]).clamp(min=0)
    alive = torch.ones(len(rows), dtype=torch.bool, device=rows.device)
    keep = []
    for i in range(len(rows)):
        if not alive[i]:
            continue
        keep.append(i)
        lt = torch.maximum(rows[i, :2], rows[i + 1 :, :2])
        rb = torch.minimum(rows[i, 2:4], rows[i + 1 :, 2:4])
        inter = (rb - lt).clamp(min=0).prod(dim=1)
        overlap = inter / (area[i] + area[i + 1 :] - inter).clamp(min=1e-9)
        alive[i + 1 :] &= overlap <= iou
    return rows[keep]


class S3fdDetector(FaceDetector):
    """face-alignment's S3FD detector, batched: images are letterboxed to a square.

    Parameters
    ----------
    device : str, default="auto"
    detect_side : int, default=640
        Side of the square each image is scaled (and padded) into.
    threshold, weak_threshold : float, default=0.5, 0.2
        Face probability needed, normally and in the tight-crop fallback.
    batch_size : int, default=8
    weights_dir : path, optional
    allow_download : bool, default=False
    """

    name = "sfd"

    def __init__(
        self,
        *,
        device: str = "auto",
        detect_side: int = 640,
        threshold: float = 0.5,
        weak_threshold: float = 0.2,
        nms_iou: float = 0.3,
        batch_size: int = 8,
        weights_dir: str | os.PathLike | None = None,
        allow_download: bool = False,
    ):
        torch = _import_torch()
        try:
            from face_alignment.detection.sfd.net_s3fd import s3fd
        except ImportError:
            raise MissingDependencyError(
                f"the sfd detector needs face-alignment: {_INSTALL}"
            ) from None
        self.device = resolve_device(device)
        self.detect_side = int(detect_side)
        self.threshold = float(threshold)
        self.weak_threshold = float(weak_threshold)
        self.nms_iou = float(nms_iou)
        self.batch_size = max(1, int(batch_size))
        self.weights = _weights("sfd", weights_dir, allow_download)
        self._net = _load_network(s3fd(), self.weights, "S3FD").to(self.device).eval()
        self._torch = torch

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        import cv2

        h, w = image.shape[:2]
        s = self.detect_side / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        out = np.empty((self.detect_side, self.detect_side, 3), dtype=np.uint8)
        out[:] = np.asarray(_SFD_MEAN_RGB, dtype=np.uint8)
        out[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=interp)
        return out, s

    def _decode(self, outputs, threshold: float) -> list[np.ndarray]:
        """Network outputs → per image rows ``(x0, y0, x1, y1, score)`` after NMS.

        Candidates below ``threshold`` are dropped before the non-maximum
        suppression: greedy NMS keeps a box only for boxes scored higher, so
        this gives the same faces as suppressing first, at a fraction of the cost.
        """
        torch = self._torch
        owners, boxes, scores = [], [], []
        for i in range(len(outputs) // 2):
            cls = torch.softmax(outputs[2 * i].float(), dim=1)[:, 1]  # (B, H, W)
            b, y, x = torch.nonzero(cls > threshold, as_tuple=True)
            if not len(b):
                continue
            loc = outputs[2 * i + 1].float()[b, :, y, x]  # (n, 4)
            stride = 2 ** (i + 2)
            size = stride * 4.0
            cx = stride / 2 + x.float() * stride + loc[:, 0] * 0.1 * size
            cy = stride / 2 + y.float() * stride + loc[:, 1] * 0.1 * size
            bw = size * torch.exp(loc[:, 2] * 0.2)
            bh = size * torch.exp(loc[:, 3] * 0.2)
            boxes.append(torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1))
            scores.append(cls[b, y, x])
            owners.append(b)
        n = int(outputs[0].shape[0])
        if not boxes:
            return [np.empty((0, 5)) for _ in range(n)]
        owner = torch.cat(owners)
        rows = torch.cat([torch.cat(boxes), torch.cat(scores)[:, None]], dim=1)
        out = []
        for k in range(n):
            mine = rows[owner == k]
            out.append(_nms(mine, self.nms_iou).cpu().numpy().astype(float))
        return out

    def detect(self, images, *, weak=False):
        torch = self._torch
        threshold = self.weak_threshold if weak else self.threshold
        images = list(images)
        results: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            boxed = [self._letterbox(im) for im in chunk]
            x = torch.from_numpy(np.stack([b[0] for b in boxed])).to(self.device)
            x = x.permute(0, 3, 1, 2).float().flip(1)  # RGB → BGR
            x = x - torch.tensor(_SFD_MEAN_RGB[::-1], device=self.device).view(1, 3, 1, 1)
            with torch.inference_mode():
                outputs = self._net(x)
            for (_, s), rows in zip(boxed, self._decode(outputs, threshold), strict=True):
                order = np.argsort(-rows[:, 4], kind="stable")
                rows = rows[order]
                results.append((rows[:, :4] / s, rows[:, 4].astype(float)))
        return results

    def fingerprint(self) -> dict[str, Any]:
        return {
            "detector": self.name,
            "weights": self.weights.name,
            "detect_side": self.detect_side,
            "threshold": self.threshold,
            "weak_threshold": self.weak_threshold,
        }
