"""Regression scores (age in years or months) and their subject-bootstrap intervals.

Like the classification bootstrap, whole subjects are resampled: each subject's
sums (n, Σe, Σ|e|, Σe², Σy, Σy²; e = prediction − truth) are computed once, and a
replicate's sums are the draw counts times those, so thousands of replicates
cost one matrix product.
"""

from __future__ import annotations

import numpy as np

from ._resample import draw_subjects

__all__ = ["regression_bootstrap", "regression_metrics"]

_SUMS = ("n", "err", "abs_err", "sq_err", "y", "sq_y")


def _scores(sums: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, RMSE, bias and R² from stacked sums (..., 6) in the order of ``_SUMS``."""
    n, err, abs_err, sq_err, y, sq_y = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sst = sq_y - y**2 / n
        return {
            "mae": abs_err / n,
            "rmse": np.sqrt(sq_err / n),
            "bias": err / n,
            "r2": np.where(sst > 1e-12 * np.maximum(sq_y, 1), 1 - sq_err / sst, np.nan),
        }


def _row_sums(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y = np.asarray(y_true, dtype=float)
    e = np.asarray(y_pred, dtype=float) - y
    return np.stack([np.ones_like(y), e, np.abs(e), e**2, y, y**2], axis=1)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Point scores of numeric predictions.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n,)

    Returns
    -------
    dict
        ``n``; ``mae`` (mean absolute error), ``rmse``, ``bias`` (mean of
        prediction − truth), ``median_ae``, ``max_ae``, ``r2`` (1 − SSE/SST; None
        when the true values are constant) and ``pearson_r`` (None when either
        side is constant), in the target's unit.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    scores = {k: float(v) for k, v in _scores(_row_sums(y, p).sum(axis=0)).items()}
    r = None
    if len(y) > 1 and y.std() > 0 and p.std() > 0:
        r = float(np.corrcoef(y, p)[0, 1])
    return {
        "n": len(y),
        "mae": scores["mae"],
        "rmse": scores["rmse"],
        "bias": scores["bias"],
        "median_ae": float(np.median(np.abs(p - y))) if len(y) else float("nan"),
        "max_ae": float(np.max(np.abs(p - y))) if len(y) else float("nan"),
        "r2": None if not np.isfinite(scores["r2"]) else scores["r2"],
        "pearson_r": r,
    }


def regression_bootstrap(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> dict:
    """Percentile confidence intervals of MAE, RMSE, bias and R², resampling subjects.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n,)
    groups : ndarray of shape (n,)
        Subject of each row.
    n_boot : int, default=2000
    confidence : float, default=0.95
    random_state : int or None, default=0

    Returns
    -------
    dict
        For ``mae``, ``rmse``, ``bias`` and ``r2``: ``{"low", "high", "se"}``
        (None where no replicate is finite); plus ``n_groups``, ``n_boot`` and
        ``confidence``.
    """
    codes, draws = draw_subjects(groups, n_boot, random_state)
    n_groups = draws.shape[1]
    per_group = np.zeros((n_groups, len(_SUMS)))
    np.add.at(per_group, codes, _row_sums(y_true, y_pred))
    reps = _scores(draws @ per_group)
    alpha = (1 - confidence) / 2
    out: dict = {"n_groups": int(n_groups), "n_boot": int(n_boot), "confidence": confidence}
    for name, values in reps.items():
        values = values[np.isfinite(values)]
        if len(values) < 2:
            out[name] = {"low": None, "high": None, "se": None}
            continue
        out[name] = {
            "low": float(np.quantile(values, alpha)),
            "high": float(np.quantile(values, 1 - alpha)),
            "se": float(values.std(ddof=1)),
        }
    return out
