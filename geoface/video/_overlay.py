"""``--overlay-video FILE.mp4``: box, landmarks, mesh and track id drawn on every sampled frame.

The overlay is made while the frame table is merged: each chunk's frames are
decoded again, its faces drawn (with the stitched, smoothed landmarks the table
holds) and the frames appended to an H.264 MP4 written with PyAV. Memory stays
flat: one chunk of frames at a time. For checking a tracker by eye.

``geoface predict … --overlay-video`` uses the same writer with a label per
face: the predicted class, its probability and a probability bar (or the
row's status when it has no prediction), see :class:`FaceLabel`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "FaceLabel",
    "OverlayWriter",
    "overlay_path",
    "prediction_labels",
    "write_prediction_overlay",
]

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


@dataclass(frozen=True)
class FaceLabel:
    """A text drawn under a face of an overlay, with an optional probability bar.

    Attributes
    ----------
    text : str
        E.g. ``"happy 0.87"``, or a status (``"qc_no_face"``).
    probability : float, optional
        Drawn as a bar under the text (0 to 1); None: no bar.
    """

    text: str
    probability: float | None = None


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

    def add(self, chunk, labels: Sequence[FaceLabel | None] | None = None) -> None:
        """Draw and append the frames of one :class:`FrameChunk`.

        Parameters
        ----------
        chunk : FrameChunk
            Rows of sampled frames (several rows per frame with several faces).
        labels : sequence of FaceLabel or None, optional
            One per row of ``chunk``: drawn under the row's face box (top left,
            under the title, when the row has no box).
        """
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
            if labels is not None:
                free = 0  # labels of rows without a box stack under the title
                for r in rows:
                    label = labels[r]
                    if label is None:
                        continue
                    x, y = chunk.qc["qc_box_x"].iloc[r], chunk.qc["qc_box_y"].iloc[r]
                    h = chunk.qc["qc_box_h"].iloc[r]
                    if np.isfinite([x, y, h]).all():
                        org = (int(x * scale), int((y + h) * scale) + 18)
                    else:
                        org = (6, 44 + 34 * free)
                        free += 1
                    draw_label(out, label, org)
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


def draw_label(image: np.ndarray, label: FaceLabel, org: tuple[int, int]) -> np.ndarray:
    """Draw ``label`` (text, then its probability bar) at ``org`` (the text's baseline start).

    Parameters
    ----------
    image : ndarray of shape (height, width, 3), uint8 RGB
        Drawn on in place.
    label : FaceLabel
    org : (int, int)
        Pixel of the text's bottom-left corner; kept inside the image.

    Returns
    -------
    ndarray
        ``image``.
    """
    import cv2

    h, w = image.shape[:2]
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1
    (tw, th), base = cv2.getTextSize(label.text, font, scale, thick)
    bar_w, bar_h = 100, 8
    x = int(min(max(2, org[0]), max(2, w - max(tw, bar_w) - 4)))
    y = int(min(max(th + 4, org[1]), max(th + 4, h - bar_h - 8)))
    # a dark panel so the text reads on any background
    x1 = x + max(tw, bar_w) + 4
    y1 = y + base + (bar_h + 4 if label.probability is not None else 0)
    cv2.rectangle(image, (x - 3, y - th - 4), (min(w - 1, x1), min(h - 1, y1)), (0, 0, 0), -1)
    cv2.putText(image, label.text, (x, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    p = label.probability
    if p is not None and np.isfinite(p):
        top = y + base
        cv2.rectangle(image, (x, top), (x + bar_w, top + bar_h), (110, 110, 110), -1)
        fill = round(bar_w * float(np.clip(p, 0.0, 1.0)))
        if fill > 0:
            cv2.rectangle(image, (x, top), (x + fill, top + bar_h), (230, 159, 0), -1)
    return image


def prediction_labels(pred) -> list[FaceLabel]:
    """One :class:`FaceLabel` per prediction row: ``"<class> <p>"`` and a bar, or the status.

    Parameters
    ----------
    pred : DataFrame
        ``status, y_pred, proba_<class>…`` as ``geoface predict`` writes them.

    Returns
    -------
    list of FaceLabel
    """
    proba_cols = [c for c in pred.columns if str(c).startswith("proba_")]
    proba = pred[proba_cols].to_numpy(dtype=float) if proba_cols else np.zeros((len(pred), 0))
    status = pred["status"].astype(str).to_numpy() if "status" in pred else None
    y = pred["y_pred"].to_numpy(dtype=object) if "y_pred" in pred else None
    out = []
    for i in range(len(pred)):
        row = proba[i]
        usable = y is not None and isinstance(y[i], str) and row.size and np.isfinite(row).any()
        if usable:
            p = float(np.nanmax(row))
            out.append(FaceLabel(f"{y[i]} {p:.2f}", p))
        else:
            out.append(FaceLabel(status[i] if status is not None else "no prediction"))
    return out


def write_prediction_overlay(
    path,
    video_file,
    pred,
    *,
    mesh=None,
    landmarks=None,
    faces: str = "all",
    max_side: int = 960,
    chunk_frames: int = 256,
) -> Path:
    """The overlay video of one video's predictions: faces, track ids, class and probability.

    Parameters
    ----------
    path : path-like
        The MP4 to write (temporary name, renamed when complete).
    video_file : path-like
        The source video; its frames are decoded again (only the frames of ``pred``).
    pred : DataFrame
        The video's prediction rows: ``frame, track_id, status, y_pred, proba_<class>…``
        and the face boxes ``qc_box_x/y/w/h`` when known; several rows per frame
        with several faces.
    mesh : Mesh, optional
        Drawn on the landmarks (the default mesh when None).
    landmarks : ndarray of shape (len(pred), 68, 2), optional
        Each row's landmarks (NaN: none drawn); None draws boxes and labels only.
    faces : str, default="all"
    max_side : int, default=960
        The overlay's longer side.
    chunk_frames : int, default=256
        Frames decoded and drawn at a time (memory stays that of one chunk).

    Returns
    -------
    Path
        ``path``.
    """
    import pandas as pd

    from ..mesh import Mesh
    from ._merge import FrameChunk
    from ._probe import probe_video

    info = probe_video(video_file)
    mesh = Mesh.default() if mesh is None else mesh
    pred = pred.reset_index(drop=True)
    n = len(pred)
    lms = np.full((n, 68, 2), np.nan) if landmarks is None else np.asarray(landmarks, float)
    box_cols = ["qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h"]
    qc = pd.DataFrame(
        {c: pd.to_numeric(pred[c], errors="coerce") if c in pred else np.nan for c in box_cols},
        index=pred.index,
    )
    qc.insert(0, "qc_status", pred["status"].astype(str) if "status" in pred else "")
    track = pred["track_id"] if "track_id" in pred else pd.Series(pd.NA, index=pred.index)
    meta = pd.DataFrame({"frame": pd.to_numeric(pred["frame"]).astype("int64"), "track_id": track})
    order = np.argsort(meta["frame"].to_numpy(), kind="stable")
    labels = prediction_labels(pred)
    frames = meta["frame"].to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    writer = OverlayWriter(Path(path), info, mesh=mesh, faces=faces, max_side=max_side)
    try:
        for a in range(0, len(starts), chunk_frames):
            lo = starts[a]
            hi = starts[a + chunk_frames] if a + chunk_frames < len(starts) else len(order)
            rows = order[lo:hi]
            chunk = FrameChunk(
                landmarks=lms[rows],
                meta=meta.iloc[rows].reset_index(drop=True),
                qc=qc.iloc[rows].reset_index(drop=True),
            )
            writer.add(chunk, labels=[labels[r] for r in rows])
        return writer.close()
    except BaseException:
        writer.abort()
        raise
