"""Which frames of a video are kept: decided once on the whole presentation-time index.

The choice depends only on the frame times (:attr:`VideoInfo.times`), never on
how the video is later cut into pieces of work, so a frame is kept or not
whatever segment, process or machine decodes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import GeofaceError

__all__ = ["Sampling"]

#: Frames within this many seconds of a target time count as at it (float rounding).
_TIME_TOLERANCE = 1e-6


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GeofaceError(f"{name}={value!r} is not a number; give {name} in seconds")
    value = float(value)
    if not math.isfinite(value):
        raise GeofaceError(f"{name}={value!r} is not finite; give a number of seconds")
    return value


@dataclass(frozen=True)
class Sampling:
    """Which frames to keep: every frame, every N-th, or N per second, within a time window.

    Parameters
    ----------
    fps : float, optional
        Keep the first frame at or after each time ``start + k / fps``
        (k = 0, 1, …): about ``fps`` frames per second, never the same frame
        twice (a rate above the video's keeps every frame). Times are those of
        the presentation timestamps, so variable frame rate is sampled evenly
        in time.
    every : int, optional
        Keep every ``every``-th frame of the window, starting with its first.
    start, end : float, optional
        The window, in seconds from the first frame: frames with
        ``start <= time < end`` (an open end when omitted).

    Notes
    -----
    ``fps`` and ``every`` exclude each other; with neither, every frame of the
    window is kept.
    """

    fps: float | None = None
    every: int | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self):
        if self.fps is not None:
            fps = _number("fps", self.fps)
            if fps <= 0:
                raise GeofaceError(f"fps={self.fps!r} must be above 0 frames per second")
            object.__setattr__(self, "fps", fps)
        if self.every is not None:
            if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)):
                raise GeofaceError(f"every={self.every!r} is not a whole number; give 1, 2, 3, …")
            if self.every < 1:
                raise GeofaceError(f"every={self.every!r} must be at least 1 (1 keeps every frame)")
            object.__setattr__(self, "every", int(self.every))
        if self.fps is not None and self.every is not None:
            raise GeofaceError(
                f"fps={self.fps:g} and every={self.every} were both given; choose one of them"
            )
        if self.start is not None:
            start = _number("start", self.start)
            if start < 0:
                raise GeofaceError(f"start={self.start!r} is before the video; use 0 or more")
            object.__setattr__(self, "start", start)
        if self.end is not None:
            end = _number("end", self.end)
            if end <= (self.start or 0.0):
                raise GeofaceError(
                    f"end={self.end!r} is not after start={self.start or 0.0:g}; "
                    "give an end later than the start"
                )
            object.__setattr__(self, "end", end)

    def select(self, times: np.ndarray) -> np.ndarray:
        """The ordinals of the kept frames.

        Parameters
        ----------
        times : ndarray of shape (n_frames,)
            Sorted frame times in seconds (:attr:`VideoInfo.times`).

        Returns
        -------
        ordinals : ndarray of shape (n_kept,), int64
            Sorted, without repeats.
        """
        times = np.asarray(times, dtype=np.float64)
        n = len(times)
        lo = 0 if self.start is None else int(np.searchsorted(times, self.start - _TIME_TOLERANCE))
        hi = n if self.end is None else int(np.searchsorted(times, self.end - _TIME_TOLERANCE))
        if hi <= lo:
            return np.empty(0, dtype=np.int64)
        if self.fps is not None:
            origin = self.start if self.start is not None else float(times[0])
            last = float(times[hi - 1])
            n_targets = math.floor((last - origin) * self.fps + _TIME_TOLERANCE) + 1
            targets = origin + np.arange(max(n_targets, 0), dtype=np.float64) / self.fps
            found = np.searchsorted(times, targets - _TIME_TOLERANCE)
            found = found[(found >= lo) & (found < hi)]
            return np.unique(found).astype(np.int64)
        step = self.every or 1
        return np.arange(lo, hi, step, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The settings, JSON-able (for a sidecar and a cache key).

        Returns
        -------
        dict
        """
        return {"fps": self.fps, "every": self.every, "start": self.start, "end": self.end}

    def describe(self) -> str:
        """One line for people: ``"2 frames per second from 1.5 s to 10 s"``.

        Returns
        -------
        str
        """
        if self.fps is not None:
            what = f"{self.fps:g} frames per second"
        elif self.every is not None and self.every > 1:
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(
                self.every % 10 if self.every % 100 > 20 else self.every
            )
            what = f"every {self.every}{suffix or 'th'} frame"
        else:
            what = "every frame"
        if self.start is not None:
            what += f" from {self.start:g} s"
        if self.end is not None:
            what += f" to {self.end:g} s"
        return what
