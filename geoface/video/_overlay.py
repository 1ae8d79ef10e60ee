"""``--overlay-video FILE.mp4``: box, landmarks, mesh and track id drawn on every sampled frame.

The overlay is made while the frame table is merged: each chunk's frames are
decoded again, its faces drawn (with the stitched, smoothed landmarks the table
holds) and the frames appended to an H.264 MP4 written with PyAV. Memory stays
flat: one chunk of frames at a time. For checking a tracker by eye.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["OverlayWriter", "overlay_path"]

#: Colours of track ids (Okabe–Ito, colour-blind safe), RGB.
_TRACK_COLOURS = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)


def overlay_path(target: Path, video_id: str, n_videos: int) -> Path:
    """The overlay file of one video: ``target`` itself, or ``STEM-<video id>.mp4`` for several."""
    if n_videos <= 1:
        return target
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id).strip("_") or "video"
    return target.with_name(f"{target.stem}-{safe}{target.suffix or '.mp4'}")


class OverlayWriter:
    """Writes one video's overlay MP4, chunk by chunk (temporary name, renamed on close).

    Parameters
    ----------
    path : Path
        The MP4 to write.
    info : VideoInfo
        The video (its frames are decoded again).
    mesh : Mesh
    faces : {"largest", "all"}
    max_side : int, default=960
        The overlay's longer side.
    """

    def __init__(self, path: Path, info, *, mesh, faces: str = "largest", max_side: int = 960):
        import os

        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.mp4")
        self.info = info
        self.mesh = mesh
        self.faces = faces
        s = min(1.0, max_side / max(info.width, info.height))
        self.size = (
            max(2, round(info.width * s)) // 2 * 2,
            max(2, round(info.height * s)) // 2 * 2,
        )
        self.max_side = max(self.size)
        rate = info.measured_fps or info.nominal_fps or 25.0
        self.container = av.open(str(self.tmp), mode="w")
        from fractions import Fraction

        self.stream = self.container.add_stream("libx264", rate=Fraction(round(rate * 1000), 1000))
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": "veryfast", "crf": "23"}
        self.n = 0

    def add(self, chunk) -> None:
        """Draw and append the frames of one :class:`FrameChunk`."""
        import av
        import cv2

        from ..landmarks import draw_overlay
        from ._decode import read_frames

        frames = chunk.meta["frame"].to_numpy(np.int64)
        wanted = np.unique(frames)
        tracks = chunk.meta["track_id"]
        status = chunk.qc["qc_status"].to_numpy()
        for vf in read_frames(self.info, wanted):
            rows = np.flatnonzero(frames == vf.ordinal)
            if vf.image is None:
                image = np.zeros((self.info.height, self.info.width, 3), np.uint8)
            else:
                image = vf.image
            lms = chunk.landmarks[rows]
            boxes = []
            for r in rows:
                x, y = chunk.qc["qc_box_x"].iloc[r], chunk.qc["qc_box_y"].iloc[r]
                w, h = chunk.qc["qc_box_w"].iloc[r], chunk.qc["qc_box_h"].iloc[r]
                if np.isfinite([x, y, w, h]).all():
                    boxes.append(np.array([x, y, x + w, y + h]))
            word = status[rows[0]] if len(rows) else vf.status
            title = f"frame {vf.ordinal}  t={vf.time_s:.2f}s  {word}"
            out = draw_overlay(
                image, lms, boxes=boxes, mesh=self.mesh, title=title, max_side=self.max_side
            )
            scale = out.shape[1] / image.shape[1]
            for r in rows:
                t = tracks.iloc[r]
                x, y = chunk.qc["qc_box_x"].iloc[r], chunk.qc["qc_box_y"].iloc[r]
                if t is None or t is np.nan or not np.isfinite([x, y]).all() or str(t) == "<NA>":
                    continue
                colour = _TRACK_COLOURS[int(t) % len(_TRACK_COLOURS)]
                org = (int(x * scale), max(12, int(y * scale) - 6))
                cv2.putText(
                    out,
                    f"track {int(t)}",
                    org,
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5,
                    colour,
                    2,
                    cv2.LINE_AA,
                )
            if (out.shape[1], out.shape[0]) != self.size:
                out = cv2.resize(out, self.size, interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(out), format="rgb24")
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
            self.n += 1

    def close(self) -> Path:
        """Flush the encoder and rename the file into place; return its path."""
        from .._atomic import replace_together

        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        replace_together([(self.tmp, self.path)])
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary file."""
        try:
            self.container.close()
        except Exception:
            pass
        self.tmp.unlink(missing_ok=True)
