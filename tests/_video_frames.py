"""Simulated frame tables: a face track going neutral → onset → apex → offset → neutral."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: One episode: (class, onset_s, offset_s) at half amplitude; the ramps are centred on them.
EPISODES = (("happy", 2.0, 4.0), ("surprise", 6.5, 8.0))
RAMP_S = 0.4


def amplitude(t: np.ndarray, onset: float, offset: float, ramp: float = RAMP_S) -> np.ndarray:
    """0 before, a linear ramp centred on onset, 1 at the apex, a ramp centred on offset."""
    up = np.clip((t - (onset - ramp / 2)) / ramp, 0, 1)
    down = np.clip(((offset + ramp / 2) - t) / ramp, 0, 1)
    return np.minimum(up, down)


def simulate_track(
    *,
    seconds: float = 10.0,
    fps: float = 10.0,
    episodes=EPISODES,
    video: str = "infant01/visit1",
    subject: str = "s001",
    seed: int = 0,
    noise: float = 0.004,
    jitter_deg: float = 1.0,
):
    """Landmarks (n, 68, 2) and metadata of one simulated face track with known episodes.

    The face is the subject's identity plus ``amplitude(t) ×`` the expression's
    prototype, with a little head motion and detection noise; ``true`` is the
    label where the amplitude is at least ½ (else neutral); ``amplitude`` is 0 at rest.
    """
    from geoface.mesh import default_template
    from geoface.simulate import expression_displacement, pose_shape, sample_identity

    rng = np.random.default_rng(seed)
    identity = sample_identity(np.array(default_template()), rng, infant=True)
    t = np.arange(round(seconds * fps)) / fps
    true = np.full(len(t), "neutral", dtype=object)
    shapes = np.repeat(identity[None], len(t), axis=0)
    total = np.zeros(len(t))
    for label, on, off in episodes:
        a = amplitude(t, on, off)
        total += a
        shapes = shapes + a[:, None, None] * expression_displacement(label)[None]
        true[a >= 0.5] = label
    scale = 40.0
    out = np.empty_like(shapes)
    for i, s in enumerate(shapes):
        yaw, pitch, roll = jitter_deg * rng.standard_normal(3)
        out[i] = np.array([64.0, 40.0]) + scale * pose_shape(s, yaw=yaw, pitch=pitch, roll=roll)
    out += noise * scale * rng.standard_normal(out.shape)
    ordinal = np.arange(len(t))
    meta = pd.DataFrame(
        {
            "id": [f"{video}#{k}" for k in ordinal],
            "path": f"{video}.mp4",
            "subject": subject,
            "video": video,
            "frame": ordinal,
            "time_s": t,
            "track_id": 0,
            "true": true,
            "amplitude": total,
        }
    )
    return out, meta


def frame_table(
    *, videos=(("infant01/visit1", "s001"), ("infant02/visit1", "s002")), gap=None, **kw
):
    """A FeatureTable of several simulated tracks (``qc_status`` no_face inside ``gap``)."""
    from geoface.features import extract_table

    lms, metas = [], []
    for k, (video, subject) in enumerate(videos):
        lm, meta = simulate_track(video=video, subject=subject, seed=k, **kw)
        lms.append(lm)
        metas.append(meta)
    landmarks = np.concatenate(lms)
    meta = pd.concat(metas, ignore_index=True)
    status = np.full(len(meta), "ok", dtype=object)
    if gap is not None:
        inside = (meta["time_s"] >= gap[0]) & (meta["time_s"] < gap[1])
        status[inside.to_numpy()] = "no_face"
        landmarks[inside.to_numpy()] = np.nan
    qc = pd.DataFrame({"qc_status": status})
    return extract_table(landmarks, meta, qc=qc)
