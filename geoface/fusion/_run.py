"""``fuse_runs``: fuse run directories into a new, ordinary run directory.

The fused run has the files every run has — ``metrics.json`` (scores,
subject-bootstrap CIs, chance levels, the overfitting report),
``oof_predictions.csv`` (every input row), ``splits.csv``, ``run.json``,
``figures/`` and ``model/`` — so ``geoface compare`` reads it like any other.

**What "no leakage" means here, and its limit.** Every weight, stacking model,
PCA and XGBoost model that produces fold ``k``'s fused predictions is learnt
from the other folds' rows only; fold ``k``'s labels are never read for fold
``k``. For late fusion one second-order dependence remains: the training
rows' out-of-fold probabilities that the combiner learns from were made by
base models trained on folds that include fold ``k``'s faces. Those
probabilities are still out of fold for the rows they describe, so the
effect is small, but it is not zero, and removing it needs nested
re-training of every base model, which fusion never does (it reads run
directories only). ``concat`` does not have it: its fold-``k`` model sees
the raw geometric features and the embeddings of the network trained
without fold ``k``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..runs import (
    EMBEDDING_PCA_NPZ,
    MODEL_JSON,
    SPLITS_CSV,
    check_output_dir,
    run_header,
    summarise_predictions,
    write_json,
    write_run,
)
from ._early import EMBEDDING_REGION, concat_fusion
from ._inputs import AlignedRuns, align_runs
from ._late import LATE_METHODS, late_fusion

__all__ = ["METHODS", "fuse_runs"]

#: Fusion methods (the CLI's ``--method`` choices read this).
METHODS: dict[str, str] = {
    **LATE_METHODS,
    "concat": "early fusion: each fold's CNN embedding (PCA on the training rows) joined to the "
    "geometric features, classified with XGBoost",
}

#: The remaining dependence fusion cannot remove, recorded in run.json.
CAVEAT = (
    "fold k's fused model is learnt from the other folds' rows only; but for late fusion "
    "those rows' out-of-fold probabilities come from base models that were trained on fold "
    "k's faces. Removing that second-order dependence needs re-training the base models, "
    "which fusion never does."
)


def _input_scores(aligned: AlignedRuns) -> list[dict]:
    from ..metrics import classification_metrics

    out = []
    for r, p in zip(aligned.runs, aligned.proba, strict=True):
        m = classification_metrics(aligned.y, p.argmax(axis=1), p, aligned.classes)
        out.append(
            {
                "name": r.name,
                "path": str(r.path.resolve()),
                "model": r.model,
                "kind": r.kind,
                "balanced_accuracy": m["balanced_accuracy"],
                "log_loss": m["log_loss"],
            }
        )
    return out


def _splits(aligned: AlignedRuns):
    from ..splits import Splits

    path = aligned.runs[0].path / SPLITS_CSV
    if path.exists():
        return Splits.read(path)
    frame = pd.DataFrame(
        {
            "id": aligned.ids[aligned.used],
            "fold": aligned.fold,
            aligned.group: aligned.groups,
        }
    )
    return Splits(frame=frame, group=aligned.group, info={"method": "from the fused runs"})


def fuse_runs(
    run_dirs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    method: str = "mean",
    seed: int = 0,
    features=None,
    embedding_dims: int = 32,
    n_boot: int = 2000,
    overwrite: bool = False,
    command: list[str] | None = None,
    progress=None,
) -> Path:
    """Fuse run directories on their shared folds and write a new run directory.

    Parameters
    ----------
    run_dirs : sequence of path-like
        At least two runs (``geoface fit``, ``geoface baseline train`` or
        earlier fusions) on the same faces, folds, classes and target.
    out : path-like
        The run directory to create.
    method : {"mean", "weighted", "stack", "concat"}, default="mean"
        Late fusion of out-of-fold probabilities (``mean``, ``weighted``,
        ``stack``; see :mod:`geoface.fusion._late`) or early fusion
        (``concat``: one geometric run and one CNN run; see
        :mod:`geoface.fusion._early`). Whatever is learnt for fold ``k`` is
        learnt from the other folds only.
    seed : int, default=0
        Seeds the stacking model, PCA, XGBoost and the bootstrap.
    features : path-like or FeatureTable, optional
        ``concat``: the feature table (default: the one the geometric run
        was fitted on, as its ``run.json`` records).
    embedding_dims : int, default=32
        ``concat``: PCA components of the CNN embedding.
    n_boot : int, default=2000
        Subject-bootstrap replicates for the confidence intervals.
    overwrite : bool, default=False
    command : list of str, optional
        Recorded in ``run.json`` (defaults to ``sys.argv``).
    progress : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    Path
        The fused run directory.

    Notes
    -----
    Fusion never re-trains the input runs. Fold ``k``'s fused prediction does
    not depend on fold ``k``'s labels, but for late fusion the training
    rows' out-of-fold probabilities come from base models that saw fold
    ``k``'s faces (a second-order dependence only re-training could remove;
    see the module documentation).
    """
    t_start = time.perf_counter()
    if method not in METHODS:
        choices = ", ".join(repr(m) for m in METHODS)
        raise GeofaceError(f"method={method!r} is not one of {{{choices}}}")
    out = check_output_dir(out, overwrite=overwrite)
    if n_boot < 100:
        raise GeofaceError(f"bootstrap replicates ({n_boot}) must be ≥ 100")
    if features is not None and method != "concat":
        raise GeofaceError("--features is used by --method concat only")
    say = progress or (lambda msg: None)
    aligned = align_runs(run_dirs)
    k = len(aligned.classes)
    names = aligned.names
    say(
        f"fusing {', '.join(names)} by {method}: {int(aligned.used.sum())} faces, "
        f"{len(np.unique(aligned.groups))} {aligned.group}s, {k} classes, "
        f"{len(np.unique(aligned.fold))} folds"
        + (f" ({int((~aligned.used).sum())} rows left out)" if (~aligned.used).any() else "")
    )
    t0 = time.perf_counter()
    if method == "concat":
        res = concat_fusion(
            aligned, features=features, embedding_dims=embedding_dims, seed=seed, progress=say
        )
    else:
        res = late_fusion(aligned.proba, aligned.y, aligned.fold, method, seed=seed, progress=say)
    t_fuse = time.perf_counter() - t0
    proba = res.proba
    pred = proba.argmax(axis=1)
    excluded = pd.Series(aligned.status[~aligned.used]).value_counts()
    metrics = summarise_predictions(
        y=aligned.y,
        pred=pred,
        proba=proba,
        groups=aligned.groups,
        classes=aligned.classes,
        fold=aligned.fold,
        fold_scores=res.fold_scores,
        excluded={str(a): int(b) for a, b in excluded.items()},
        model=f"fusion-{method}",
        target=aligned.target,
        group=aligned.group,
        n_boot=n_boot,
        seed=seed,
    )
    inputs = _input_scores(aligned)
    fusion_doc: dict = {"method": method, "inputs": inputs}
    if method != "concat":
        fusion_doc["weights"] = {
            "folds": [
                {"fold": f, **c.describe(names, aligned.classes)}
                for f, c in zip(res.folds, res.combiners, strict=True)
            ],
            "final": res.final.describe(names, aligned.classes),
        }
    else:
        fusion_doc["embedding"] = {
            "requested_dims": embedding_dims,
            "n_components": res.n_components,
            "region": EMBEDDING_REGION,
            "explained_variance": {
                str(f): float(v)
                for f, v in zip(
                    res.folds, res.pca["explained_variance_ratio"].sum(axis=1), strict=True
                )
            },
        }
    metrics["fusion"] = fusion_doc
    splits = _splits(aligned)

    with write_run(out, overwrite=overwrite) as run_dir:
        run_dir.metrics(metrics)
        run_dir.oof(
            ids=aligned.ids,
            status=aligned.status,
            used=aligned.used,
            fold=aligned.fold,
            groups=aligned.groups,
            y=aligned.y,
            pred=pred,
            proba=proba,
            classes=aligned.classes,
            group_col=aligned.group,
            row_groups=aligned.runs[0].oof[aligned.group].to_numpy(),
            row_labels=aligned.runs[0].oof["y_true"].to_numpy(),
        )
        run_dir.splits(splits)
        if method == "concat":
            _write_concat_model(run_dir.model_dir, res, aligned)
        else:
            _write_late_model(run_dir.model_dir, res, aligned, method)
        run_dir.figures(metrics)
        run = {
            **run_header(command, "xgboost", "scipy"),
            "kind": "fusion",
            "model": f"fusion-{method}",
            "method": method,
            "description": METHODS[method],
            "target": aligned.target,
            "group": aligned.group,
            "seed": seed,
            "n_boot": n_boot,
            "inputs": [
                {k_: v for k_, v in d.items() if k_ in ("name", "path", "model", "kind")}
                for d in inputs
            ],
            **({"weights": fusion_doc["weights"]} if method != "concat" else {}),
            **(
                {
                    "embedding": fusion_doc["embedding"],
                    "table": {
                        "path": res.table_path or None,
                        "mesh_hash": res.mesh_hash,
                        "n_rows": res.n_table_rows,
                    },
                }
                if method == "concat"
                else {}
            ),
            "leakage": {
                "fitted_on": "for each outer fold, the rows of the other folds only",
                "caveat": CAVEAT,
            },
            "splits": splits.info,
            "timings_seconds": {
                "fusion": round(t_fuse, 3),
                "total": round(time.perf_counter() - t_start, 3),
            },
        }
        run_dir.header(run)
    return out


def _write_late_model(folder: Path, res, aligned: AlignedRuns, method: str) -> None:
    from ..models import save_estimator

    names, classes = aligned.names, aligned.classes
    doc = {
        "model": f"fusion-{method}",
        "fusion": method,
        "persistence": "skops" if method == "stack" else None,
        "classes": classes,
        "inputs": names,
        "feature_names": (
            [f"{n}:log_proba_{c}" for n in names for c in classes]
            if method == "stack"
            else [f"{n}:proba_{c}" for n in names for c in classes]
        ),
        "folds": [],
        "final": None,
    }
    entries = [(f"fold_{f}", f, c) for f, c in zip(res.folds, res.combiners, strict=True)]
    entries.append(("final", None, res.final))
    for stem, f, comb in entries:
        entry = {**({"fold": f} if f is not None else {}), **comb.describe(names, classes)}
        if method == "stack":
            save_estimator(comb.model, folder / f"{stem}.skops", "skops")
            entry["file"] = f"{stem}.skops"
        if f is None:
            doc["final"] = entry
        else:
            doc["folds"].append(entry)
    write_json(folder / MODEL_JSON, doc)


def _write_concat_model(folder: Path, res, aligned: AlignedRuns) -> None:
    from ..models import save_estimator

    ids = aligned.ids[aligned.used]
    np.savez_compressed(
        folder / EMBEDDING_PCA_NPZ,
        ids=ids.astype(str),
        fold=aligned.fold.astype(int),
        folds=np.asarray(res.folds, dtype=int),
        names=np.asarray(res.feature_names[-res.n_components :], dtype=str),
        **res.pca,
    )
    entries = []
    for f, (model, present) in zip(res.folds, res.models, strict=True):
        name = f"fold_{f}.ubj"
        save_estimator(model, folder / name, "xgboost")
        entries.append(
            {"fold": f, "file": name, "classes_present": [int(c) for c in present], "params": {}}
        )
    doc = {
        "model": "xgb",
        "fusion": "concat",
        "persistence": "xgboost",
        "classes": aligned.classes,
        "final": None,
        "folds": entries,
        "feature_names": res.feature_names,
        "embedding": {
            "region": EMBEDDING_REGION,
            "names": res.feature_names[-res.n_components :],
            "file": EMBEDDING_PCA_NPZ,
            "cnn_run": str(next(r.path.resolve() for r in aligned.runs if r.kind == "cnn")),
        },
        "mesh_hash": res.mesh_hash,
        "mesh": res.mesh,
    }
    write_json(folder / MODEL_JSON, doc)
