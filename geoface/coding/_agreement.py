"""Agreement between predicted segments and coded events: per event and per frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import GeofaceError

__all__ = ["AGREEMENT_COLUMNS", "event_agreement", "frame_agreement"]

#: Columns of :func:`event_agreement`'s table.
AGREEMENT_COLUMNS = (
    "class",
    "n_coded",
    "n_predicted",
    "matched",
    "precision",
    "recall",
    "f1",
    "mean_onset_error_s",
    "mean_abs_onset_error_s",
)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def _match(pred_on: np.ndarray, true_on: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches with ``|Δonset| ≤ tol`` that maximise their number, then closeness."""
    from scipy.optimize import linear_sum_assignment

    if len(pred_on) == 0 or len(true_on) == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    diff = np.abs(pred_on[:, None] - true_on[None, :])
    allowed = diff <= tol + 1e-9
    # a match is worth more than any sum of closeness: maximise matches first
    cost = np.where(allowed, diff / (tol + 1e-9) - 2.0 * max(diff.shape), 0.0)
    rows, cols = linear_sum_assignment(cost)
    keep = allowed[rows, cols]
    return rows[keep], cols[keep]


def event_agreement(
    predicted: pd.DataFrame,
    coded: pd.DataFrame,
    *,
    onset_tolerance_s: float = 0.5,
) -> pd.DataFrame:
    """Event-level agreement of predicted segments with coded events.

    A predicted segment matches a coded event of the same video and class whose
    onset lies within ``onset_tolerance_s``; matches are one-to-one, chosen
    (Hungarian algorithm, per video and class) to be as many as possible and,
    among those, as close as possible. Only coded events with status ``ok``
    count (where a ``status`` column is given).

    Parameters
    ----------
    predicted : DataFrame
        Segments (``video, onset_s, label``), e.g. from
        :func:`geoface.coding.segments_from_proba`.
    coded : DataFrame
        Events (``video, onset_s, label``), e.g. from
        :func:`geoface.coding.resolve_events` (videos matched to the same ids).
    onset_tolerance_s : float
        Largest onset difference of a match, seconds.

    Returns
    -------
    DataFrame
        :data:`AGREEMENT_COLUMNS`, one row per class and a last row ``overall``
        (micro-averaged: every event counts once). ``precision = matched /
        n_predicted``, ``recall = matched / n_coded``; onset errors are
        predicted − coded over the matches.
    """
    if not np.isfinite(onset_tolerance_s) or onset_tolerance_s < 0:
        raise GeofaceError(f"onset_tolerance_s={onset_tolerance_s!r} must be a number ≥ 0")
    for name, frame in (("predicted", predicted), ("coded", coded)):
        missing = [c for c in ("video", "onset_s", "label") if c not in frame.columns]
        if missing:
            raise GeofaceError(f"the {name} events lack the column(s) {missing}")
    if "status" in coded.columns:
        coded = coded[coded["status"] == "ok"]
    pred = predicted.assign(
        video=predicted["video"].astype(str), label=predicted["label"].astype(str)
    )
    true = coded.assign(video=coded["video"].astype(str), label=coded["label"].astype(str))
    classes = sorted(set(pred["label"]) | set(true["label"]))
    errors: dict[str, list[float]] = {c: [] for c in classes}
    matched = dict.fromkeys(classes, 0)
    pred_groups = pred.groupby(["video", "label"]).indices
    true_groups = true.groupby(["video", "label"]).indices
    p_on = pred["onset_s"].to_numpy(dtype=float)
    t_on = true["onset_s"].to_numpy(dtype=float)
    for key in set(pred_groups) & set(true_groups):
        pi, ti = pred_groups[key], true_groups[key]
        r, c = _match(p_on[pi], t_on[ti], onset_tolerance_s)
        matched[key[1]] += len(r)
        errors[key[1]].extend((p_on[pi][r] - t_on[ti][c]).tolist())
    n_pred = pred["label"].value_counts()
    n_true = true["label"].value_counts()
    rows = []
    for name in [*classes, "overall"]:
        if name == "overall":
            m, npred, ntrue = sum(matched.values()), len(pred), len(true)
            err = [e for c in classes for e in errors[c]]
        else:
            m, npred, ntrue = matched[name], int(n_pred.get(name, 0)), int(n_true.get(name, 0))
            err = errors[name]
        precision, recall = _ratio(m, npred), _ratio(m, ntrue)
        f1 = (
            2 * precision * recall / (precision + recall)
            if np.isfinite(precision) and np.isfinite(recall) and precision + recall > 0
            else (0.0 if m == 0 and npred and ntrue else float("nan"))
        )
        rows.append(
            {
                "class": name,
                "n_coded": ntrue,
                "n_predicted": npred,
                "matched": m,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "mean_onset_error_s": float(np.mean(err)) if err else float("nan"),
                "mean_abs_onset_error_s": float(np.mean(np.abs(err))) if err else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def frame_agreement(y_true, y_pred) -> pd.DataFrame:
    """Frame-level precision, recall and F1 per class, and accuracy, over labelled frames.

    Parameters
    ----------
    y_true : array-like of shape (n_frames,)
        Coded labels (None / NaN for unlabelled frames, which are left out).
    y_pred : array-like of shape (n_frames,)
        Predicted labels (None / NaN where there is no prediction: counted as wrong).

    Returns
    -------
    DataFrame
        ``class, n_true, n_pred, precision, recall, f1``, then a row ``overall`` whose
        ``precision`` and ``recall`` hold the accuracy and ``f1`` the macro F1.
    """
    truth = pd.Series(np.asarray(y_true, dtype=object))
    pred = pd.Series(np.asarray(y_pred, dtype=object))
    if len(truth) != len(pred):
        raise GeofaceError(f"y_true has {len(truth)} frames but y_pred has {len(pred)}")
    keep = truth.notna().to_numpy()
    truth, pred = truth[keep].astype(str), pred[keep].where(pred[keep].notna(), None)
    pred = pred.map(lambda v: None if v is None else str(v))
    classes = sorted(set(truth) | {p for p in pred if p is not None})
    rows = []
    for c in classes:
        tp = int(((truth == c) & (pred == c)).sum())
        n_true, n_pred = int((truth == c).sum()), int((pred == c).sum())
        precision, recall = _ratio(tp, n_pred), _ratio(tp, n_true)
        f1 = 2 * tp / (n_true + n_pred) if n_true + n_pred else float("nan")
        rows.append(
            {
                "class": c,
                "n_true": n_true,
                "n_pred": n_pred,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    accuracy = float((truth == pred).mean()) if len(truth) else float("nan")
    f1s = [r["f1"] for r in rows if r["n_true"] and np.isfinite(r["f1"])]
    rows.append(
        {
            "class": "overall",
            "n_true": len(truth),
            "n_pred": int(pred.notna().sum()),
            "precision": accuracy,
            "recall": accuracy,
            "f1": float(np.mean(f1s)) if f1s else float("nan"),
        }
    )
    return pd.DataFrame(rows)
