"""Cross-validation on shared folds: out-of-fold predictions, tuning, overfitting report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import GeofaceError
from .._threads import current_threads
from ..metrics import confusion_counts, scores_from_confusion
from ..runs import fold_score_row
from ._registry import ModelSpec

__all__ = ["CVResult", "cross_validate", "fit_model", "mirror_augment", "predict_full"]


@dataclass
class CVResult:
    """What cross-validation on fixed folds produced.

    Attributes
    ----------
    proba : ndarray of shape (n, n_classes)
        Out-of-fold class probabilities, columns in ``classes`` order.
    pred : ndarray of int, shape (n,)
    models : list
        The model of each fold (fold ``k`` never saw rows of fold ``k``).
    params : list of dict
        The parameters each fold's model used (the tuned ones with ``tune``).
    fold_scores : list of dict
        Per fold: ``fold, n_train, n_test, train_*, test_*`` and ``gap_*``
        (train minus test) for accuracy, balanced accuracy and macro-F1, and
        ``fit_seconds``.
    """

    proba: np.ndarray
    pred: np.ndarray
    models: list = field(default_factory=list)
    params: list = field(default_factory=list)
    fold_scores: list = field(default_factory=list)


def _weights(spec: ModelSpec, y: np.ndarray) -> dict:
    if not spec.sample_weight:
        return {}
    from sklearn.utils.class_weight import compute_sample_weight

    key = spec.sample_weight if isinstance(spec.sample_weight, str) else "sample_weight"
    return {key: compute_sample_weight("balanced", y)}


def mirror_augment(X: np.ndarray, y: np.ndarray, mirror: np.ndarray | None):
    """Every training face and its mirror image: ``X[:, mirror]`` appended below ``X``.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    y : ndarray of shape (n,)
    mirror : ndarray of int, shape (n_features,) or None
        The feature mirror permutation (:func:`geoface.features.feature_mirror`);
        None returns the inputs unchanged.

    Returns
    -------
    X2 : ndarray of shape (2n, n_features)
    y2 : ndarray of shape (2n,)
    """
    if mirror is None:
        return X, y
    return np.vstack([X, X[:, mirror]]), np.concatenate([y, y])


def _fit_plain(
    spec: ModelSpec, X, y, seed: int, params: dict, mirror: np.ndarray | None = None
) -> tuple[Any, np.ndarray]:
    """Fit on labels re-indexed to the classes present; return model and those classes.

    With ``mirror``, the training rows (and only they) are doubled by their mirror images.
    """
    present, local = np.unique(y, return_inverse=True)
    if len(present) < 2:
        raise GeofaceError(
            "a training fold holds a single class; use fewer folds or merge rare classes"
        )
    model = spec.build(seed, params)
    X, local = mirror_augment(X, local, mirror)
    model.fit(X, local, **_weights(spec, local))
    return model, present


def _predict_full(model, present: np.ndarray, X, n_classes: int) -> np.ndarray:
    proba = np.zeros((len(X), n_classes))
    proba[:, present] = model.predict_proba(X)
    return proba


#: The public name of :func:`_predict_full` (probabilities over every class of the run).
predict_full = _predict_full


def _inner_splits(y, groups, seed: int, n_splits: int = 3):
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise GeofaceError("tuning needs at least 2 subjects in every training fold")
    cv = StratifiedGroupKFold(n_splits=min(n_splits, n_groups), shuffle=True, random_state=seed)
    import warnings

    with warnings.catch_warnings():
        # a class thinner than the inner folds only weakens stratification
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(cv.split(np.zeros(len(y)), y, groups))


def _tune(
    spec: ModelSpec, X, y, groups, seed: int, n_classes: int, mirror=None
) -> tuple[dict, list]:
    """Random search over the spec's space, scored by balanced accuracy on inner grouped folds."""
    from sklearn.model_selection import ParameterSampler

    grid_size = int(np.prod([len(v) for v in spec.search_space.values()]))
    candidates = list(
        ParameterSampler(
            spec.search_space, n_iter=min(spec.n_candidates, grid_size), random_state=seed
        )
    )
    inner = _inner_splits(y, groups, seed)
    results = []
    for params in candidates:
        scores = []
        for tr, te in inner:
            model, present = _fit_plain(spec, X[tr], y[tr], seed, params, mirror)
            pred = _predict_full(model, present, X[te], n_classes).argmax(axis=1)
            cm = confusion_counts(y[te], pred, n_classes)
            scores.append(float(scores_from_confusion(cm)["balanced_accuracy"]))
        results.append({"params": params, "balanced_accuracy": float(np.mean(scores))})
    best = max(results, key=lambda r: r["balanced_accuracy"])
    return best["params"], results


