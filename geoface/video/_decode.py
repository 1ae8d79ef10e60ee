"""Decode chosen frames of a video: one :class:`VideoFrame` per wanted ordinal, none lost.

Decoding starts at the keyframe at or before the first wanted frame and runs
forward (seeking ahead to the next wanted frame's keyframe over long stretches
of unwanted frames); each decoded picture is matched to its ordinal by its presentation
timestamp in the index :func:`~geoface.video.probe_video` built, so a range of
frames decodes to the same pixels whether it is read alone or as part of the
whole video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .._errors import GeofaceError
from ._probe import VideoInfo

__all__ = ["VideoFrame", "read_frames"]


@dataclass
class VideoFrame:
    """One wanted frame of a video.

    Attributes
    ----------
    ordinal : int
        Position in the presentation-time index (0 = first frame).
    time_s : float
        Seconds from the first frame (presentation timestamp).
    image : ndarray of shape (height, width, 3), uint8 RGB, or None
        Upright (rotation tag applied) and, with ``max_side``, downscaled;
        None when the frame could not be decoded.
    status : {"ok", "unreadable_frame", "missing_frames"}
        ``unreadable_frame``: the file holds the frame but its data does not
        decode; ``missing_frames``: the file does not hold it (cut short).
    note : str
        Why, when the status is not ``ok``.
    scale : float
        Working pixels per displayed pixel (1 unless ``max_side`` shrank the
        image): divide coordinates found on ``image`` by ``scale`` to get
        pixels of the upright full-size frame.
    """

    ordinal: int
    time_s: float
    image: np.ndarray | None
    status: str = "ok"
    note: str = ""
    scale: float = 1.0


_NOT_HELD = "the container's index lists this frame, but the file does not hold it (cut short)"


#: A wanted frame whose keyframe lies this many frames or more after the previous wanted
#: frame is reached by seeking to that keyframe instead of decoding the frames between.
_SEEK_GAP = 16


class _Overshoot(Exception):
    """The seek landed after the keyframe asked for: decode from an earlier one."""


def _check_ordinals(info: VideoInfo, ordinals) -> np.ndarray:
    ords = np.asarray(ordinals)
    if ords.size and not np.issubdtype(ords.dtype, np.integer):
        raise GeofaceError(f"ordinals must be whole numbers, got dtype {ords.dtype}")
    ords = ords.astype(np.int64).ravel()
    if ords.size:
        if np.any(np.diff(ords) <= 0):
            raise GeofaceError("ordinals must be sorted without repeats; sort them with np.unique")
        if ords[0] < 0 or ords[-1] >= info.n_frames:
            raise GeofaceError(
                f"ordinals run from {ords[0]} to {ords[-1]}, but {info.path!r} has frames "
                f"0 to {info.n_frames - 1}"
            )
    return ords


def _working_size(width: int, height: int, max_side: int | None) -> tuple[int, int, float]:
    if max_side is None or max(width, height) <= max_side:
        return width, height, 1.0
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def _packet_ts(packet) -> int | None:
    return packet.pts if packet.pts is not None else packet.dts


class _Progress:
    """What one decoding pass has seen: packets read, decoder errors, where reading began."""

    def __init__(self, wanted_ts: np.ndarray):
        self.wanted_ts = wanted_ts  # sorted timestamps of the wanted frames
        self.demuxed: set[int] = set()  # wanted frames read and not yet answered (a few)
        self.errors: list[str] = []
        self.landed: int | None = None  # ordinal of the first packet read

    def read(self, ts: int) -> None:
        k = int(np.searchsorted(self.wanted_ts, ts))
        if k < len(self.wanted_ts) and self.wanted_ts[k] == ts:
            self.demuxed.add(ts)

    def why(self) -> str:
        return self.errors[-1] if self.errors else "no picture came out of the decoder"


def _decoded(av, container, stream, pts: np.ndarray, start_kf: int, progress: _Progress):
    """Decoded pictures from the (already sought) position, in the decoder's output order."""
    try:
        for packet in container.demux(stream):
            ts = _packet_ts(packet)
            if packet.size and ts is not None:
                if progress.landed is None:
                    landed = int(np.searchsorted(pts, ts))
                    if landed < len(pts) and pts[landed] == ts:
                        if start_kf > 0 and landed > start_kf:
                            raise _Overshoot
                        progress.landed = landed
                progress.read(ts)
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                progress.errors.append(str(exc).split(";")[0])
                continue
            yield from frames
    except (av.error.FFmpegError, OSError) as exc:
        progress.errors.append(f"reading stopped: {exc}")
        try:
            frames = stream.codec_context.decode(None)
        except av.error.FFmpegError:
            frames = []
        yield from frames


