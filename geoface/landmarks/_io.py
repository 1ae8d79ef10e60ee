"""Reading and writing 68-point landmarks: iBUG ``.pts``, CSV and ``.npz``.

The CSV layout is the one OpenFace and py-feat write: one row per face with
columns ``x_0 … x_67, y_0 … y_67`` (pixels) beside any metadata columns such
as ``id, subject, label, path``. Column names are matched after stripping
white space, as OpenFace pads them with a leading space.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._convention import LANDMARK_COLUMNS, N_LANDMARKS, as_landmarks, landmarks_from_frame
from .._errors import GeofaceError

__all__ = [
    "LANDMARK_COLUMNS",
    "landmarks_from_frame",
    "landmarks_to_frame",
    "read_landmark_csv",
    "read_landmarks_npz",
    "read_pts",
    "write_landmark_csv",
    "write_landmarks_npz",
    "write_pts",
]

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- .pts
def read_pts(path: PathLike) -> np.ndarray:
    """Read one face from an iBUG ``.pts`` file.

    Both the standard layout (``version: 1``, ``n_points: 68``, ``{``, 68
    lines of ``x y``, ``}``) and a bare list of 68 ``x y`` lines are accepted.

    Parameters
    ----------
    path : str or path-like
        The ``.pts`` file.

    Returns
    -------
    landmarks : ndarray of shape (68, 2)
        ``(x, y)`` in pixels, as stored in the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeofaceError(f"cannot read landmark file {path}: {exc}") from None
    declared = None
    rows: list[tuple[float, float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line in {"{", "}"} or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            if key.strip().lower() == "n_points":
                try:
                    declared = int(value)
                except ValueError:
                    raise GeofaceError(
                        f"{path}:{lineno}: n_points={value.strip()!r} is not an integer"
                    ) from None
            continue  # version: 1, or another header line
        parts = line.replace(",", " ").split()
        try:
            x, y = (float(v) for v in parts)
        except ValueError:
            raise GeofaceError(
                f"{path}:{lineno}: expected two numbers 'x y', got {line!r}"
            ) from None
        rows.append((x, y))
    if declared is not None and declared != len(rows):
        raise GeofaceError(
            f"{path}: header says n_points={declared} but the file holds {len(rows)} points"
        )
    if len(rows) != N_LANDMARKS:
        raise GeofaceError(
            f"{path}: holds {len(rows)} points; geoface needs the 68-point iBUG markup"
        )
    return np.asarray(rows, dtype=float)


def write_pts(path: PathLike, landmarks: np.ndarray, *, header: bool = True) -> None:
    """Write one face to an iBUG ``.pts`` file (atomically).

    Parameters
    ----------
    path : str or path-like
        Destination file.
    landmarks : ndarray of shape (68, 2)
        ``(x, y)`` in pixels.
    header : bool, default=True
        Write the ``version``/``n_points``/braces header; ``False`` writes the
        68 coordinate lines alone.
    """
    arr = as_landmarks(landmarks)
    if arr.shape[0] != 1:
        raise GeofaceError(f"write_pts writes one face; got {arr.shape[0]}")
    lines = [f"{x:.6f} {y:.6f}" for x, y in arr[0]]
    if header:
        lines = ["version: 1", f"n_points: {N_LANDMARKS}", "{", *lines, "}"]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- CSV
def landmarks_to_frame(landmarks: np.ndarray, meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build a table with metadata columns first, then ``x_0 … x_67, y_0 … y_67``."""
    arr = as_landmarks(landmarks)
    coords = pd.DataFrame(
        np.concatenate([arr[..., 0], arr[..., 1]], axis=1), columns=list(LANDMARK_COLUMNS)
    )
    if meta is None:
        return coords
    if len(meta) != len(coords):
        raise GeofaceError(f"meta has {len(meta)} rows but landmarks hold {len(coords)} faces")
    clash = sorted(set(meta.columns) & set(LANDMARK_COLUMNS))
    if clash:
        raise GeofaceError(f"meta columns {clash} clash with landmark column names")
    return pd.concat([meta.reset_index(drop=True), coords], axis=1)


def read_landmark_csv(path: PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Read a landmark CSV in the OpenFace/py-feat column convention.

    Parameters
    ----------
    path : str or path-like
        CSV with columns ``x_0 … x_67, y_0 … y_67`` and any metadata columns.

    Returns
    -------
    landmarks : ndarray of shape (n_faces, 68, 2)
        NaN where a value is missing or not a number.
    meta : DataFrame of shape (n_faces, n_metadata_columns)
        Every other column, in file order, names stripped of white space.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise GeofaceError(f"landmark file {path} does not exist") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        raise GeofaceError(f"cannot parse {path} as CSV: {msg}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    landmarks = landmarks_from_frame(frame, source=str(path))
    meta = frame.drop(columns=list(LANDMARK_COLUMNS))
    return landmarks, meta


def write_landmark_csv(
    path: PathLike, landmarks: np.ndarray, meta: pd.DataFrame | None = None
) -> None:
    """Write landmarks (and metadata columns first) to a CSV, atomically."""
    frame = landmarks_to_frame(landmarks, meta)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f")


# ---------------------------------------------------------------------------- NPZ
def write_landmarks_npz(
    path: PathLike, landmarks: np.ndarray, meta: pd.DataFrame | None = None
) -> None:
    """Save landmarks and 1-D metadata columns to a ``.npz`` (no pickle).

    The array is stored under ``landmarks``; each metadata column under
    ``meta/<name>`` as numbers or fixed-width strings.
    """
    arr = as_landmarks(landmarks)
    arrays: dict[str, np.ndarray] = {"landmarks": arr}
    if meta is not None:
        if len(meta) != len(arr):
            raise GeofaceError(f"meta has {len(meta)} rows but landmarks hold {len(arr)} faces")
        for col in meta.columns:
            values = meta[col].to_numpy()
            if values.dtype == object:
                values = meta[col].astype(str).to_numpy(dtype=str)
            arrays[f"meta/{col}"] = values
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def read_landmarks_npz(path: PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Load what :func:`write_landmarks_npz` saved.

    A plain ``.npz`` holding a single ``(n, 68, 2)`` array under any name is
    accepted too.

    Returns
    -------
    landmarks : ndarray of shape (n_faces, 68, 2)
    meta : DataFrame
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            files = list(data.files)
            key = "landmarks" if "landmarks" in files else None
            if key is None:
                plain = [f for f in files if not f.startswith("meta/")]
                if len(plain) != 1:
                    raise GeofaceError(
                        f"{path} holds arrays {plain}; expected one named 'landmarks'"
                    )
                key = plain[0]
            landmarks = as_landmarks(data[key], name=f"{path}['{key}']")
            meta = pd.DataFrame(
                {f[len("meta/") :]: data[f] for f in files if f.startswith("meta/")}
            )
    except (OSError, ValueError) as exc:
        if isinstance(exc, GeofaceError):
            raise
        raise GeofaceError(f"cannot read {path} as a NumPy .npz file: {exc}") from None
    return landmarks, meta
