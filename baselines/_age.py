"""The age task's part of a run directory: metrics, out-of-fold table, figures, folds.

``metrics.json`` of an age run has ``task: "age"``, the target's ``unit``
(years or months), the regression ``loss``, the out-of-fold ``mae``, ``rmse``,
``r2``, ``bias`` (mean of predicted − true), ``median_ae``, ``max_ae`` and
``pearson_r``; ``ci95`` (subject bootstrap) for MAE, RMSE, bias and R²;
``chance.training_mean`` (each held-out face predicted as the mean age of its
training folds: what a network that ignores the face would score);
``age_groups`` (MAE per true developmental group and the share of faces whose
predicted group is their true one, with the default boundaries of
:mod:`geoface.age_groups`); and the ``overfitting`` report (training vs held-out
MAE and RMSE per fold; ``gap_*`` = held-out − training, positive when the
network fits its training faces better).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geoface.age_groups import AGE_GROUPS, DEFAULT_AGE_BINS, assign_age_groups
from geoface.metrics import regression_bootstrap, regression_metrics
from geoface.runs import keep_left_out, oof_frame, overfitting_summary, used_column

__all__ = [
    "age_fold_row",
    "age_strata",
    "age_summary_lines",
    "summarise_age",
    "write_age_figures",
    "write_age_oof",
]


def age_fold_row(fold, y_train, p_train, y_test, p_test, **extra) -> dict:
    """One fold's line of the overfitting report: MAE and RMSE on training and held-out faces."""
    row = {"fold": int(fold), "n_train": len(y_train), "n_test": len(y_test), **extra}
    for name in ("mae", "rmse"):
        tr = regression_metrics(y_train, p_train)[name]
        te = regression_metrics(y_test, p_test)[name]
        row[f"train_{name}"] = tr
        row[f"test_{name}"] = te
        row[f"gap_{name}"] = te - tr
    return row


def _in_years(values: np.ndarray, unit: str) -> np.ndarray:
    return np.asarray(values, dtype=float) / (12.0 if unit == "months" else 1.0)


def _group_report(y: np.ndarray, pred: np.ndarray, unit: str) -> dict:
    true_g = assign_age_groups(_in_years(y, unit))
    pred_g = assign_age_groups(_in_years(pred, unit))
    per_group = {}
    for name in AGE_GROUPS:
        sel = true_g == name
        if sel.any():
            per_group[name] = {
                "n": int(sel.sum()),
                "mae": float(np.abs(pred[sel] - y[sel]).mean()),
                "accuracy": float((pred_g[sel] == name).mean()),
            }
    return {
        "bins_years": list(DEFAULT_AGE_BINS),
        "labels": list(AGE_GROUPS),
        "accuracy": float((pred_g == true_g).mean()) if len(y) else None,
        "per_group": per_group,
    }


