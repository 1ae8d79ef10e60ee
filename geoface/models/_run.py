"""``fit``: cross-validate, refit, measure and write a run directory; load it back.

A run directory holds ``metrics.json``, ``oof_predictions.csv`` (every row of
the table: ``id, fold, <group>, status, y_true, y_pred, proba_<class>…``),
``splits.csv``, ``model/`` (the final model, each fold's model and
``model.json``), ``figures/`` and ``run.json`` (command, versions, seed,
timings). It is written under a temporary name and renamed into place, so a
crash never leaves a half-written run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from .._threads import current_threads, thread_budget
from ..evaluate import write_group_report
from ..features import FeatureTable
from ..metrics import classification_metrics, group_metrics, label_strings
from ..runs import (
    METRICS_JSON,
    MODEL_DIR,
    MODEL_JSON,
    OOF_CSV,
    check_output_dir,
    read_json,
    read_run_info,
    run_header,
    summarise_predictions,
    write_json,
    write_run,
)
from ..splits import Splits, make_splits
from ._cv import _predict_full, cross_validate, fit_model
from ._data import feature_matrix, prepare_data
from ._persist import load_estimator, model_suffix, save_estimator
from ._registry import get_model_spec

__all__ = ["Run", "check_eval_columns", "fit_run", "permutation_test"]

#: Columns of ``oof_predictions.csv`` that an ``eval_by`` column may not replace.
_OOF_COLUMNS = ("id", "fold", "status", "y_true", "y_pred")


def check_eval_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The ``eval_by`` columns, checked against the table; a one-line error lists the choices."""
    columns = list(dict.fromkeys(str(c) for c in columns))
    features = tuple(c for c in frame.columns if str(c).startswith(("tri_", "edge_")))
    choices = [c for c in frame.columns if c not in features and not str(c).startswith("qc_")]
    for col in columns:
        if col not in frame.columns or col in features:
            raise GeofaceError(
                f"--eval-by {col!r} is not a column of the table; choose one of {choices} "
                "(or a qc_ column)"
            )
        if col in _OOF_COLUMNS or col.startswith("proba_"):
            raise GeofaceError(
                f"--eval-by {col!r} clashes with a column of oof_predictions.csv; rename it"
            )
    return columns


