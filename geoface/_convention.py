"""The iBUG 300-W 68-point landmark convention that every part of geoface shares.

Points are 0-based, ``(x, y)`` in pixels with the origin at the top-left corner
of the image. "Right" and "left" are the *subject's*: the subject's right eye
(points 36–41) appears on the left of an unmirrored photograph.
"""

from __future__ import annotations

import numpy as np

from ._errors import GeofaceError

__all__ = [
    "LANDMARK_COLUMNS",
    "LANDMARK_GROUPS",
    "MIDLINE_POINTS",
    "MIRROR_PERMUTATION",
    "N_LANDMARKS",
    "as_landmarks",
    "group_of_point",
    "inter_ocular_distance",
    "landmarks_from_frame",
]

#: Number of points in the iBUG 300-W markup.
N_LANDMARKS = 68

#: Landmark column names in tables (OpenFace/py-feat convention), in the order geoface writes them.
LANDMARK_COLUMNS: tuple[str, ...] = tuple(
    [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]
)

#: Named groups of point indices (half-open ranges written out).
LANDMARK_GROUPS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "brow_right": tuple(range(17, 22)),
    "brow_left": tuple(range(22, 27)),
    "nose_bridge": tuple(range(27, 31)),
    "nose_base": tuple(range(31, 36)),
    "eye_right": tuple(range(36, 42)),
    "eye_left": tuple(range(42, 48)),
    "mouth_outer": tuple(range(48, 60)),
    "mouth_inner": tuple(range(60, 68)),
}


def _mirror_permutation() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nose base
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lips
    perm = np.arange(N_LANDMARKS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    perm.setflags(write=False)
    return perm


#: ``MIRROR_PERMUTATION[i]`` is the point that plays point ``i``'s role on the
#: other side of the face. Applying it to a horizontally flipped face gives a
#: valid iBUG markup again.
MIRROR_PERMUTATION = _mirror_permutation()

#: Points that lie on the facial midline (their own mirror image).
MIDLINE_POINTS = tuple(int(i) for i in np.flatnonzero(MIRROR_PERMUTATION == np.arange(68)))

_POINT_GROUP = np.empty(N_LANDMARKS, dtype=object)
for _name, _idx in LANDMARK_GROUPS.items():
    _POINT_GROUP[list(_idx)] = _name


def as_landmarks(landmarks, name: str = "landmarks") -> np.ndarray:
    """Return ``landmarks`` as a float array of shape (n_faces, 68, 2).

    A single face of shape (68, 2) becomes a batch of one; any other shape is
    a one-line :class:`~geoface.GeofaceError` naming ``name``.
    """
    from ._errors import GeofaceError

    arr = np.asarray(landmarks, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (N_LANDMARKS, 2):
        raise GeofaceError(
            f"{name} has shape {np.shape(landmarks)}; expected (n_faces, 68, 2) or (68, 2) "
            "in the iBUG 68-point convention"
        )
    return arr


def group_of_point(index: int) -> str:
    """Return the name of the landmark group that point ``index`` belongs to."""
    return str(_POINT_GROUP[index])


def inter_ocular_distance(landmarks: np.ndarray, method: str = "centres") -> np.ndarray:
    """Inter-ocular distance (IOD) of one or many faces.

    Parameters
    ----------
    landmarks : ndarray of shape (..., 68, 2)
        Landmarks in the iBUG convention.
    method : {"centres", "corners"}, default="centres"
        ``"centres"`` measures between the eye centres (means of points 36–41
        and 42–47); ``"corners"`` between the outer eye corners 36 and 45, as
        300-W's normalised mean error does.

    Returns
    -------
    iod : ndarray of shape (...)
        Non-finite where the input is.
    """
    pts = np.asarray(landmarks, dtype=float)
    if method == "centres":
        right = pts[..., 36:42, :].mean(axis=-2)
        left = pts[..., 42:48, :].mean(axis=-2)
    elif method == "corners":
        right = pts[..., 36, :]
        left = pts[..., 45, :]
    else:
        raise ValueError(
            f"iod={method!r} is not one of {{'centres', 'corners'}}; "
            "use 'centres' (eye centres) or 'corners' (outer eye corners 36 and 45)"
        )
    d = left - right
    return np.hypot(d[..., 0], d[..., 1])


def landmarks_from_frame(frame, *, source: str = "table") -> np.ndarray:
    """Take the ``x_0 … x_67, y_0 … y_67`` columns of ``frame`` as landmarks.

    Values that are missing or not numbers become NaN (the row is then
    flagged by feature extraction, never dropped).

    Parameters
    ----------
    frame : DataFrame
    source : str, default="table"
        What ``frame`` is, for the error message.

    Returns
    -------
    landmarks : ndarray of shape (n_rows, 68, 2)
    """
    import pandas as pd

    stripped = {str(c).strip(): c for c in frame.columns}
    missing = [c for c in LANDMARK_COLUMNS if c not in stripped]
    if missing:
        shown = ", ".join(missing[:4]) + (
            f", … ({len(missing)} in all)" if len(missing) > 4 else ""
        )
        raise GeofaceError(
            f"{source} lacks landmark columns {shown}; a landmark table needs "
            "x_0..x_67 and y_0..y_67 (OpenFace/py-feat convention)"
        )
    values = frame[[stripped[c] for c in LANDMARK_COLUMNS]].apply(pd.to_numeric, errors="coerce")
    flat = values.to_numpy(dtype=float)
    return np.stack([flat[:, :N_LANDMARKS], flat[:, N_LANDMARKS:]], axis=-1)
