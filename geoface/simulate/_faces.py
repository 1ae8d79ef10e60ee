"""Synthetic identities (adult and infant proportions) and head pose.

Identities are the template deformed along a few symmetric, named modes of
facial proportion (face width and height, eye spacing and size, nose length,
mouth width, lower-face height, brow height), each drawn from a normal
distribution, plus a small independent jitter per point for natural
asymmetry.

Infant proportions shift the means of those modes in the directions that
craniofacial growth studies report for infants relative to adults: a
relatively short lower face and short nose, large eyes set wide relative to
face size, a small mouth, and a round, wide face (e.g. Farkas 1994;
Enlow & Hans 1996). The magnitudes are plausible, not fitted to data.

Head pose is a rotation in 3-D with a coarse depth per landmark (nose tip
forward, jaw angles back), projected orthographically, then an in-plane roll.
"""

from __future__ import annotations

import numpy as np

from .._convention import MIRROR_PERMUTATION

__all__ = ["IDENTITY_MODES", "INFANT_SHIFT", "landmark_depth", "pose_shape", "sample_identity"]

_EYES = np.r_[36:48]
_BROWS = np.r_[17:27]
_NOSE = np.r_[27:36]
_MOUTH = np.r_[48:68]
_LOWER_JAW = np.r_[4:13]


def _scale_about(shape, idx, sx, sy, centre=None):
    c = shape[idx].mean(axis=0) if centre is None else centre
    shape[idx] = c + (shape[idx] - c) * (sx, sy)


def _eye_size(s, k):
    for eye in (np.r_[36:42], np.r_[42:48]):
        _scale_about(s, eye, 1 + k, 1 + 1.5 * k)


def _eye_spacing(s, k):
    s[_EYES, 0] *= 1 + k
    s[_BROWS, 0] *= 1 + 0.7 * k


def _face_width(s, k):
    s[:17, 0] *= 1 + k


def _face_height(s, k):
    s[:, 1] *= 1 + k


def _nose_length(s, k):
    s[np.r_[29:36], 1] += k * (s[np.r_[29:36], 1] - s[27, 1])
    s[_MOUTH, 1] += k * 0.5


def _mouth_width(s, k):
    _scale_about(s, _MOUTH, 1 + k, 1 + 0.5 * k)


def _lower_face(s, k):
    # stretch everything below the nose tip vertically
    below = s[:, 1] > s[33, 1]
    s[below, 1] = s[33, 1] + (s[below, 1] - s[33, 1]) * (1 + k)


def _brow_height(s, k):
    s[_BROWS, 1] -= k


#: name → (function(shape, k), standard deviation of k for adults)
IDENTITY_MODES = {
    "face_width": (_face_width, 0.05),
    "face_height": (_face_height, 0.04),
    "eye_spacing": (_eye_spacing, 0.04),
    "eye_size": (_eye_size, 0.08),
    "nose_length": (_nose_length, 0.08),
    "mouth_width": (_mouth_width, 0.07),
    "lower_face": (_lower_face, 0.06),
    "brow_height": (_brow_height, 0.03),
}

#: Mean shift of each mode for infants (adults: 0).
INFANT_SHIFT = {
    "face_width": 0.08,
    "face_height": -0.04,
    "eye_spacing": 0.03,
    "eye_size": 0.18,
    "nose_length": -0.20,
    "mouth_width": -0.12,
    "lower_face": -0.18,
    "brow_height": 0.02,
}


def sample_identity(
    template: np.ndarray, rng: np.random.Generator, *, infant: bool, jitter: float = 0.012
) -> np.ndarray:
    """Draw one identity's neutral face in template units.

    Parameters
    ----------
    template : ndarray of shape (68, 2)
    rng : numpy Generator
    infant : bool
        Shift the proportions towards an infant's (:data:`INFANT_SHIFT`).
    jitter : float, default=0.012
        Standard deviation (IOD) of the per-point asymmetric jitter.

    Returns
    -------
    shape : ndarray of shape (68, 2)
    """
    s = np.array(template, dtype=float)
    for name, (apply, sd) in IDENTITY_MODES.items():
        mean = INFANT_SHIFT[name] if infant else 0.0
        apply(s, mean + sd * rng.standard_normal())
    s += jitter * rng.standard_normal(s.shape)
    return s


def landmark_depth() -> np.ndarray:
    """A coarse depth (towards the camera, IOD units) for each template point."""
    z = np.zeros(68)
    z[:17] = -0.55 + 0.55 * np.sin(np.linspace(0, np.pi, 17))  # jaw: back at the ears
    z[[17, 26]], z[[18, 25]], z[[19, 24]], z[[20, 23]], z[[21, 22]] = -0.15, -0.02, 0.06, 0.1, 0.12
    z[27:31] = (0.12, 0.25, 0.38, 0.5)
    z[[31, 35]], z[[32, 34]], z[33] = 0.3, 0.4, 0.45
    z[[36, 45]], z[[39, 42]] = -0.12, -0.02
    z[[37, 38, 40, 41, 43, 44, 46, 47]] = -0.04
    z[48:68] = 0.3
    z[[48, 54, 60, 64]] = 0.18
    assert np.allclose(z, z[MIRROR_PERMUTATION])
    return z


def pose_shape(shape: np.ndarray, *, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotate a face in 3-D (angles in degrees) and project it orthographically.

    Parameters
    ----------
    shape : ndarray of shape (68, 2)
        Upright face in template units, ``y`` down.
    yaw, pitch, roll : float
        Degrees. Yaw turns the head about the vertical axis, pitch nods it,
        roll tilts it in the image plane (positive: clockwise on screen).

    Returns
    -------
    shape : ndarray of shape (68, 2)
    """
    z = landmark_depth()
    y_rad, p_rad, r_rad = np.radians([yaw, pitch, roll])
    x, y = shape[:, 0], shape[:, 1]
    # yaw about the vertical axis, then pitch about the horizontal one
    x1 = x * np.cos(y_rad) + z * np.sin(y_rad)
    z1 = -x * np.sin(y_rad) + z * np.cos(y_rad)
    y1 = y * np.cos(p_rad) - z1 * np.sin(p_rad)
    c, s = np.cos(r_rad), np.sin(r_rad)
    return np.stack([c * x1 - s * y1, s * x1 + c * y1], axis=1)
