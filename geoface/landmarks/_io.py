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
    if "x_0" not in frame.columns:
        _refuse_other_delimiter(path, frame)
    landmarks = landmarks_from_frame(frame, source=str(path))
    meta = frame.drop(columns=list(LANDMARK_COLUMNS))
    note = text_cells_note(frame)
    if note:
        meta.attrs["text_cells"] = note
    return landmarks, meta


def _refuse_other_delimiter(path: Path, frame: pd.DataFrame) -> None:
    """Name the delimiter when a file separated by ``;``, tabs or ``|`` was read as commas."""
    header = ",".join(str(c) for c in frame.columns)
    for sep, name in ((";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")):
        if "x_0" in [c.strip() for c in header.split(sep)]:
            raise GeofaceError(
                f"{path} is separated by {name}, not commas; geoface reads comma-separated "
                "CSV (columns x_0..x_67, y_0..y_67): save it as comma-separated, with '.' "
                "as the decimal point"
            )


def text_cells_note(frame: pd.DataFrame) -> str | None:
    """One line saying how many coordinate cells held text instead of a number, with an example.

    Parameters
    ----------
    frame : DataFrame
        A landmark table (``x_0 … y_67`` columns, names stripped).

    Returns
    -------
    str or None
        E.g. ``"3 coordinate cells held text, not a number (e.g. x_5 = '1,5' in row 2)"``;
        None when every non-empty cell is a number.
    """
    cols = [c for c in LANDMARK_COLUMNS if c in frame.columns]
    raw = frame[cols]
    numbers = raw.apply(pd.to_numeric, errors="coerce")
    text = numbers.isna() & raw.notna() & (raw.astype(str).apply(lambda c: c.str.strip()) != "")
    n = int(text.to_numpy().sum())
    if not n:
        return None
    row, col = np.argwhere(text.to_numpy())[0]
    where = f"id {frame['id'].iloc[row]!r}" if "id" in frame.columns else f"data row {row + 1}"
    value = raw.iloc[row, col]
    hint = " (a decimal comma? write '.')" if "," in str(value) else ""
    return (
        f"{n} coordinate cell(s) held text, not a number, e.g. {cols[col]} = {str(value)!r} "
        f"in {where}{hint}; such faces are read as missing landmarks"
    )


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
    accepted too. Without ``meta/…`` arrays the metadata has one row per face
    and no columns, so the faces get the ids a table without an ``id``
    column gets: ``face_00000``, ``face_00001``, … in array order.

    Returns
    -------
    landmarks : ndarray of shape (n_faces, 68, 2)
    meta : DataFrame of shape (n_faces, n_metadata_columns)
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
            columns = {}
            for f in (f for f in files if f.startswith("meta/")):
                values = data[f]
                if values.shape != (len(landmarks),):
                    raise GeofaceError(
                        f"{path}['{f}'] has shape {values.shape}; a metadata array holds one "
                        f"value per face, shape ({len(landmarks)},); fix or drop it"
                    )
                columns[f[len("meta/") :]] = values
            meta = pd.DataFrame(columns, index=pd.RangeIndex(len(landmarks)))
    except (OSError, ValueError) as exc:
        if isinstance(exc, GeofaceError):
            raise
        raise GeofaceError(f"cannot read {path} as a NumPy .npz file: {exc}") from None
    return landmarks, meta