def _to_image(frame, rotation: int, size: tuple[int, int, float]) -> np.ndarray:
    img = frame.to_ndarray(format="rgb24")
    if rotation:
        img = np.ascontiguousarray(np.rot90(img, k=-(rotation // 90)))
    width, height, scale = size
    if scale != 1.0:
        import cv2

        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    return img


def read_frames(
    info: VideoInfo,
    ordinals,
    *,
    max_side: int | None = None,
    threads: int = 0,
) -> Iterator[VideoFrame]:
    """Decode the wanted frames of a video, in order, one :class:`VideoFrame` each.

    Decoding starts at the keyframe at or before the first wanted frame (and
    again at the keyframe before a wanted frame that lies far after the
    previous one); frames are matched to ordinals by their presentation
    timestamps, so the pixels of a frame do not depend on which other frames
    are read with it.

    Parameters
    ----------
    info : VideoInfo
        From :func:`~geoface.video.probe_video`.
    ordinals : array-like of int
        Sorted, distinct frame ordinals (e.g. from :meth:`Sampling.select`).
    max_side : int, optional
        Downscale (OpenCV ``INTER_AREA``) so the longer side is at most this
        many pixels; each frame reports its ``scale``.
    threads : int, default=0
        Decoder threads (FFmpeg's frame and slice threading); 0 lets FFmpeg
        choose from the CPU count.

    Yields
    ------
    VideoFrame
        Exactly one per wanted ordinal, in order; frames that do not decode
        come with ``image=None`` and status ``unreadable_frame`` or
        ``missing_frames``.

    Raises
    ------
    GeofaceError
        Ordinals not sorted, repeated, or outside the video.
    VideoReadError
        The file can no longer be opened.
    """
    ords = _check_ordinals(info, ordinals)
    if max_side is not None and (
        isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) or max_side < 1
    ):
        raise GeofaceError(f"max_side={max_side!r} must be a whole number of pixels, at least 1")
    if not isinstance(threads, (int, np.integer)) or threads < 0:
        raise GeofaceError(f"threads={threads!r} must be 0 (automatic) or more")
    return _read(info, ords, max_side, int(threads))


def _runs(real: np.ndarray, keyframes: np.ndarray) -> list[np.ndarray]:
    """Cut the wanted ordinals where seeking to the next one's keyframe skips many frames."""
    key_of = keyframes[np.searchsorted(keyframes, real, side="right") - 1]
    cuts = np.flatnonzero(key_of[1:] - real[:-1] >= _SEEK_GAP) + 1
    return np.split(real, cuts)


def _open(av, info: VideoInfo, threads: int):
    from ._probe import VideoReadError

    try:
        container = av.open(info.path)
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoReadError(
            "unreadable_video", f"video {info.path!r} cannot be opened again ({exc})"
        ) from None
    stream = container.streams[info.stream_index]
    stream.thread_type = "AUTO"
    stream.thread_count = threads
    return container, stream


def _read(info: VideoInfo, ords: np.ndarray, max_side, threads: int) -> Iterator[VideoFrame]:
    import av

    if not ords.size:
        return
    n_real = info.n_frames - info.n_missing
    real = ords[ords < n_real]
    size = _working_size(info.width, info.height, max_side)
    state: dict = {}
    try:
        if real.size:
            for run in _runs(real, info.keyframes):
                yield from _read_run(av, info, run, state, threads, size)
    finally:
        if state.get("container") is not None:
            state["container"].close()
    for o in ords[ords >= n_real]:
        yield VideoFrame(int(o), float(info.times[o]), None, "missing_frames", _NOT_HELD, size[2])


def _read_run(av, info: VideoInfo, run: np.ndarray, state: dict, threads: int, size):
    """One :class:`VideoFrame` per ordinal of ``run``, decoding from its first frame's keyframe."""
    pts, times = info.pts, info.times
    n_real = info.n_frames - info.n_missing

    def row(o: int, status: str, note: str) -> VideoFrame:
        return VideoFrame(int(o), float(times[o]), None, status, note, size[2])

    keyframes = info.keyframes[info.keyframes <= run[0]]
    starts = [int(k) for k in keyframes[::-1][:2]]
    if starts[-1] != 0:
        starts.append(0)
    for start_kf in starts:
        if start_kf == 0 or state.get("container") is None:
            if state.get("container") is not None:
                state["container"].close()
            state["container"], state["stream"] = _open(av, info, threads)
        container, stream = state["container"], state["stream"]
        if start_kf > 0:
            try:
                container.seek(int(pts[start_kf]), stream=stream, backward=True)
            except av.error.FFmpegError:
                continue  # no seeking in this file: decode from an earlier keyframe
        progress = _Progress(pts[run])
        frames = _decoded(av, container, stream, pts, start_kf, progress)
        by_count = info.frame_order == "decode"
        try:
            i = 0  # next wanted (index into run)
            last = -1
            count = 0
            for frame in frames:
                ts = frame.pts if frame.pts is not None else frame.dts
                if by_count or ts is None:
                    # timestamps that do not follow display order: count the pictures
                    begin = progress.landed if progress.landed is not None else start_kf
                    o = begin + count if by_count else (last + 1 if last >= 0 else begin)
                    count += 1
                    if o >= n_real:
                        continue
                else:
                    o = int(np.searchsorted(pts, ts))
                    if o >= n_real or pts[o] != ts:
                        continue  # a timestamp the index does not hold
                if o <= last:
                    continue  # out of order after damage: that ordinal is answered
                last = o
                while i < len(run) and run[i] < o:
                    progress.demuxed.discard(int(pts[run[i]]))
                    why = progress.why()
                    yield row(run[i], "unreadable_frame", f"frame does not decode ({why})")
                    i += 1
                if i < len(run) and run[i] == o:
                    progress.demuxed.discard(int(pts[o]))
                    if frame.is_corrupt:
                        yield row(o, "unreadable_frame", "the decoder marked the picture corrupt")
                    else:
                        img = _to_image(frame, info.rotation, size)
                        yield VideoFrame(int(o), float(times[o]), img, "ok", "", size[2])
                    i += 1
                if i >= len(run):
                    break
            while i < len(run):
                o = run[i]
                if int(pts[o]) in progress.demuxed:
                    why = progress.why()
                    yield row(o, "unreadable_frame", f"frame does not decode ({why})")
                else:
                    yield row(o, "missing_frames", "the file ends or breaks before this frame")
                i += 1
            return
        except _Overshoot:
            continue  # the seek landed too late: an earlier keyframe, or the start
        finally:
            frames.close()
