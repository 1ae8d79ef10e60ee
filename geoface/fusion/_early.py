"""Early fusion (``concat``): CNN embeddings joined to the geometric features, one XGBoost.

The CNN run's ``embeddings.npz`` holds ``fold_embeddings``: every usable face
embedded by each fold's network. For outer fold ``k`` the fused model uses
slice ``k`` — the network trained without fold ``k`` — for its training rows
*and* its test rows: every other fold's network was trained on fold ``k``'s
faces. The slice is reduced by a PCA fitted on the training rows only, its
components are appended to the geometric features of the table the geometric
run was fitted on, and XGBoost (:func:`geoface.models.get_model_spec`
``("xgb")``, balanced per-row weights as in ``geoface fit``) is trained on
the training rows and predicts fold ``k``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import GeofaceError
from ..runs import EMBEDDINGS_NPZ, fold_score_row

__all__ = ["EMBEDDING_REGION", "EarlyResult", "concat_fusion", "embedding_names", "split_inputs"]

#: The pseudo-region the embedding columns are attributed to by ``geoface explain``.
EMBEDDING_REGION = "cnn"


def embedding_names(n: int) -> list[str]:
    """Column names of ``n`` embedding components: ``cnn_pc_01`` …"""
    width = max(2, len(str(n)))
    return [f"{EMBEDDING_REGION}_pc_{i + 1:0{width}d}" for i in range(n)]


def split_inputs(runs) -> tuple:
    """The geometric ``fit`` run and the CNN run among two inputs (one-line error otherwise)."""
    from ..models import MODELS

    kinds = [(r.kind, r.model) for r in runs]
    geo = [r for r in runs if r.kind == "geometric" and r.model in MODELS]
    cnn = [r for r in runs if r.kind == "cnn"]
    if len(runs) != 2 or len(geo) != 1 or len(cnn) != 1:
        raise GeofaceError(
            "--method concat needs exactly one 'geoface fit' run and one CNN run from "
            f"'geoface baseline train'; got {len(runs)} run(s) of kind/model {kinds}"
        )
    return geo[0], cnn[0]


@dataclass
class EarlyResult:
    """Out-of-fold probabilities of the concatenated model, and what each fold learnt.

    Attributes
    ----------
    proba : ndarray of shape (n_used, n_classes)
    models : list of (estimator, present classes)
        Each fold's XGBoost model, in :attr:`folds` order.
    folds : list of int
    fold_scores : list of dict
    feature_names : list of str
        Geometric features, then the embedding components.
    n_components : int
    pca : dict of ndarray
        ``components`` (n_folds, n_components, d), ``mean`` (n_folds, d),
        ``explained_variance_ratio`` (n_folds, n_components) and ``reduced``
        (n_folds, n_used, n_components): every used face projected by each
        fold's PCA from that fold's slice (what ``geoface explain`` reads).
    table_path : str
    mesh_hash : str
    mesh : dict
    n_table_rows : int
    """

    proba: np.ndarray
    models: list = field(default_factory=list)
    folds: list = field(default_factory=list)
    fold_scores: list = field(default_factory=list)
    feature_names: list = field(default_factory=list)
    n_components: int = 0
    pca: dict = field(default_factory=dict)
    table_path: str = ""
    mesh_hash: str = ""
    mesh: dict = field(default_factory=dict)
    n_table_rows: int = 0


def _load_embeddings(cnn, ids: np.ndarray, fold: np.ndarray) -> tuple:
    """``fold_embeddings``, each used face's row in them and the slices' folds (checked)."""
    path = cnn.path / EMBEDDINGS_NPZ
    if not path.exists():
        raise GeofaceError(f"CNN run {cnn.path} has no embeddings.npz; retrain the baseline")
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in ("ids", "fold", "folds", "fold_embeddings") if k not in z.files]
        if missing:
            raise GeofaceError(
                f"{path} lacks {missing}; it was written by an older geoface: retrain the "
                "baseline so that every fold's network embeds every face"
            )
        emb_ids = z["ids"].astype(str)
        emb_fold = z["fold"].astype(int)
        folds = z["folds"].astype(int)
        fold_emb = z["fold_embeddings"]
    where = {i: n for n, i in enumerate(emb_ids)}
    idx = np.array([where.get(i, -1) for i in ids])
    if (idx < 0).any():
        i = ids[idx < 0][0]
        raise GeofaceError(f"{path} has no embedding of face {i!r}, which the CNN run predicted")
    wrong = np.flatnonzero(emb_fold[idx] != fold)
    if len(wrong):
        raise GeofaceError(
            f"{path} puts face {ids[wrong[0]]!r} in fold {emb_fold[idx][wrong[0]]}, its run in "
            f"fold {fold[wrong[0]]}; the CNN run directory is inconsistent"
        )
    absent = sorted(set(np.unique(fold).tolist()) - set(folds.tolist()))
    if absent:
        raise GeofaceError(f"{path} has no network slice for fold(s) {absent}")
    if fold_emb.shape[:2] != (len(folds), len(emb_ids)):
        raise GeofaceError(f"{path}: fold_embeddings has shape {fold_emb.shape}, not (folds, ids)")
    for f in np.unique(fold):  # checked before anything is fitted
        slot = int(np.flatnonzero(folds == f)[0])
        if not np.isfinite(fold_emb[slot][idx]).all():
            raise GeofaceError(
                f"{path}: the slice of fold {int(f)} holds non-finite values; retrain the baseline"
            )
    return fold_emb, idx, folds


def _geometric_matrix(geo, features, ids: np.ndarray):
    """The geometric features of the used faces, from the table the geometric run names."""
    from ..explain import run_table
    from ..features import FeatureTable
    from ..models import Run, feature_matrix

    run = Run(geo.path)
    if features is None or isinstance(features, FeatureTable):
        table, path = run_table(run, features, None)
    else:
        table, path = FeatureTable.read(features), str(features)
    run.check_table(table)
    X = feature_matrix(table)
    where = {i: n for n, i in enumerate(table.frame["id"].astype(str))}
    rows = np.array([where.get(i, -1) for i in ids])
    if (rows < 0).any():
        raise GeofaceError(
            f"the feature table lacks {(rows < 0).sum()} face(s) the runs predicted, e.g. "
            f"{ids[rows < 0][0]!r}; give the table the geometric run was fitted on (--features)"
        )
    X = X[rows]
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise GeofaceError(
            f"face {ids[bad][0]!r} has non-finite features in the table although the runs "
            "predicted it; give the table the geometric run was fitted on (--features)"
        )
    path = str(Path(path).resolve()) if path else None
    return X, table, path


def concat_fusion(
    aligned,
    *,
    features: str | os.PathLike | None = None,
    embedding_dims: int = 32,
    seed: int = 0,
    progress=None,
) -> EarlyResult:
    """Cross-validate XGBoost on geometric features + each fold's reduced CNN embedding.

    Parameters
    ----------
    aligned : AlignedRuns
        A geometric ``fit`` run and a CNN run (see :func:`align_runs`).
    features : path-like or FeatureTable, optional
        The feature table (default: the one the geometric run's ``run.json`` names).
    embedding_dims : int, default=32
        PCA components kept (fewer when a fold has fewer training faces or
        the embedding fewer dimensions; the same number in every fold).
    seed : int, default=0
    progress : callable, optional

    Returns
    -------
    EarlyResult
    """
    from sklearn.decomposition import PCA

    from ..models import fit_model, get_model_spec, predict_full
    from ._late import _one_blas_thread

    if embedding_dims < 1:
        raise GeofaceError(f"embedding_dims={embedding_dims} must be at least 1")
    geo, cnn = split_inputs(aligned.runs)
    ids = aligned.ids[aligned.used]
    y, fold, groups = aligned.y, aligned.fold, aligned.groups
    X_geo, table, table_path = _geometric_matrix(geo, features, ids)
    fold_emb, idx, slices = _load_embeddings(cnn, ids, fold)
    folds = np.unique(fold)
    n_train_min = min(int((fold != f).sum()) for f in folds)
    n_comp = min(embedding_dims, fold_emb.shape[2], n_train_min)
    spec = get_model_spec("xgb")
    k = len(aligned.classes)
    proba = np.zeros((len(ids), k))
    names = embedding_names(n_comp)
    d = fold_emb.shape[2]
    pca_doc = {
        "components": np.zeros((len(folds), n_comp, d), dtype=np.float32),
        "mean": np.zeros((len(folds), d), dtype=np.float32),
        "explained_variance_ratio": np.zeros((len(folds), n_comp)),
        "reduced": np.zeros((len(folds), len(ids), n_comp), dtype=np.float32),
    }
    result = EarlyResult(
        proba=proba,
        feature_names=[*table.feature_names, *names],
        n_components=n_comp,
        pca=pca_doc,
        table_path=table_path or "",
        mesh_hash=table.mesh.hash,
        mesh=table.mesh.to_dict(),
        n_table_rows=len(table.frame),
    )
    for s, f in enumerate(folds):
        test = fold == f
        train = ~test
        t0 = time.perf_counter()
        slot = int(np.flatnonzero(slices == f)[0])
        E = np.asarray(fold_emb[slot][idx], dtype=np.float64)  # this fold's network only
        with _one_blas_thread():
            pca = PCA(n_components=n_comp, svd_solver="full", random_state=seed).fit(E[train])
            # float32: what XGBoost reads anyway, and what explain reads back
            Z = pca.transform(E).astype(np.float32)
        X = np.hstack([X_geo, Z.astype(np.float64)])
        model, present, _ = fit_model(
            spec, X[train], y[train], groups[train], seed=seed, n_classes=k
        )
        proba[test] = predict_full(model, present, X[test], k)
        train_pred = predict_full(model, present, X[train], k).argmax(axis=1)
        row = fold_score_row(f, y[train], train_pred, y[test], proba[test].argmax(axis=1), k)
        row["fit_seconds"] = round(time.perf_counter() - t0, 3)
        result.fold_scores.append(row)
        result.models.append((model, present))
        result.folds.append(int(f))
        pca_doc["components"][s] = pca.components_
        pca_doc["mean"][s] = pca.mean_
        pca_doc["explained_variance_ratio"][s] = pca.explained_variance_ratio_
        pca_doc["reduced"][s] = Z
        if progress is not None:
            progress(
                f"fold {int(f)}: held-out balanced accuracy {row['test_balanced_accuracy']:.3f} "
                f"(train {row['train_balanced_accuracy']:.3f}); {n_comp} embedding components "
                f"keep {pca.explained_variance_ratio_.sum():.0%} of the variance"
            )
    return result
