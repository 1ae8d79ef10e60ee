"""Landmark cache: detections stored by image content, so no image is detected twice.

Layout::

    CACHE_DIR/
        <backend key>/            one folder per backend configuration
            backend.json          what the key stands for (backend, detector, options)
            ab/abcdef….json       one small JSON per image, named by the SHA-1 of its bytes

The backend key is a hash of everything that changes detections (backend,
model files, detector, thresholds, working resolution, geoface version), so
a cache is never read by a differently configured run, and feature options
(mesh, reference, IOD) are not part of it: re-extracting with other feature
options detects nothing. Each entry is written atomically when its image is
done, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_path
from ._backends import Faces

__all__ = ["LandmarkCache"]

_FORMAT = 1


def _floats(a: np.ndarray) -> list:
    arr = np.asarray(a, dtype=float)
    return np.where(np.isfinite(arr), arr, None).tolist() if arr.size else arr.tolist()


class LandmarkCache:
    """A folder of cached detections for one backend configuration.

    Parameters
    ----------
    root : path
        The cache folder (created on first write).
    fingerprint : dict
        What determines the detections (see :meth:`Landmarker.fingerprint`).
    """

    def __init__(self, root: str | os.PathLike, fingerprint: dict[str, Any]):
        self.root = Path(root)
        self.fingerprint = {"format": _FORMAT, **fingerprint}
        blob = json.dumps(self.fingerprint, sort_keys=True, default=str).encode()
        self.key = hashlib.sha1(blob).hexdigest()[:16]
        self.dir = self.root / self.key
        self._described = False

    def _path(self, sha1: str) -> Path:
        return self.dir / sha1[:2] / f"{sha1}.json"

    def get(self, sha1: str) -> tuple[tuple[int, int], Faces] | None:
        """The cached ``(image size, faces)`` of the image with this SHA-1, or None."""
        path = self._path(sha1)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            faces = Faces(
                np.array(doc["landmarks"], dtype=float).reshape(-1, 68, 2),
                np.array(doc["boxes"], dtype=float).reshape(-1, 4),
                np.array(doc["scores"], dtype=float).reshape(-1),
                how=doc["how"],
                note=doc.get("note", ""),
            )
            size = (int(doc["size"][0]), int(doc["size"][1]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: detect again
        return size, faces

    def put(self, sha1: str, size: tuple[int, int], faces: Faces) -> None:
        """Store one image's detections (atomically)."""
        if not self._described:
            desc = self.dir / "backend.json"
            if not desc.exists():
                with atomic_path(desc) as tmp:
                    tmp.write_text(
                        json.dumps(self.fingerprint, indent=1, default=str) + "\n",
                        encoding="utf-8",
                    )
            self._described = True
        doc = {
            "size": [int(size[0]), int(size[1])],
            "how": faces.how,
            "note": faces.note,
            "boxes": _floats(faces.boxes),
            "scores": _floats(faces.scores),
            "landmarks": _floats(faces.landmarks),
        }
        with atomic_path(self._path(sha1)) as tmp:
            tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
