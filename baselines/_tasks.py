"""What differs between the baseline's two tasks: classification and age regression.

:func:`baselines.train_baseline` runs one training loop over the folds; a
task object supplies everything that depends on what is predicted — the
encoded targets, the inner validation strata, each fold's score row and
progress line, the predictions' shape, the metrics, the out-of-fold file and
the figures. :class:`ClassificationTask` predicts class probabilities,
:class:`AgeTask` a number in the target's unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geoface import GeofaceError
from geoface.runs import FIGURES_DIR, OOF_CSV, RunWriter, fold_score_row, summarise_predictions

from ._age import age_fold_row, age_strata, summarise_age, write_age_figures, write_age_oof
from ._folds import inner_validation

__all__ = ["AgeTask", "ClassificationTask"]


class ClassificationTask:
    """Classes of ``target``: a softmax head, cross-entropy, balanced accuracy per fold."""

    name = "classification"
    network_task = "classification"
    loss = "cross-entropy"
    unit = None

    def __init__(self, frame: pd.DataFrame, target: str, used: np.ndarray):
        self.target = target
        self.classes: list[str] = sorted(frame.loc[used, target].astype(str).unique().tolist())
        if len(self.classes) < 2:
            raise GeofaceError(f"target {target!r} has fewer than two classes among usable faces")
        self.y_all = np.full(len(frame), -1)
        self.y_all[used] = np.searchsorted(
            self.classes, frame.loc[used, target].astype(str).to_numpy()
        )
        self.row_truth = frame[target].to_numpy()

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        return f"{len(self.classes)} classes"

    def store_fill(self) -> float:
        return -1

    def inner_split(self, y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
        return inner_validation(y, groups, seed)

    def predictions(self, n: int) -> np.ndarray:
        return np.zeros((n, len(self.classes)))

    def fold_row(self, f, y_train, out_train, y_test, out_test, n_validation: int) -> dict:
        return fold_score_row(
            f,
            y_train,
            out_train.argmax(1),
            y_test,
            out_test.argmax(1),
            len(self.classes),
            n_validation=n_validation,
        )

    def fold_message(self, f, row: dict) -> str:
        return (
            f"fold {f}: held-out balanced accuracy {row['test_balanced_accuracy']:.3f} "
            f"(train {row['train_balanced_accuracy']:.3f})"
        )

    def write(
        self, run_dir: RunWriter, per_row: dict, *, y, main, fold, summary: dict, mean_pred
    ) -> dict:
        """The run's metrics and ``oof_predictions.csv``; returns the metrics."""
        pred = main.argmax(1)
        metrics = summarise_predictions(
            y=y,
            pred=pred,
            proba=main,
            groups=per_row["groups"],
            classes=self.classes,
            fold=fold,
            target=self.target,
            **summary,
        )
        metrics = {"task": "classification", **metrics}
        run_dir.oof(
            **per_row,
            row_labels=self.row_truth,
            y=y,
            pred=pred,
            proba=main,
            classes=self.classes,
        )
        return metrics

    def figures(self, run_dir: RunWriter, metrics: dict, y, main, fold) -> None:
        run_dir.figures(metrics)


class AgeTask:
    """Ages in ``unit``: one regression output, MAE per fold, strata of subjects' mean ages."""

    name = "age"
    network_task = "regression"
    classes: Sequence[str] = ()

    def __init__(self, ages: np.ndarray, target: str, unit: str, loss: str, used: np.ndarray):
        self.target, self.unit, self.loss = target, unit, loss
        self.classes = []
        self.y_all = np.where(used, ages, np.nan)
        self.row_truth = ages

    n_outputs = 0

    def describe(self) -> str:
        return f"{self.target} ({self.unit})"

    def store_fill(self) -> float:
        return np.nan

    def inner_split(self, y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
        return inner_validation(age_strata(y, groups, 5), groups, seed)

    def predictions(self, n: int) -> np.ndarray:
        return np.zeros(n)

    def fold_row(self, f, y_train, out_train, y_test, out_test, n_validation: int) -> dict:
        return age_fold_row(f, y_train, out_train, y_test, out_test, n_validation=n_validation)

    def fold_message(self, f, row: dict) -> str:
        return (
            f"fold {f}: held-out MAE {row['test_mae']:.3f} {self.unit} "
            f"(train {row['train_mae']:.3f})"
        )

    def write(
        self, run_dir: RunWriter, per_row: dict, *, y, main, fold, summary: dict, mean_pred
    ) -> dict:
        """The run's metrics and ``oof_predictions.csv``; returns the metrics."""
        metrics = summarise_age(
            y=y,
            pred=main,
            mean_pred=mean_pred,
            groups=per_row["groups"],
            fold=fold,
            target=self.target,
            unit=self.unit,
            loss=self.loss,
            **summary,
        )
        write_age_oof(
            Path(run_dir.path) / OOF_CSV, **per_row, y=y, pred=main, row_ages=self.row_truth
        )
        return metrics

    def figures(self, run_dir: RunWriter, metrics: dict, y, main, fold) -> None:
        write_age_figures(Path(run_dir.path) / FIGURES_DIR, metrics, y, main, fold)
