"""Seedable synthetic datasets: subjects × expressions × takes, with images."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._errors import GeofaceError
from ..mesh import default_template
from ._expressions import (
    ACTION_UNITS,
    EXPRESSION_AUS,
    EXPRESSIONS,
    au_displacement,
    au_moved_regions,
    expression_displacement,
    moved_regions,
)
from ._faces import pose_shape, sample_identity
from ._render import render_face

__all__ = ["AU_COLUMNS", "SimulatedData", "simulate_landmarks", "write_simulated_dataset"]

#: The Action-Unit presence columns ``action_units=True`` adds, one per simulated AU.
AU_COLUMNS: tuple[str, ...] = tuple(f"AU{au}" for au in ACTION_UNITS)

_POPULATIONS = ("infant", "adult", "mixed")


@dataclass
class SimulatedData:
    """A synthetic landmark dataset with its ground truth.

    Attributes
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
        What a landmark detector would return: pixel coordinates in a
        ``image_size`` × ``image_size`` image, with detection noise.
    true_landmarks : ndarray of shape (n_faces, 68, 2)
        The same faces without detection noise (what images are drawn from).
    meta : DataFrame
        ``id, subject, label, population, age_months, take, intensity,
        yaw_deg, pitch_deg, roll_deg`` and, with ``action_units``, one 0/1
        presence column per Action Unit (:data:`AU_COLUMNS`).
    moved_regions : dict of str to set of str
        For each class, the mesh regions its prototype moves.
    params : dict
        The arguments that made the data, seed included.
    """

    landmarks: np.ndarray
    true_landmarks: np.ndarray
    meta: pd.DataFrame
    moved_regions: dict[str, set[str]] = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def simulate_landmarks(
    *,
    n_subjects: int = 30,
    takes: int = 4,
    population: str = "infant",
    classes: tuple[str, ...] = EXPRESSIONS,
    noise: float = 0.015,
    max_yaw: float = 12.0,
    max_pitch: float = 8.0,
    max_roll: float = 10.0,
    intensity: tuple[float, float] = (0.5, 1.1),
    image_size: int = 128,
    action_units: bool = False,
    au_miss: float = 0.15,
    au_extra: float = 0.05,
    random_state: int | None = 0,
) -> SimulatedData:
    """Simulate landmarks of several subjects showing the seven expressions.

    Each subject gets an identity (:func:`sample_identity`) and idiosyncratic
    AU strengths (gain ~ N(1, 0.15)); each image draws an expression
    intensity, a head pose (uniform within the ``max_*`` angles) and a
    position and scale in the image, and the detected landmarks get Gaussian
    noise of ``noise`` inter-ocular distances.

    With ``action_units``, the Action Units a face shows vary around its
    expression's prototype — each AU of the prototype is absent with
    probability ``au_miss`` and each other AU present with probability
    ``au_extra`` (at its own random intensity, on neutral faces too) — the
    geometry follows the AUs actually shown, and ``AU1, AU2, …`` columns
    record their presence (0/1). The expression label is unchanged, so an AU
    is not a function of the label, and a classifier must read it from the
    face. These draws use their own random stream: pose, identity and noise
    are those of the same seed without ``action_units``.

    Parameters
    ----------
    n_subjects : int, default=30
    takes : int, default=4
        Images per subject and class.
    population : {"infant", "adult", "mixed"}, default="infant"
        ``"mixed"`` alternates infants and adults.
    classes : tuple of str, default=all seven
    noise : float, default=0.015
        Landmark detection noise, in inter-ocular distances.
    max_yaw, max_pitch, max_roll : float
        Head-pose ranges in degrees.
    intensity : (float, float), default=(0.5, 1.1)
        Range of expression intensity (1 = prototype apex).
    image_size : int, default=128
        Side of the square image the landmarks are placed in.
    action_units : bool, default=False
        Vary the AUs of each face and add their presence columns.
    au_miss : float, default=0.15
        Probability that an AU of the expression's prototype is absent.
    au_extra : float, default=0.05
        Probability that an AU outside the prototype is present.
    random_state : int or None, default=0

    Returns
    -------
    SimulatedData
    """
    if population not in _POPULATIONS:
        raise GeofaceError(f"population={population!r} is not one of {set(_POPULATIONS)}")
    unknown = [c for c in classes if c not in EXPRESSION_AUS]
    if unknown:
        raise GeofaceError(f"classes {unknown} are not among {EXPRESSIONS}")
    if n_subjects < 1 or takes < 1:
        raise GeofaceError(f"n_subjects={n_subjects} and takes={takes} must both be at least 1")
    if image_size < 32:
        raise GeofaceError(f"image_size={image_size} is too small; use at least 32 pixels")
    if not (0 <= au_miss <= 1 and 0 <= au_extra <= 1):
        raise GeofaceError(f"au_miss={au_miss} and au_extra={au_extra} must lie in [0, 1]")
    rng = np.random.default_rng(random_state)
    au_rng = np.random.default_rng(None if random_state is None else [random_state, 0xAC7])
    template = default_template()
    px_per_iod = image_size / 3.4

    rows, true_shapes, detected = [], [], []
    for s in range(n_subjects):
        infant = population == "infant" or (population == "mixed" and s % 2 == 0)
        identity = sample_identity(template, rng, infant=infant)
        gains = {au: max(0.3, 1.0 + 0.15 * rng.standard_normal()) for au in range(1, 28)}
        age_months = int(rng.integers(6, 16)) if infant else int(12 * rng.integers(18, 61))
        subject = f"s{s + 1:03d}"
        for label in classes:
            for take in range(1, takes + 1):
                amount = 0.0 if label == "neutral" else rng.uniform(*intensity)
                if action_units:
                    shown = _shown_aus(label, amount, intensity, au_miss, au_extra, au_rng)
                    shape = identity + sum(
                        (a * gains[au] * au_displacement(au) for au, a in shown.items()),
                        np.zeros_like(identity),
                    )
                else:
                    shape = identity + amount * expression_displacement(label, gains)
                yaw, pitch, roll = (rng.uniform(-m, m) for m in (max_yaw, max_pitch, max_roll))
                posed = pose_shape(shape, yaw=yaw, pitch=pitch, roll=roll)
                scale = px_per_iod * rng.uniform(0.92, 1.08)
                centre = np.array([image_size / 2, image_size / 2 - 0.6 * scale])
                centre += rng.uniform(-0.03, 0.03, 2) * image_size
                true = centre + scale * posed
                det = true + noise * scale * rng.standard_normal(true.shape)
                true_shapes.append(true)
                detected.append(det)
                rows.append(
                    {
                        "id": f"{subject}_{label}_{take}",
                        "subject": subject,
                        "label": label,
                        "population": "infant" if infant else "adult",
                        "age_months": age_months,
                        "take": take,
                        "intensity": round(amount, 4),
                        "yaw_deg": round(yaw, 3),
                        "pitch_deg": round(pitch, 3),
                        "roll_deg": round(roll, 3),
                    }
                )
                if action_units:
                    rows[-1].update({f"AU{au}": int(au in shown) for au in ACTION_UNITS})
    params = {
        "n_subjects": n_subjects,
        "takes": takes,
        "population": population,
        "classes": list(classes),
        "noise": noise,
        "max_yaw": max_yaw,
        "max_pitch": max_pitch,
        "max_roll": max_roll,
        "intensity": list(intensity),
        "image_size": image_size,
        "action_units": action_units,
        "au_miss": au_miss if action_units else None,
        "au_extra": au_extra if action_units else None,
        "random_state": random_state,
    }
    return SimulatedData(
        landmarks=np.stack(detected),
        true_landmarks=np.stack(true_shapes),
        meta=pd.DataFrame(rows),
        moved_regions={c: moved_regions(c) for c in classes},
        params=params,
    )


def _shown_aus(label, amount, intensity, miss, extra, rng) -> dict[int, float]:
    """The AUs one face shows, each with its intensity (the prototype's AUs at ``amount``)."""
    proto = EXPRESSION_AUS[label]
    shown = {au: amount for au in proto if rng.random() >= miss}
    for au in ACTION_UNITS:
        if au not in proto and rng.random() < extra:
            shown[au] = rng.uniform(*intensity)
    return shown


def write_simulated_dataset(
    out_dir: str | os.PathLike,
    data: SimulatedData | None = None,
    *,
    render: bool = True,
    random_state: int | None = 0,
    progress: bool = False,
    **simulate_kwargs,
) -> Path:
    """Write a simulated dataset: ``landmarks.csv``, ``images/`` and ``ground_truth.json``.

    Parameters
    ----------
    out_dir : str or path-like
    data : SimulatedData, optional
        Simulated with ``simulate_kwargs`` and ``random_state`` when omitted.
    render : bool, default=True
        Draw each face to ``images/<id>.png`` and add a ``path`` column
        (relative to ``out_dir``).
    random_state : int or None, default=0
    progress : bool, default=False
        Show a progress bar while drawing.
    **simulate_kwargs
        Passed to :func:`simulate_landmarks` (``action_units=True`` adds the
        AU presence columns and their ground truth).

    Returns
    -------
    path : Path
        The landmark CSV. It is written last, so it exists only when every
        image it points to does.
    """
    import cv2

    from ..landmarks import write_landmark_csv

    out = Path(out_dir)
    if data is None:
        data = simulate_landmarks(random_state=random_state, **simulate_kwargs)
    meta = data.meta.copy()
    if render:
        from tqdm import tqdm

        size = int(data.params.get("image_size", 128))
        img_dir = out / "images"
        img_dir.mkdir(parents=True, exist_ok=True)
        noise_rng = np.random.default_rng(
            None if data.params.get("random_state") is None else data.params["random_state"] + 1
        )
        paths = []
        for face_id, shape in tqdm(
            list(zip(meta["id"], data.true_landmarks, strict=True)),
            desc="drawing faces",
            unit="img",
            disable=not progress,
        ):
            ok, buf = cv2.imencode(".png", render_face(shape, size=size, rng=noise_rng))
            if not ok:
                raise GeofaceError(f"OpenCV could not encode image {face_id}")
            rel = f"images/{face_id}.png"
            with atomic_path(out / rel) as tmp:
                tmp.write_bytes(buf.tobytes())
            paths.append(rel)
        meta.insert(1, "path", paths)
    truth = {
        "classes": list(data.moved_regions),
        "expression_aus": {c: list(EXPRESSION_AUS[c]) for c in data.moved_regions},
        "moved_regions": {c: sorted(r) for c, r in data.moved_regions.items()},
        "params": data.params,
    }
    if data.params.get("action_units"):
        truth["action_units"] = {
            "columns": list(AU_COLUMNS),
            "names": {f"AU{au}": name for au, name in ACTION_UNITS.items()},
            "moved_regions": {f"AU{au}": sorted(au_moved_regions(au)) for au in ACTION_UNITS},
            "miss": data.params["au_miss"],
            "extra": data.params["au_extra"],
        }
    with atomic_path(out / "ground_truth.json") as tmp:
        tmp.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    csv_path = out / "landmarks.csv"
    write_landmark_csv(csv_path, data.landmarks, meta)
    return csv_path
