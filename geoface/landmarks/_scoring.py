"""Landmark quality against ground truth: NME, cumulative error curve, AUC, failures.

The error of a face is the mean point-to-point distance between its predicted
and true 68 landmarks, divided by the true inter-ocular distance (the
normalised mean error, NME). By default that distance is between the outer
eye corners (points 36 and 45), as the 300-W and infant landmark benchmarks
report it; ``normalise="centres"`` uses the eye centres (means of 36–41 and
42–47), which is about 30 % shorter, so its NMEs are about 1.4 times larger.

A face counts as a *failure* when its NME exceeds ``threshold`` (0.08 by
default) or when it has no prediction at all (no face detected, or no row for
its id): those faces are kept with an infinite error, never dropped, so a
landmarker that finds fewer faces cannot score better for it. The cumulative
error distribution (CED) is the fraction of all ground-truth faces with NME
at most ``x``; its area up to ``threshold``, divided by ``threshold``, is the
AUC (1 for a perfect landmarker, 0 when every face fails).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._convention import N_LANDMARKS, as_landmarks
from .._errors import GeofaceError

__all__ = [
    "SCORE_REGIONS",
    "LandmarkScores",
    "cumulative_error",
    "score_landmarks",
    "write_landmark_scores",
]

#: Facial regions whose errors are reported separately: name → point indices.
SCORE_REGIONS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "brows": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}

_NORMALISATIONS = ("corners", "centres")


@dataclass
class LandmarkScores:
    """Per-face errors and their summary.

    Attributes
    ----------
    per_face : DataFrame
        One row per ground-truth face, in the truth's order: ``id``,
        ``status`` (``ok``; ``no_face`` when the prediction row has no
        landmarks; ``missing`` when no prediction row has the id), ``iod_px``
        (the true normalising distance), ``nme`` (NaN unless ``ok``),
        ``nme_<region>`` for each of :data:`SCORE_REGIONS`, ``max_error``
        (the worst point, in the same units) and ``failure``.
    summary : dict
        Counts, NME mean / median / 90th percentile over the scored faces,
        ``auc`` and ``failure_rate`` over all faces, the mean and median
        error per region over the scored faces, the normalisation and
        threshold.
    """

    per_face: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def nme(self) -> np.ndarray:
        """Per-face NME with ``inf`` for faces without a prediction: shape (n_faces,)."""
        nme = self.per_face["nme"].to_numpy(dtype=float)
        return np.where(self.per_face["status"].to_numpy() == "ok", nme, np.inf)


def _normaliser(truth: np.ndarray, method: str) -> np.ndarray:
    if method == "corners":
        d = truth[:, 45] - truth[:, 36]
    else:
        d = truth[:, 42:48].mean(axis=1) - truth[:, 36:42].mean(axis=1)
    return np.hypot(d[:, 0], d[:, 1])


def cumulative_error(
    nme: np.ndarray, *, threshold: float = 0.08, n_steps: int = 801
) -> tuple[np.ndarray, np.ndarray, float]:
    """The cumulative error distribution and its normalised area up to ``threshold``.

    Parameters
    ----------
    nme : ndarray of shape (n_faces,)
        Per-face errors; ``inf`` or NaN for faces without a prediction (they
        count in the denominator and never under the curve).
    threshold : float, default=0.08
    n_steps : int, default=801
        Points of the curve between 0 and ``threshold``.

    Returns
    -------
    x : ndarray of shape (n_steps,)
    fraction : ndarray of shape (n_steps,)
        Fraction of all faces with NME at most ``x``.
    auc : float
        Area under the curve over ``[0, threshold]`` divided by ``threshold``.
    """
    nme = np.asarray(nme, dtype=float)
    nme = np.where(np.isnan(nme), np.inf, nme)
    x = np.linspace(0.0, threshold, n_steps)
    if len(nme) == 0:
        return x, np.zeros_like(x), 0.0
    fraction = (np.sort(nme)[None, :] <= x[:, None]).sum(axis=1) / len(nme)
    auc = float(np.trapezoid(fraction, x) / threshold)
    return x, fraction, auc


def _by_id(ids, name: str) -> dict[str, int]:
    ids = [str(i) for i in ids]
    seen: dict[str, int] = {}
    for k, i in enumerate(ids):
        seen.setdefault(i, k)  # the first row of an id (its largest face)
    if not seen and ids:
        raise GeofaceError(f"{name} has no ids")
    return seen


def score_landmarks(
    predicted: np.ndarray,
    truth: np.ndarray,
    *,
    predicted_ids=None,
    truth_ids=None,
    normalise: str = "corners",
    threshold: float = 0.08,
) -> LandmarkScores:
    """Score predicted landmarks against ground truth, matching faces by id.

    Parameters
    ----------
    predicted : ndarray of shape (n_pred, 68, 2)
        NaN rows are faces the landmarker did not find (status ``no_face``).
    truth : ndarray of shape (n_truth, 68, 2)
    predicted_ids, truth_ids : sequence of str, optional
        Face ids; by default both are the row positions, so ``predicted[k]``
        is scored against ``truth[k]``. When an id repeats among the
        predictions, its first row is used (the largest face of its image).
    normalise : {"corners", "centres"}, default="corners"
        Inter-ocular distance between the outer eye corners (36, 45) or the
        eye centres.
    threshold : float, default=0.08
        NME above which a face is a failure; also the AUC's upper limit.

    Returns
    -------
    LandmarkScores
    """
    if normalise not in _NORMALISATIONS:
        raise GeofaceError(
            f"normalise={normalise!r} is not one of {set(_NORMALISATIONS)}; use 'corners' "
            "(outer eye corners 36 and 45, as benchmarks report) or 'centres'"
        )
    if not (np.isfinite(threshold) and threshold > 0):
        raise GeofaceError(f"threshold={threshold!r} must be a positive number such as 0.08")
    pred = as_landmarks(predicted)
    true = as_landmarks(truth)
    if predicted_ids is None and truth_ids is None:
        if len(pred) != len(true):
            raise GeofaceError(
                f"{len(pred)} predicted faces and {len(true)} true faces and no ids to match "
                "them by; give predicted_ids and truth_ids"
            )
        predicted_ids = truth_ids = [str(k) for k in range(len(true))]
    elif predicted_ids is None or truth_ids is None:
        raise GeofaceError("give both predicted_ids and truth_ids, or neither")
    truth_ids = [str(i) for i in truth_ids]
    if len(truth_ids) != len(true) or len(predicted_ids) != len(pred):
        raise GeofaceError(
            f"ids do not match the landmarks: {len(predicted_ids)} ids for {len(pred)} "
            f"predicted faces, {len(truth_ids)} for {len(true)} true faces"
        )
    if len(set(truth_ids)) != len(truth_ids):
        dup = pd.Series(truth_ids)[pd.Series(truth_ids).duplicated()].iloc[0]
        raise GeofaceError(f"the ground truth repeats id {dup!r}; each true face needs its own id")
    if not np.isfinite(true).all(axis=(1, 2)).all():
        bad = [truth_ids[k] for k in np.flatnonzero(~np.isfinite(true).all(axis=(1, 2)))]
        raise GeofaceError(f"the ground truth has non-finite points for id {bad[0]!r}")
    lookup = _by_id(predicted_ids, "the prediction")

    n = len(true)
    matched = np.full((n, N_LANDMARKS, 2), np.nan)
    status = np.full(n, "missing", dtype=object)
    for k, i in enumerate(truth_ids):
        row = lookup.get(i)
        if row is None:
            continue
        matched[k] = pred[row]
        status[k] = "ok" if np.isfinite(pred[row]).all() else "no_face"
    iod = _normaliser(true, normalise)
    if not (iod > 0).all():
        raise GeofaceError(
            f"a true face has zero inter-ocular distance (id {truth_ids[int(np.argmin(iod))]!r})"
        )
    point_err = np.hypot(*(matched - true).transpose(2, 0, 1)) / iod[:, None]  # (n, 68)
    ok = status == "ok"
    nme = point_err.mean(axis=1)
    per_face = pd.DataFrame({"id": truth_ids, "status": status.astype(str), "iod_px": iod})
    per_face["nme"] = nme
    for region, idx in SCORE_REGIONS.items():
        per_face[f"nme_{region}"] = point_err[:, list(idx)].mean(axis=1)
    per_face["max_error"] = point_err.max(axis=1)
    per_face["failure"] = ~ok | (nme > threshold)

    scored = nme[ok]
    _, _, auc = cumulative_error(np.where(ok, nme, np.inf), threshold=threshold)

    def _stat(fn, values):
        return float(fn(values)) if len(values) else None

    summary: dict[str, Any] = {
        "normalise": normalise,
        "normaliser": (
            "outer eye corners (36, 45)" if normalise == "corners" else "eye centres (36-41, 42-47)"
        ),
        "threshold": float(threshold),
        "n_truth": int(n),
        "n_scored": int(ok.sum()),
        "n_no_face": int((status == "no_face").sum()),
        "n_missing": int((status == "missing").sum()),
        "n_extra_predictions": len(set(lookup) - set(truth_ids)),
        "nme_mean": _stat(np.mean, scored),
        "nme_median": _stat(np.median, scored),
        "nme_p90": _stat(lambda v: np.percentile(v, 90), scored),
        "auc": auc,
        "failure_rate": float(per_face["failure"].mean()) if n else None,
        "nme_by_region": {
            r: _stat(np.mean, per_face.loc[ok, f"nme_{r}"].to_numpy()) for r in SCORE_REGIONS
        },
        "nme_median_by_region": {
            r: _stat(np.median, per_face.loc[ok, f"nme_{r}"].to_numpy()) for r in SCORE_REGIONS
        },
    }
    return LandmarkScores(per_face=per_face, summary=summary)


def write_landmark_scores(
    scores: LandmarkScores,
    out_dir: str | os.PathLike,
    *,
    label: str = "",
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Write ``per_face.csv``, ``summary.json`` and ``ced.pdf`` / ``ced.png``, each atomically.

    Parameters
    ----------
    scores : LandmarkScores
    out_dir : path
        Created when absent.
    label : str, optional
        The curve's name in the figure (e.g. the landmarker).
    extra : dict, optional
        More entries for ``summary.json`` (inputs, landmarker, options).

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib.pyplot as plt

    from ._scoring_figure import plot_cumulative_error

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    per_face = out / "per_face.csv"
    with atomic_path(per_face) as tmp:
        scores.per_face.to_csv(tmp, index=False, float_format="%.6g")
    written.append(per_face)
    summary = out / "summary.json"
    doc = {**scores.summary, **(extra or {})}
    with atomic_path(summary) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    written.append(summary)
    from ..plotting import save_figure

    ax = plot_cumulative_error(
        {label or "predicted": scores.nme}, threshold=scores.summary["threshold"]
    )
    ax.set_xlabel(f"NME (normalised by {scores.summary['normaliser']})")
    written += save_figure(ax.figure, out / "ced.pdf", formats=("pdf", "png"))
    plt.close(ax.figure)
    return written
