"""Landmarks smoothed over time, per track, on request only.

Two filters, both on the 68 points of one track in time order:

* ``"one-euro"`` — the One-Euro filter (Casiez, Roussel & Vogel, "1€ Filter: A
  Simple Speed-based Low-pass Filter for Noisy Input in Interactive Systems",
  CHI 2012): causal and streaming (:class:`OneEuro`). A first-order low-pass
  filter whose cutoff rises with the speed of the point, so a still face is
  smoothed strongly and a fast movement (an expression's onset) follows with
  little lag. Speeds are measured in inter-ocular distances (IOD) per second,
  so the same parameters work at any resolution and face size.
* ``"savgol"`` — a Savitzky–Golay filter (:func:`scipy.signal.savgol_filter`):
  a centred window (not causal) fitting a polynomial of order 2 by least
  squares; it keeps the height and timing of peaks better than a moving
  average. The window is given in seconds and converted to frames per piece
  (from the piece's median frame interval).

Frames without landmarks (NaN rows) split a track into pieces that are
filtered separately; NaN rows stay NaN. Every function returns, beside the
smoothed points, a JSON-able dict of what was applied (method and
parameters), for the table's sidecar: smoothing is never silent.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._errors import GeofaceError

__all__ = ["SMOOTH_METHODS", "OneEuro", "smooth_landmarks", "smooth_tracks"]

#: ``method=`` choices of :func:`smooth_landmarks`: name → what it is.
SMOOTH_METHODS: dict[str, str] = {
    "none": "raw landmarks, as fitted",
    "one-euro": "One-Euro filter (Casiez et al. 2012): causal, speed-adaptive low-pass",
    "savgol": "Savitzky-Golay filter (SciPy): centred window in seconds, polynomial order 2",
}

_ONE_EURO_DEFAULTS = {"min_cutoff": 1.0, "beta": 5.0, "d_cutoff": 1.0}
_SAVGOL_DEFAULTS = {"window_s": 0.25, "polyorder": 2}


def _iod(points: np.ndarray) -> float:
    """Inter-ocular distance (eye centres) of one 68-point shape."""
    return float(np.linalg.norm(points[36:42].mean(axis=0) - points[42:48].mean(axis=0)))


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def _positive(name: str, value: Any, *, zero_ok: bool = False) -> float:
    ok = isinstance(value, int | float | np.floating | np.integer) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        need = "a number >= 0" if zero_ok else "a number > 0"
        raise GeofaceError(f"{name}={value!r} is not {need}")
    return float(value)


class OneEuro:
    """The One-Euro filter on 68-point shapes, one frame at a time (streaming).

    For each point, the speed is estimated from the filtered positions and
    low-passed at ``d_cutoff``; the position is then low-passed at
    ``min_cutoff + beta * speed``, speed in inter-ocular distances per second
    (the shape's own IOD on that frame). Smoothing factor of a first-order
    filter at cutoff ``f`` over a frame interval ``dt``:
    ``alpha = 1 / (1 + 1 / (2 pi f dt))``.

    Parameters
    ----------
    min_cutoff : float, default=1.0
        Cutoff frequency (Hz) of a still face: lower smooths jitter more, at
        the cost of lag on slow movements.
    beta : float, default=5.0
        How fast the cutoff rises with speed (Hz per IOD/s): higher follows
        fast movements with less lag, and lets more jitter through while the
        face moves. With the defaults a point moving at 2 IOD/s (a mouth
        opening) is filtered at 11 Hz.
    d_cutoff : float, default=1.0
        Cutoff frequency (Hz) of the speed estimate.

    Notes
    -----
    A NaN shape (no face on that frame) returns NaN and restarts the filter:
    the next shape is passed through as it is. Frames must come in increasing
    time; a frame whose time does not increase returns the last estimate.
    """

    def __init__(
        self,
        *,
        min_cutoff: float = _ONE_EURO_DEFAULTS["min_cutoff"],
        beta: float = _ONE_EURO_DEFAULTS["beta"],
        d_cutoff: float = _ONE_EURO_DEFAULTS["d_cutoff"],
    ):
        self.min_cutoff = _positive("min_cutoff", min_cutoff)
        self.beta = _positive("beta", beta, zero_ok=True)
        self.d_cutoff = _positive("d_cutoff", d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past (a new piece of track)."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def params(self) -> dict[str, Any]:
        """What is applied (for the sidecar)."""
        return {
            "method": "one-euro",
            "min_cutoff": self.min_cutoff,
            "beta": self.beta,
            "d_cutoff": self.d_cutoff,
            "units": "cutoffs in Hz; beta in Hz per (inter-ocular distance / s)",
        }

    def filter(self, points: np.ndarray, t: float) -> np.ndarray:
        """Filter the shape of the next frame.

        Parameters
        ----------
        points : ndarray of shape (68, 2)
        t : float
            The frame's time in seconds.

        Returns
        -------
        ndarray of shape (68, 2)
        """
        x = np.asarray(points, dtype=float)
        t = float(t)
        if not np.all(np.isfinite(x)) or not math.isfinite(t):
            self.reset()
            return np.full_like(x, np.nan)
        if self._x is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        if dt <= 0:
            return self._x.copy()
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        iod = _iod(x)
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True) / (iod if iod > 0 else 1.0)
        a = _alpha(self.min_cutoff + self.beta * speed, dt)
        self._x = self._x + a * (x - self._x)
        self._t = t
        return self._x.copy()


def _pieces(valid: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _savgol_window(window_s: float, times: np.ndarray, polyorder: int) -> int:
    """The longest odd window (frames) within ``window_s`` at this piece's frame rate, and
    at least ``polyorder + 1`` frames."""
    dt = np.diff(times)
    dt = dt[dt > 0]
    fps = 1.0 / float(np.median(dt)) if len(dt) else 1.0
    n = int(window_s * fps + 1e-6)
    n = n - 1 if n % 2 == 0 else n
    least = polyorder + 1 if polyorder % 2 == 0 else polyorder + 2
    return max(n, least)


def smooth_landmarks(
    landmarks: np.ndarray, times: np.ndarray, method: str = "none", **params: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Smooth the landmarks of one track over time.

    Parameters
    ----------
    landmarks : ndarray of shape (n_frames, 68, 2)
        One track's points in time order; NaN rows (no face) split the track
        into pieces smoothed separately.
    times : ndarray of shape (n_frames,)
        Seconds (presentation timestamps), increasing.
    method : {"none", "one-euro", "savgol"}, default="none"
    **params
        ``one-euro``: ``min_cutoff``, ``beta``, ``d_cutoff`` (see
        :class:`OneEuro`). ``savgol``: ``window_s`` (default 0.25 s: 7 frames
        at 30 frames/s, 15 at 60) and ``polyorder`` (default 2). Pieces shorter
        than the window are filtered with the longest odd window they hold;
        pieces of ``polyorder`` frames or fewer are left as they are.

    Returns
    -------
    smoothed : ndarray of shape (n_frames, 68, 2)
    applied : dict
        The method and parameters applied (JSON-able), for the sidecar;
        ``savgol`` also lists the window lengths used in frames.
    """
    if method not in SMOOTH_METHODS:
        raise GeofaceError(f"method={method!r} is not one of {set(SMOOTH_METHODS)}")
    lm = np.asarray(landmarks, dtype=float)
    ts = np.asarray(times, dtype=float).reshape(-1)
    if lm.ndim != 3 or lm.shape[1:] != (68, 2):
        raise GeofaceError(f"landmarks of shape {lm.shape} are not (n_frames, 68, 2)")
    if len(ts) != len(lm):
        raise GeofaceError(f"{len(ts)} times for {len(lm)} frames of landmarks; they must match")
    allowed = {"none": {}, "one-euro": _ONE_EURO_DEFAULTS, "savgol": _SAVGOL_DEFAULTS}[method]
    unknown = set(params) - set(allowed)
    if unknown:
        raise GeofaceError(
            f"smoothing {method!r} has no parameter {sorted(unknown)}; "
            f"its parameters are {sorted(allowed) or 'none'}"
        )
    if method == "none":
        return lm.copy(), {"method": "none"}
    valid = np.all(np.isfinite(lm), axis=(1, 2)) & np.isfinite(ts)
    out = np.full_like(lm, np.nan)
    if method == "one-euro":
        f = OneEuro(**params)
        for start, stop in _pieces(valid):
            f.reset()
            for k in range(start, stop):
                out[k] = f.filter(lm[k], ts[k])
        return out, f.params()
    from scipy.signal import savgol_filter

    window_s = _positive("window_s", params.get("window_s", _SAVGOL_DEFAULTS["window_s"]))
    polyorder = params.get("polyorder", _SAVGOL_DEFAULTS["polyorder"])
    if not isinstance(polyorder, int | np.integer) or not 0 <= polyorder <= 5:
        raise GeofaceError(f"polyorder={polyorder!r} is not a whole number in [0, 5]")
    windows: set[int] = set()
    for start, stop in _pieces(valid):
        n = stop - start
        window = min(_savgol_window(window_s, ts[start:stop], polyorder), n - (1 - n % 2))
        if window <= polyorder:
            out[start:stop] = lm[start:stop]
            continue
        windows.add(int(window))
        out[start:stop] = savgol_filter(lm[start:stop], window, polyorder, axis=0, mode="interp")
    applied = {
        "method": "savgol",
        "window_s": window_s,
        "polyorder": int(polyorder),
        "window_frames": sorted(windows),
    }
    return out, applied


def smooth_tracks(
    landmarks: np.ndarray,
    times: np.ndarray,
    track_ids: np.ndarray,
    method: str = "none",
    **params: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`smooth_landmarks` on each track of a frame table's rows.

    Parameters
    ----------
    landmarks : ndarray of shape (n_rows, 68, 2)
    times : ndarray of shape (n_rows,)
    track_ids : ndarray of shape (n_rows,)
        Rows of one track are smoothed together in time order; rows whose id
        is negative or NaN (no track) are left as they are.
    method, **params
        As for :func:`smooth_landmarks`.

    Returns
    -------
    smoothed : ndarray of shape (n_rows, 68, 2)
        In the order of the rows given.
    applied : dict
    """
    lm = np.asarray(landmarks, dtype=float)
    ts = np.asarray(times, dtype=float).reshape(-1)
    ids = np.asarray(track_ids, dtype=float).reshape(-1)
    if not (len(lm) == len(ts) == len(ids)):
        raise GeofaceError(
            f"{len(lm)} landmark rows, {len(ts)} times and {len(ids)} track ids; they must match"
        )
    out = lm.copy()
    applied = smooth_landmarks(lm[:0], ts[:0], method, **params)[1]
    windows: set[int] = set()
    for tid in np.unique(ids[np.isfinite(ids) & (ids >= 0)]):
        rows = np.flatnonzero(ids == tid)
        rows = rows[np.argsort(ts[rows], kind="stable")]
        out[rows], one = smooth_landmarks(lm[rows], ts[rows], method, **params)
        windows.update(one.get("window_frames", []))
    if "window_frames" in applied:
        applied["window_frames"] = sorted(windows)
    return out, applied
