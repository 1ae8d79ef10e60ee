"""Tiny run directories written from hand-made predictions, for compare and report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geoface.runs import fold_score_row, run_header, summarise_predictions, write_json, write_oof

CLASSES = ["happy", "neutral", "sad"]


def design(n_subjects: int = 6, per_subject: int = 6, n_folds: int = 3, seed: int = 0):
    """Ids, subjects, folds (by subject) and true labels of a small balanced data set."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    ids = np.array([f"face_{i:03d}" for i in range(len(subjects))])
    folds = np.repeat(np.arange(n_subjects) % n_folds, per_subject)
    y = np.tile(np.arange(per_subject) % len(CLASSES), n_subjects)
    rng.shuffle(y)
    return ids, subjects, folds, y


def write_run(
    path: Path,
    *,
    ids,
    subjects,
    folds,
    y,
    pred,
    status=None,
    classes=CLASSES,
    model: str = "m",
    target: str = "label",
    group: str = "subject",
    table_path: str | None = None,
    n_boot: int = 200,
) -> Path:
    """Write a run directory whose out-of-fold predictions are ``pred`` (class indices)."""
    ids = np.asarray(ids)
    n = len(ids)
    status = np.full(n, "ok", dtype=object) if status is None else np.asarray(status, dtype=object)
    used = status == "ok"
    y = np.asarray(y)[used]
    pred = np.asarray(pred)[used]
    folds = np.asarray(folds)[used]
    groups = np.asarray(subjects)[used]
    k = len(classes)
    proba = np.full((len(y), k), 0.2 / (k - 1))
    proba[np.arange(len(y)), pred] = 0.8
    fold_scores = [
        fold_score_row(f, y[folds != f], pred[folds != f], y[folds == f], pred[folds == f], k)
        for f in np.unique(folds)
    ]
    excluded = {str(s): int((status == s).sum()) for s in set(status[~used])}
    metrics = summarise_predictions(
        y=y,
        pred=pred,
        proba=proba,
        groups=groups,
        classes=classes,
        fold=folds,
        fold_scores=fold_scores,
        excluded=excluded,
        model=model,
        target=target,
        group=group,
        n_boot=n_boot,
        seed=0,
    )
    path.mkdir(parents=True)
    write_json(path / "metrics.json", metrics)
    write_oof(
        path / "oof_predictions.csv",
        ids=[str(i) for i in ids],
        status=status.astype(str),
        used=used,
        fold=folds,
        groups=groups,
        y=y,
        pred=pred,
        proba=proba,
        classes=classes,
        group_col=group,
    )
    run = {
        **run_header(["geoface", "fit", "features.csv", "--out", str(path)]),
        "model": model,
        "target": target,
        "group": group,
        "seed": 0,
        "table": {"path": table_path},
    }
    write_json(path / "run.json", run)
    return path