def fit_model(
    spec: ModelSpec,
    X,
    y,
    groups,
    *,
    seed: int,
    n_classes: int,
    tune: bool = False,
    mirror: np.ndarray | None = None,
) -> tuple[Any, np.ndarray, dict]:
    """Fit one model (tuned by inner grouped CV when ``tune``; mirror-augmented with ``mirror``).

    Returns
    -------
    model, present_classes, params
    """
    params: dict = {}
    if tune:
        params, _ = _tune(spec, X, y, groups, seed, n_classes, mirror)
    model, present = _fit_plain(spec, X, y, seed, params, mirror)
    return model, present, params


def _cv_fold(spec, X, y, groups, folds, k, n_classes, seed, tune, mirror, keep_models, threads):
    """Fit on every fold but ``k``, predict fold ``k`` (one joblib job; may run on a worker).

    ``threads`` is the caller's budget, applied here too (a worker does not inherit it).
    """
    from .._threads import thread_budget

    test = folds == k
    train = ~test
    with thread_budget(threads):
        t0 = time.perf_counter()
        model, present, params = fit_model(
            spec,
            X[train],
            y[train],
            groups[train],
            seed=seed,
            n_classes=n_classes,
            tune=tune,
            mirror=mirror,
        )
        seconds = time.perf_counter() - t0
        proba_k = _predict_full(model, present, X[test], n_classes)
        train_pred = _predict_full(model, present, X[train], n_classes).argmax(axis=1)
    row = fold_score_row(k, y[train], train_pred, y[test], proba_k.argmax(axis=1), n_classes)
    row["fit_seconds"] = round(seconds, 3)
    return k, proba_k, row, params, (model, present) if keep_models else None


def cross_validate(
    spec: ModelSpec,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    folds: np.ndarray,
    n_classes: int,
    *,
    seed: int = 0,
    tune: bool = False,
    keep_models: bool = True,
    progress=None,
    mirror: np.ndarray | None = None,
) -> CVResult:
    """Out-of-fold predictions of ``spec`` on the given folds.

    Parameters
    ----------
    spec : ModelSpec
    X : ndarray of shape (n, n_features)
    y : ndarray of int, shape (n,)
        Class indices (0 … n_classes-1).
    groups : ndarray of shape (n,)
        Subject of each row (inner tuning folds are grouped by it).
    folds : ndarray of int, shape (n,)
        Fold of each row.
    n_classes : int
    seed : int, default=0
    tune : bool, default=False
        Nested CV: choose parameters on inner grouped folds of each training set.
    keep_models : bool, default=True
    progress : callable, optional
        Called with a short message after each fold.
    mirror : ndarray of int, shape (n_features,), optional
        Mirror augmentation: each training set (never the held-out fold) is
        doubled by its mirror images, ``X[:, mirror]`` with the feature mirror
        permutation of :func:`geoface.features.feature_mirror`.

    Returns
    -------
    CVResult
    """
    from joblib import Parallel, delayed

    proba = np.zeros((len(y), n_classes))
    result = CVResult(proba=proba, pred=np.zeros(len(y), dtype=int))
    threads = current_threads()
    # one job per fold: run one after the other here, or on a cluster under
    # joblib.parallel_config(backend="dask") (``fit --cluster``); the same results either way
    jobs = Parallel(return_as="generator")(
        delayed(_cv_fold)(
            spec, X, y, groups, folds, k, n_classes, seed, tune, mirror, keep_models, threads
        )
        for k in np.unique(folds)
    )
    for k, proba_k, row, params, fitted in jobs:
        proba[folds == k] = proba_k
        result.fold_scores.append(row)
        result.params.append(params)
        if keep_models:
            result.models.append(fitted)
        if progress is not None:
            progress(
                f"fold {int(k)}: test balanced accuracy {row['test_balanced_accuracy']:.3f} "
                f"(train {row['train_balanced_accuracy']:.3f}) in {row['fit_seconds']:.1f} s"
            )
    result.pred = proba.argmax(axis=1)
    return result
