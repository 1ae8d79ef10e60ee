"""What a video file holds: its stream facts and the presentation-time index of every frame.

:func:`probe_video` demultiplexes the first video stream without decoding it
(only its first picture is decoded, for the rotation tag) and sorts the
presentation timestamps of its packets: frame ordinal ``k`` is the ``k``-th
presentation time. Frame numbers and times are therefore exact for variable
frame rate, and any range of frames can be found and decoded on its own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import GeofaceError

__all__ = [
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "VideoReadError",
    "decoder_versions",
    "is_video_path",
    "probe_video",
]

#: File name endings read as video (lower case).
VIDEO_SUFFIXES: tuple[str, ...] = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".mpg",
    ".mpeg",
    ".mts",
    ".m2ts",
    ".ts",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
)

_HASH_CHUNK = 1 << 20
#: Packets read, at most, looking for a first picture that carries the rotation tag.
_ROTATION_PACKETS = 64


class VideoReadError(GeofaceError):
    """A video file that gives no frame at all, with the status its one row gets.

    Parameters
    ----------
    status : {"unreadable_video", "no_video_stream", "empty_video", "too_large"}
        The ``qc_status`` word (declared in :data:`geoface.statuses.VIDEO_STATUSES`).
    message : str
        One line: the file, what is wrong, what to do.
    """

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status

    def __reduce__(self):
        return (type(self), (self.status, str(self)))


@dataclass(frozen=True, eq=False)
class VideoInfo:
    """The facts of one video's first video stream, and its frame index.

    Attributes
    ----------
    path : str
    container : str
        The demuxer's name (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"matroska,webm"``, ``"avi"``…).
    codec : str
        The video codec (``"h264"``, ``"vp9"``, ``"av1"``, ``"mjpeg"``…).
    width, height : int
        The displayed size, after the rotation tag is applied.
    rotation : {0, 90, 180, 270}
        Degrees clockwise the stored pictures are turned to be upright (the
        container's display-matrix or ``rotate`` tag).
    nominal_fps : float or None
        The frame rate the container declares.
    measured_fps : float or None
        Frames per second of the presentation timestamps: ``(n_frames - 1)``
        over the time from the first frame to the last.
    vfr : bool
        Whether frame intervals vary (by more than two timestamp ticks and 2 %).
    duration_s : float
        From the first frame to the end of the last.
    n_frames : int
        Frames in the index (including ``n_missing`` at the end).
    times : ndarray of shape (n_frames,)
        Seconds from the first frame, sorted: frame ordinal ``k`` is shown at ``times[k]``.
    has_audio : bool
    bytes : int
        File size.
    sha1 : str
        SHA-1 of the file's bytes (read in chunks): the cache key of its results.
    stream_index : int
        Index of the video stream in the file.
    time_base : Fraction
        Unit of ``pts``, in seconds.
    pts : ndarray of shape (n_frames,), int64
        The presentation timestamp of each frame, sorted (``times`` in stream units).
    keyframes : ndarray of int64
        Ordinals of the frames whose packets are keyframes, sorted.
    n_missing : int
        Frames the container's own index lists but the file does not hold
        (a truncated file): the last ``n_missing`` ordinals, with times
        estimated from that index. They decode as ``missing_frames``.
    frame_order : {"pts", "decode"}
        How decoded pictures are matched to ordinals: by their timestamps, or
        (``"decode"``) by counting them from the keyframe decoding starts at,
        for files whose timestamps do not follow the display order of a codec
        that reorders pictures (H.264 with B-frames in AVI).
    decoder : str
        The FFmpeg decoder that reads the stream (``"h264"``, ``"libdav1d"``…).
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    rotation: int
    nominal_fps: float | None
    measured_fps: float | None
    vfr: bool
    duration_s: float
    n_frames: int
    times: np.ndarray = field(repr=False)
    has_audio: bool
    bytes: int
    sha1: str
    stream_index: int = 0
    time_base: Fraction = Fraction(1, 1)
    pts: np.ndarray | None = field(default=None, repr=False)
    keyframes: np.ndarray | None = field(default=None, repr=False)
    n_missing: int = 0
    frame_order: str = "pts"
    decoder: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able facts of the stream (no per-frame arrays), for a sidecar.

        Returns
        -------
        dict
        """
        return {
            "path": self.path,
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "nominal_fps": self.nominal_fps,
            "measured_fps": self.measured_fps,
            "vfr": self.vfr,
            "duration_s": self.duration_s,
            "n_frames": self.n_frames,
            "n_missing": self.n_missing,
            "frame_order": self.frame_order,
            "decoder": self.decoder,
            "n_keyframes": 0 if self.keyframes is None else len(self.keyframes),
            "has_audio": self.has_audio,
            "bytes": self.bytes,
            "sha1": self.sha1,
        }


def is_video_path(path: str | os.PathLike) -> bool:
    """Whether a file name ends like a video (:data:`VIDEO_SUFFIXES`, any case).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    bool
    """
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _rate(value) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ZeroDivisionError):
        return None
    return f if np.isfinite(f) and f > 0 else None


def _clockwise(ccw_degrees: float) -> int:
    """Display-matrix angle (counter-clockwise, as FFmpeg gives it) → clockwise quarter turns."""
    return round(-float(ccw_degrees) / 90.0) % 4 * 90


def _rotation_of(av, packet) -> int | None:
    """The rotation tag carried by the first picture this packet completes, if any."""
    try:
        frames = packet.decode()
    except av.error.FFmpegError:
        return None
    return _clockwise(frames[0].rotation) if frames else None


def _pick_stream(container):
    for stream in container.streams.video:
        if not (int(stream.disposition) & int(stream.disposition.attached_pic)):
            return stream
    return None


def probe_video(path: str | os.PathLike, *, max_pixels: int | None = None) -> VideoInfo:
    """Read a video's stream facts and build its presentation-time index (no full decode).

    Parameters
    ----------
    path : str or path-like
    max_pixels : int, optional
        Pictures larger than this (width × height) are refused as
        ``too_large`` before any is decoded; by default the image budget,
        :data:`geoface.landmarks.DEFAULT_MAX_PIXELS`. ``0`` means no limit.

    Returns
    -------
    VideoInfo

    Raises
    ------
    VideoReadError
        ``status="unreadable_video"`` (missing, not a video, or damaged
        beyond reading), ``"no_video_stream"`` (audio only) or
        ``"empty_video"`` (zero bytes, or a video stream with no frame) or
        ``"too_large"`` (pictures above ``max_pixels``).
    """
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoReadError("unreadable_video", f"video {str(p)!r} does not exist or is no file")
    size = p.stat().st_size
    if size == 0:
        raise VideoReadError("empty_video", f"video {str(p)!r} is empty (0 bytes)")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).split(":")[0].replace("[Errno", "").strip() or type(exc).__name__
        raise VideoReadError(
            "unreadable_video", f"video {str(p)!r} cannot be read as a video ({reason})"
        ) from None
    if max_pixels is None:
        from ..landmarks import DEFAULT_MAX_PIXELS

        max_pixels = DEFAULT_MAX_PIXELS
    with container:
        stream = _pick_stream(container)
        if stream is None:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise VideoReadError(
                "no_video_stream",
                f"{str(p)!r} has no video stream (streams: {', '.join(kinds)})",
            )
        has_audio = len(container.streams.audio) > 0
        declared = int(stream.width or 0) * int(stream.height or 0)
        if max_pixels and declared > max_pixels:
            raise VideoReadError(
                "too_large",
                f"video {str(p)!r} has pictures of {stream.width} x {stream.height} pixels, "
                f"more than max_pixels={max_pixels}; raise the limit to read it",
            )
        pts_list: list[int] = []
        key_list: list[bool] = []
        dts_list: list[int] = []
        last_duration = 0
        rotation = None
        try:
            for packet in container.demux(stream):
                if rotation is None and len(pts_list) < _ROTATION_PACKETS:
                    # the first picture carries the container's display matrix
                    rotation = _rotation_of(av, packet)
                if packet.size == 0 or packet.is_discard:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    continue
                pts_list.append(ts)
                key_list.append(bool(packet.is_keyframe))
                dts_list.append(packet.dts if packet.dts is not None else ts)
                last_duration = packet.duration or 0
        except (av.error.FFmpegError, OSError):
            pass  # a damaged or cut file: the frames read so far are the index
        index_entries = [e.timestamp for e in stream.index_entries]
        codec = stream.codec.canonical_name or stream.codec.name or ""
        decoder = stream.codec.name or codec
        container_name = container.format.name
        tb = stream.time_base or Fraction(1, 1)
        nominal = _rate(stream.guessed_rate) or _rate(stream.average_rate)
        reorders = bool(getattr(stream.codec_context, "has_b_frames", False))
        coded_w, coded_h = int(stream.width or 0), int(stream.height or 0)
        stream_index = stream.index
    if not pts_list:
        raise VideoReadError("empty_video", f"video {str(p)!r} holds no frame")

    order = np.argsort(np.asarray(pts_list, dtype=np.int64), kind="stable")
    pts = np.asarray(pts_list, dtype=np.int64)[order]
    keep = np.concatenate([[True], np.diff(pts) > 0])  # a timestamp repeated: one frame
    pts = pts[keep]
    is_key = np.asarray(key_list, dtype=bool)[order][keep]
    keyframes = np.flatnonzero(is_key).astype(np.int64)
    if len(keyframes) == 0 or keyframes[0] != 0:
        keyframes = np.concatenate([[0], keyframes]).astype(np.int64)

    # frames the container's own index promises beyond the packets the file holds
    n_missing = 0
    if len(index_entries) > len(pts_list):
        last_read = max(dts_list)
        promised = np.unique(np.asarray(index_entries, dtype=np.int64))
        promised = promised[promised > last_read]  # listed after the last packet read
        extra = pts[-1] + (promised - last_read)
        n_missing = len(extra)
        pts = np.concatenate([pts, extra])

    times = (pts - pts[0]).astype(np.float64) * float(tb)
    n = len(pts)
    diffs = np.diff(pts[: n - n_missing]) if n - n_missing > 1 else np.empty(0, np.int64)
    measured = None
    vfr = False
    if len(diffs):
        span = times[n - n_missing - 1] - times[0]
        measured = float(len(diffs) / span) if span > 0 else None
        median = float(np.median(diffs))
        vfr = bool(np.ptp(diffs) > max(2.0, 0.02 * median))
    step = float(np.median(diffs)) * float(tb) if len(diffs) else None
    tail = last_duration * float(tb) if last_duration else (step or (1 / nominal if nominal else 0))
    duration = float(times[-1] + tail)

    # a reordering codec whose packets' timestamps never go back: they follow decode order
    in_decode_order = np.asarray(pts_list, dtype=np.int64)
    by_count = reorders and len(pts_list) > 2 and bool(np.all(np.diff(in_decode_order) > 0))
    frame_order = "decode" if by_count and container_name == "avi" else "pts"
    for array in (times, pts, keyframes):
        array.flags.writeable = False  # the index is a fact of the file
    rotation = rotation or 0
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    return VideoInfo(
        path=str(p),
        container=container_name,
        codec=codec,
        width=width,
        height=height,
        rotation=rotation,
        nominal_fps=nominal,
        measured_fps=measured,
        vfr=vfr,
        duration_s=duration,
        n_frames=n,
        times=times,
        has_audio=has_audio,
        bytes=size,
        sha1=_sha1(p),
        stream_index=stream_index,
        time_base=Fraction(tb),
        pts=pts,
        keyframes=keyframes,
        n_missing=n_missing,
        frame_order=frame_order,
        decoder=decoder,
    )


def decoder_versions() -> dict[str, str]:
    """The versions of PyAV and of the FFmpeg libraries it carries (for a sidecar).

    Returns
    -------
    dict of str to str
        ``{"av": "18.1.0", "libavcodec": "62.28.102", "libavformat": …}``
    """
    import av

    versions = {"av": av.__version__}
    for name, parts in sorted(av.library_versions.items()):
        if name in ("libavcodec", "libavformat", "libavutil", "libswscale"):
            versions[name] = ".".join(str(v) for v in parts)
    return versions