def _permute_within(y: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = y.copy()
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = y[rng.permutation(idx)]
    return out


def _permuted_score(spec, data, y_perm, folds, seed: int, threads, mirror=None) -> float:
    """Cross-validated balanced accuracy on permuted labels (one joblib job)."""
    with thread_budget(threads):
        res = cross_validate(
            spec,
            data.X,
            y_perm,
            data.groups,
            folds,
            len(data.classes),
            seed=seed,
            keep_models=False,
            mirror=mirror,
        )
    return classification_metrics(y_perm, res.pred, None, data.classes)["balanced_accuracy"]


def permutation_test(
    spec,
    data,
    folds,
    n_permutations: int,
    *,
    seed: int,
    observed: float,
    progress=None,
    mirror: np.ndarray | None = None,
) -> dict:
    """Label-permutation test of the cross-validated balanced accuracy.

    Labels are shuffled within each subject (keeping each subject's set of
    labels), the whole cross-validation is rerun (mirror-augmented like the
    observed one when ``mirror`` is given), and the p-value is
    ``(1 + #{permuted ≥ observed}) / (1 + n_permutations)``.
    """
    from joblib import Parallel, delayed

    rng = np.random.default_rng(seed)
    # every permutation is drawn here, in order, so that where they run changes nothing
    perms = [_permute_within(data.y, data.groups, rng) for _ in range(n_permutations)]
    threads = current_threads()
    null = []
    jobs = Parallel(return_as="generator")(
        delayed(_permuted_score)(spec, data, y_perm, folds, seed, threads, mirror)
        for y_perm in perms
    )
    for i, score in enumerate(jobs):
        null.append(score)
        if progress is not None:
            progress(f"permutation {i + 1}/{n_permutations}: {null[-1]:.3f}")
    null_arr = np.asarray(null)
    return {
        "n_permutations": int(n_permutations),
        "metric": "balanced_accuracy",
        "observed": observed,
        "null_mean": float(null_arr.mean()),
        "null_95th": float(np.quantile(null_arr, 0.95)),
        "p_value": float((1 + (null_arr >= observed).sum()) / (1 + n_permutations)),
        "within": "subject",
    }


def fit_run(
    table: FeatureTable,
    out_dir: str | os.PathLike,
    *,
    model: str = "xgb",
    target: str = "label",
    group: str = "subject",
    splits: Splits | None = None,
    folds: int | str = 5,
    seed: int = 0,
    tune: bool = False,
    permutations: int = 0,
    n_boot: int = 2000,
    eval_by: Sequence[str] = (),
    overwrite: bool = False,
    command: list[str] | None = None,
    table_path: str | None = None,
    progress=None,
    mirror: bool | None = None,
) -> Path:
    """Cross-validate a model on subject-grouped folds and write a run directory.

    Parameters
    ----------
    table : FeatureTable
    out_dir : path-like
        The run directory to create.
    model : str, default="xgb"
        A key of :data:`geoface.models.MODELS`.
    target : str, default="label"
        Column to predict (any class column).
    group : str, default="subject"
    splits : Splits, optional
        Shared folds; made from the table with ``folds`` and ``seed`` when omitted.
    folds : int or "loso", default=5
    seed : int, default=0
        Seeds folds, models, bootstrap and permutations.
    tune : bool, default=False
        Nested cross-validation over the model's search space.
    permutations : int, default=0
        Label-permutation test with this many permutations (0: none).
    n_boot : int, default=2000
        Subject-bootstrap replicates for the confidence intervals.
    eval_by : sequence of str, default=()
        Table columns (age group, population, site …) to report every metric
        by, from the out-of-fold predictions: ``metrics_by_<column>.csv``, a
        ``by_group`` entry in ``metrics.json``, a figure of balanced accuracy
        per group, and the column in ``oof_predictions.csv``.
    overwrite : bool, default=False
        Replace an existing run directory.
    command : list of str, optional
        Recorded in ``run.json`` (defaults to ``sys.argv``).
    table_path : str, optional
        Recorded in ``run.json``.
    progress : callable, optional
        Receives one-line progress messages.
    mirror : bool or None, default=None
        Mirror augmentation: every training face also enters as its mirror
        image (the mesh's feature mirror permutation), in every training set
        and the final fit, never in a held-out fold. None takes the model's
        default (:attr:`ModelSpec.mirror`: on for the tree models), which is
        skipped, with a note, on a table whose columns are not the mesh's own
        features or on a mesh that is not mirror-symmetric; True on such a
        table is an error. Recorded in ``run.json`` (``mirror_augmentation``,
        ``mirror_note``).

    Returns
    -------
    Path
        The run directory.
    """
    t_start = time.perf_counter()
    out = Path(out_dir)
    check_output_dir(out, overwrite=overwrite)  # refuse before any work is done
    spec = get_model_spec(model)
    eval_by = check_eval_columns(table.frame, eval_by)
    if permutations < 0 or n_boot < 100:
        raise GeofaceError("permutations must be ≥ 0 and bootstrap replicates ≥ 100")
    if splits is None:
        splits = make_splits(table.frame, group=group, target=target, folds=folds, seed=seed)
    data = prepare_data(table, target=target, group=group, splits=splits)
    fold = splits.fold_of(data.ids)
    per_group = pd.Series(fold).groupby(data.groups).nunique()
    if (per_group > 1).any():
        raise GeofaceError(
            f"{group} {list(per_group[per_group > 1].index[:3])} fall in more than one fold of "
            f"the splits; make splits grouped by {group!r} with 'geoface split --group {group}'"
        )
    k = len(data.classes)
    say = progress or (lambda msg: None)
    mirror, mirror_perm, mirror_note = _mirror_choice(spec, table, data.feature_names, mirror)
    if mirror_note:
        say(mirror_note)
    say(
        f"{model}: {len(data.y)} faces, {len(np.unique(data.groups))} {group}s, {k} classes, "
        f"{len(np.unique(fold))} folds{' (tuning)' if tune else ''}"
        f"{' (mirror-augmented)' if mirror else ''}"
    )

    t0 = time.perf_counter()
    cv = cross_validate(
        spec,
        data.X,
        data.y,
        data.groups,
        fold,
        k,
        seed=seed,
        tune=tune,
        progress=say,
        mirror=mirror_perm,
    )
    t_cv = time.perf_counter() - t0
    t0 = time.perf_counter()
    final, final_present, final_params = fit_model(
        spec, data.X, data.y, data.groups, seed=seed, n_classes=k, tune=tune, mirror=mirror_perm
    )
    t_final = time.perf_counter() - t0

    metrics = summarise_predictions(
        y=data.y,
        pred=cv.pred,
        proba=cv.proba,
        groups=data.groups,
        classes=data.classes,
        fold=fold,
        fold_scores=cv.fold_scores,
        excluded=data.excluded,
        model=model,
        target=target,
        group=group,
        n_boot=n_boot,
        seed=seed,
    )
    perm = None
    t0 = time.perf_counter()
    if permutations:
        perm = permutation_test(
            spec,
            data,
            fold,
            permutations,
            seed=seed,
            observed=metrics["balanced_accuracy"],
            progress=say,
            mirror=mirror_perm,
        )
    t_perm = time.perf_counter() - t0
    by_group = {
        col: group_metrics(
            data.y,
            cv.pred,
            cv.proba,
            data.groups,
            table.frame[col].to_numpy()[data.used],
            data.classes,
            column=col,
            excluded_by=table.frame[col].to_numpy()[~data.used],
            n_boot=n_boot,
            seed=seed,
        )
        for col in eval_by
    }
    metrics.update(
        {
            "tuned_params": cv.params if tune else None,
            "final_params": final_params,
            "permutation_test": perm,
            "by_group": {col: gm.to_dict() for col, gm in by_group.items()},
        }
    )

    with write_run(out, overwrite=overwrite) as run_dir:
        tmp = run_dir.path
        run_dir.metrics(metrics)
        run_dir.oof(
            ids=table.frame["id"].astype(str),
            status=data.status,
            used=data.used,
            fold=fold,
            groups=data.groups,
            y=data.y,
            pred=cv.pred,
            proba=cv.proba,
            classes=data.classes,
            group_col=splits.group,
            extra={col: label_strings(table.frame[col]) for col in eval_by},
            row_groups=table.frame[group].to_numpy(),
            row_labels=label_strings(table.frame[target]),
        )
        run_dir.splits(splits)
        _write_models(run_dir.model_dir, spec, cv, final, final_present, final_params, data, table)
        run_dir.figures(metrics)
        for gm in by_group.values():
            write_group_report(tmp, gm, title=f"{model}: out-of-fold, by {gm.column}")
        run = {
            **run_header(command, "xgboost"),
            "model": model,
            "description": spec.description,
            "target": target,
            "group": group,
            "seed": seed,
            "tune": tune,
            "mirror_augmentation": bool(mirror),
            "mirror_note": mirror_note,
            "n_boot": n_boot,
            "permutations": permutations,
            "eval_by": list(eval_by),
            "table": {
                "path": table_path,
                "mesh_hash": table.mesh.hash,
                "n_rows": len(table.frame),
                "landmarker": table.info.get("landmarker"),
            },
            "splits": splits.info,
            "timings_seconds": {
                "cross_validation": round(t_cv, 3),
                "final_fit": round(t_final, 3),
                "permutation_test": round(t_perm, 3),
                "total": round(time.perf_counter() - t_start, 3),
            },
        }
        run_dir.header(run)
    return out


def _mirror_permutation(table: FeatureTable, names: list[str]) -> np.ndarray:
    from ..features import coords_of, feature_mirror, feature_names

    coords = coords_of(names)
    if list(names) != list(feature_names(table.mesh, coords)):
        raise GeofaceError(
            "mirror augmentation needs the mesh's own feature columns; re-extract the table"
        )
    if not table.mesh.is_symmetric:
        raise GeofaceError(
            "mirror augmentation needs a mirror-symmetric mesh; use the default mesh or "
            "fit with --no-mirror"
        )
    return feature_mirror(table.mesh, coords)


def _mirror_choice(
    spec, table: FeatureTable, names: list[str], asked: bool | None
) -> tuple[bool, np.ndarray | None, str | None]:
    """Whether to mirror-augment, the feature permutation, and a note when a default is skipped."""
    if asked is False or (asked is None and not spec.mirror):
        return False, None, None
    try:
        return True, _mirror_permutation(table, names), None
    except GeofaceError as exc:
        if asked:
            raise
        return False, None, f"mirror augmentation (the {spec.name} default) skipped: {exc}"


def _write_models(folder: Path, spec, cv, final, final_present, final_params, data, table):
    suffix = model_suffix(spec.persistence)
    save_estimator(final, folder / f"final{suffix}", spec.persistence)
    fold_files = []
    for i, ((model, present), params) in enumerate(zip(cv.models, cv.params, strict=True)):
        name = f"fold_{cv.fold_scores[i]['fold']}{suffix}"
        save_estimator(model, folder / name, spec.persistence)
        fold_files.append(
            {
                "fold": cv.fold_scores[i]["fold"],
                "file": name,
                "classes_present": [int(c) for c in present],
                "params": params,
            }
        )
    doc = {
        "model": spec.name,
        "persistence": spec.persistence,
        "classes": data.classes,
        "final": {
            "file": f"final{suffix}",
            "classes_present": [int(c) for c in final_present],
            "params": final_params,
        },
        "folds": fold_files,
        "feature_names": data.feature_names,
        "mesh_hash": table.mesh.hash,
        "mesh": table.mesh.to_dict(),
    }
    write_json(folder / MODEL_JSON, doc)


class Run:
    """A run directory written by :func:`fit_run`, loaded for prediction or reports."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.info = read_run_info(self.path)
        self.metrics = read_json(self.path / METRICS_JSON)
        self.model_info = read_json(self.path / MODEL_DIR / MODEL_JSON)

    @property
    def classes(self) -> list[str]:
        return list(self.model_info["classes"])

    @property
    def feature_names(self) -> list[str]:
        return list(self.model_info["feature_names"])

    @property
    def table_feature_names(self) -> list[str]:
        """The features the model reads from a feature table (an early-fusion run's
        model also reads CNN embedding columns, which no table holds)."""
        extra = set((self.model_info.get("embedding") or {}).get("names", []))
        return [f for f in self.feature_names if f not in extra]

    def oof_predictions(self) -> pd.DataFrame:
        return pd.read_csv(self.path / OOF_CSV, dtype={"id": str})

    def _load(self, entry: dict | None):
        if entry is None or "file" not in entry:
            raise GeofaceError(f"run {self.path} has no saved model for this (see its run.json)")
        model = load_estimator(
            self.path / MODEL_DIR / entry["file"], self.model_info["persistence"]
        )
        return model, np.asarray(entry["classes_present"], dtype=int)

    def final_model(self):
        """The model refitted on all rows, with the class indices it knows."""
        return self._load(self.model_info["final"])

    def fold_models(self) -> dict[int, tuple]:
        """Each fold's model (trained without that fold), keyed by fold."""
        return {e["fold"]: self._load(e) for e in self.model_info["folds"]}

    def check_table(self, table: FeatureTable) -> None:
        """Refuse a table built on another mesh or with other features (one line)."""
        if "mesh_hash" not in self.model_info:
            raise GeofaceError(f"run {self.path} was not fitted on a feature table")
        if table.mesh.hash != self.model_info["mesh_hash"]:
            raise GeofaceError(
                f"the table was built on mesh {table.mesh.hash} but the model on "
                f"{self.model_info['mesh_hash']}; re-extract it with the model's mesh "
                f"(--mesh {self.path / MODEL_DIR / MODEL_JSON})"
            )
        if list(table.feature_names) != self.table_feature_names:
            raise GeofaceError(
                "the table's feature names differ from the model's; re-extract it with the "
                "options the model was trained on"
            )

    def predict(self, table: FeatureTable) -> pd.DataFrame:
        """Predict every row of ``table`` with the final model.

        Returns
        -------
        DataFrame
            ``id, status, y_pred, proba_<class>…`` for every row; rows that
            failed QC or have non-finite features keep an empty prediction and
            their reason in ``status``.
        """
        if self.info.get("kind") == "fusion":
            raise GeofaceError(
                f"{self.path} is a fused run: predicting new faces needs its input runs' models "
                "and images; 'geoface predict' takes 'geoface fit' runs"
            )
        self.check_table(table)
        X = feature_matrix(table)
        qc = table.frame["qc_status"].astype(str).to_numpy()
        status = np.where(table.usable, "ok", np.char.add("qc_", qc.astype(str))).astype(object)
        status[(status == "ok") & ~np.isfinite(X).all(axis=1)] = "nonfinite_features"
        ok = status == "ok"
        model, present = self.final_model()
        k = len(self.classes)
        proba = np.full((len(X), k), np.nan)
        if ok.any():
            proba[ok] = _predict_full(model, present, X[ok], k)
        out = pd.DataFrame({"id": table.frame["id"].astype(str), "status": status})
        pred = pd.Series(pd.NA, index=out.index, dtype="object")
        if ok.any():
            pred[ok] = np.asarray(self.classes, dtype=object)[proba[ok].argmax(axis=1)]
        out["y_pred"] = pred
        for j, c in enumerate(self.classes):
            out[f"proba_{c}"] = proba[:, j]
        return out