def summarise_age(
    *,
    y: np.ndarray,
    pred: np.ndarray,
    mean_pred: np.ndarray,
    groups: np.ndarray,
    fold: np.ndarray,
    fold_scores: Sequence[dict],
    excluded: dict,
    model: str,
    target: str,
    unit: str,
    loss: str,
    group: str,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """The ``metrics.json`` of an age run (see the module docstring).

    Parameters
    ----------
    y, pred : ndarray of shape (n,)
        True and out-of-fold predicted ages of the rows that took part.
    mean_pred : ndarray of shape (n,)
        Each row's training-fold mean age (the no-information baseline).
    groups, fold : ndarray of shape (n,)
    fold_scores : sequence of dict
        From :func:`age_fold_row`.
    excluded : dict
        Reason → number of input rows left out.
    model, target, unit, loss, group : str
    n_boot : int, default=2000
    seed : int, default=0

    Returns
    -------
    dict
    """
    point = regression_metrics(y, pred)
    baseline = regression_metrics(y, mean_pred)
    return {
        "task": "age",
        "model": model,
        "target": target,
        "unit": unit,
        "loss": loss,
        "group": group,
        "n_used": len(y),
        "n_groups": len(np.unique(groups)),
        "n_folds": len(np.unique(fold)),
        "excluded": dict(excluded),
        **{k: point[k] for k in ("mae", "rmse", "r2", "bias", "median_ae", "max_ae", "pearson_r")},
        "ci95": regression_bootstrap(y, pred, groups, n_boot=n_boot, random_state=seed),
        "chance": {"training_mean": {k: baseline[k] for k in ("mae", "rmse", "r2")}},
        "target_summary": {
            "min": float(np.min(y)),
            "max": float(np.max(y)),
            "mean": float(np.mean(y)),
            "sd": float(np.std(y)),
        },
        "age_groups": _group_report(np.asarray(y, float), np.asarray(pred, float), unit),
        "overfitting": overfitting_summary(fold_scores),
    }


def write_age_oof(
    path: str | os.PathLike,
    *,
    ids: Sequence[str],
    status: Sequence[str],
    used: np.ndarray,
    fold: np.ndarray,
    groups: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    group_col: str = "subject",
    row_groups: Sequence | None = None,
    row_ages: Sequence | None = None,
) -> None:
    """Write ``oof_predictions.csv`` of an age run: ``id, fold, <group>, status, y_true,
    y_pred`` (numbers), one row per input row; a row that took no part keeps its group
    and true age (``row_groups``, ``row_ages``) and has no fold or prediction."""
    out = oof_frame(
        ids=ids,
        status=status,
        used=used,
        fold=fold,
        groups=groups,
        group_col=group_col,
        row_groups=row_groups,
    )
    out["y_true"] = keep_left_out(used_column(used, y, numeric=True), used, row_ages, numeric=True)
    out["y_pred"] = used_column(used, pred, numeric=True)
    out.to_csv(path, index=False, float_format="%.6g")


def write_age_figures(
    folder: str | os.PathLike, metrics: dict, y: np.ndarray, pred: np.ndarray, fold: np.ndarray
) -> list[Path]:
    """``predicted_vs_true`` and ``overfitting`` (training vs held-out MAE per fold)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geoface.plotting import plot_predicted_vs_true, plot_regression_folds, save_figure

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    ci = metrics["ci95"]["mae"]
    interval = f" [{ci['low']:.2f}, {ci['high']:.2f}]" if ci["low"] is not None else ""
    unit = metrics["unit"]
    title = f"{metrics['model']}: MAE {metrics['mae']:.2f}{interval} {unit}"
    figs = {
        "predicted_vs_true": plot_predicted_vs_true(y, pred, fold=fold, unit=unit, title=title),
        "overfitting": plot_regression_folds(
            metrics["overfitting"]["folds"],
            baseline=metrics["chance"]["training_mean"]["mae"],
            unit=unit,
        ),
    }
    written = []
    for name, fig in figs.items():
        written += save_figure(fig, folder / name)
        plt.close(fig)
    return written


def age_summary_lines(metrics: dict) -> list[str]:
    """A few lines with the headline age metrics, their CIs and the training-mean baseline."""
    ci, unit = metrics["ci95"], metrics["unit"]

    def fmt(name, digits=2):
        value = metrics[name]
        if value is None:
            return f"{name.upper()} n/a"
        low, high = ci[name]["low"], ci[name]["high"]
        interval = f" [{low:.{digits}f}, {high:.{digits}f}]" if low is not None else ""
        return f"{'R²' if name == 'r2' else name.upper()} {value:.{digits}f}{interval}"

    base = metrics["chance"]["training_mean"]
    gap = metrics["overfitting"]["mean"]
    lines = [
        f"{metrics['model']} age ({metrics['target']}, {unit}) on {metrics['n_used']} faces of "
        f"{metrics['n_groups']} subjects, {metrics['n_folds']} folds "
        "(95% CI, bootstrap over subjects):",
        f"  {fmt('mae')} {unit}; {fmt('rmse')} {unit}; {fmt('r2', 3)}",
        f"  predicting the training mean: MAE {base['mae']:.2f} {unit}",
        f"  overfitting: training MAE {gap['train_mae']:.2f} vs held-out "
        f"{gap['test_mae']:.2f} (gap {gap['gap_mae']:+.2f})",
    ]
    if metrics["excluded"]:
        lines.append("  excluded: " + ", ".join(f"{k} {v}" for k, v in metrics["excluded"].items()))
    return lines


def age_strata(values: np.ndarray, groups: np.ndarray, n_folds: int | str) -> np.ndarray:
    """Stratification labels for making folds on a numeric target: quantile bins of the
    subjects' mean ages, as many (up to five) as leave every bin at least ``n_folds``
    subjects; one stratum when that is impossible or for leave-one-subject-out."""
    values = np.asarray(values, dtype=float)
    per_subject = pd.Series(values).groupby(np.asarray(groups)).mean()
    strata = pd.Series("all", index=per_subject.index, dtype=object)
    if n_folds != "loso":
        k = int(n_folds)
        for q in range(min(5, len(per_subject) // max(k, 1)), 1, -1):
            bins = pd.qcut(per_subject.rank(method="first"), q, labels=False)
            if bins.value_counts().min() >= k:
                strata = bins.astype(str)
                break
    return strata.reindex(np.asarray(groups)).to_numpy(dtype=object)
