"""The classifiers geoface offers, each declared once with defaults and a search space.

Class imbalance is handled by every model: XGBoost, the RBF SVM and the
ensemble get per-row weights inversely proportional to class frequency
(``compute_sample_weight("balanced")``; for the SVM they reach both the SVM and
its Platt scaling, so that calibrated probabilities do not drift back towards
the frequent classes); the other scikit-learn models use
``class_weight="balanced"``. SVM probabilities come from Platt scaling
(``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` on 3 internal
folds of the training data; this touches only probability calibration, never
which faces are tested).

Every model trains mirror-augmented by default (:attr:`ModelSpec.mirror`):
each training face also enters as its mirror image, which doubles a small
training set with faces that are just as real and keeps the trees from
picking one of two mirrored, equally informative features. The defaults were
chosen on real photographs (``benchmarks/bench_real_faces.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import GeofaceError
from .._threads import current_threads

__all__ = ["MODELS", "ModelSpec", "get_model_spec"]


def _n_jobs() -> int:
    budget = current_threads()  # a thread budget in force (``--threads``) wins
    if budget is not None:
        return budget
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _xgb(seed: int, params: dict) -> Any:
    try:
        from xgboost import XGBClassifier
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("the 'xgb' model needs xgboost: pip install xgboost") from exc
    kw = {
        "tree_method": "hist",
        "n_estimators": 300,
        "max_depth": 2,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.3,
        "max_bin": 64,
        "min_child_weight": 1,
        "random_state": seed,
        "n_jobs": _n_jobs(),
    }
    kw.update(params)
    return XGBClassifier(**kw)


def _platt(svc: Any) -> Any:
    """Platt scaling on 3 internal folds of the training data (probabilities only)."""
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _calibrated(svc: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", _platt(svc))])


def _rbf_svc(seed: int, params: dict) -> Any:
    from sklearn.svm import SVC

    # a soft margin (C = 0.5): with a few hundred faces and 602 correlated features a
    # wider margin generalised better across subjects (C = 10 → 1 → 0.5 on CK+)
    kw = {"C": 0.5, "gamma": "scale"} | params
    # class balance comes as per-row weights, which reach both the SVM and its Platt scaling
    return SVC(kernel="rbf", random_state=seed, **kw)


def _svm(seed: int, params: dict) -> Any:
    return _calibrated(_rbf_svc(seed, params))


def _ensemble(seed: int, params: dict) -> Any:
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    logreg_c = params.get("logreg_C", 0.1)
    svm = {k[4:]: v for k, v in params.items() if k.startswith("svm_")}
    members = [
        ("logreg", LogisticRegression(C=logreg_c, max_iter=10000, random_state=seed)),
        ("svm", _platt(_rbf_svc(seed, svm))),
    ]
    vote = VotingClassifier(members, voting="soft")
    return Pipeline([("scale", StandardScaler()), ("clf", vote)])


def _svm_linear(seed: int, params: dict) -> Any:
    from sklearn.svm import LinearSVC

    # strongly regularised (C = 0.01): faster to converge on mirror-doubled data and as good
    kw = {"C": 0.01} | params
    return _calibrated(LinearSVC(class_weight="balanced", max_iter=20000, random_state=seed, **kw))


def _logreg(seed: int, params: dict) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    kw = {"C": 0.1} | params
    clf = LogisticRegression(class_weight="balanced", max_iter=10000, random_state=seed, **kw)
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def _rf(seed: int, params: dict) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    # leaves of at least 5 faces: with pure one-face leaves the class weights only steer
    # the splits and the vote drifts back to the frequent class; in leaves of several
    # faces they also weigh the leaf's class proportions
    kw = {
        "n_estimators": 300,
        "max_features": "sqrt",
        "min_samples_leaf": 5,
        "class_weight": "balanced",
        "n_jobs": _n_jobs(),
    } | params
    return RandomForestClassifier(random_state=seed, **kw)


@dataclass(frozen=True)
class ModelSpec:
    """One model family.

    Attributes
    ----------
    name : str
    description : str
    build : callable
        ``build(seed, params) -> estimator``; ``params`` override the defaults.
    search_space : dict
        Parameter name (as ``build`` takes it) → candidate values, searched by
        ``--tune``.
    n_candidates : int
        Random-search budget (the whole grid when it is smaller).
    sample_weight : bool or str
        Whether class balance is given as per-row weights to ``fit``; a string
        names the ``fit`` parameter that takes them (``clf__sample_weight``).
    persistence : {"xgboost", "skops"}
    mirror : bool
        Mirror augmentation by default (``fit --mirror`` / ``--no-mirror``
        override it): every training face also enters as its mirror image.
    """

    name: str
    description: str
    build: Callable[[int, dict], Any]
    search_space: dict = field(default_factory=dict)
    n_candidates: int = 12
    sample_weight: bool | str = False
    persistence: str = "skops"
    mirror: bool = True


MODELS: dict[str, ModelSpec] = {
    "xgb": ModelSpec(
        "xgb",
        "gradient-boosted trees (XGBoost, hist)",
        _xgb,
        {
            "max_depth": [2, 3, 4, 6],
            "learning_rate": [0.05, 0.1, 0.2],
            "n_estimators": [100, 200, 400],
            "subsample": [0.7, 1.0],
            "colsample_bytree": [0.3, 0.5, 0.8],
            "min_child_weight": [1, 3, 5],
        },
        n_candidates=12,
        sample_weight=True,
        persistence="xgboost",
    ),
    "svm": ModelSpec(
        "svm",
        "RBF support-vector machine, Platt-calibrated",
        _svm,
        {"C": [0.1, 0.5, 1.0, 10.0], "gamma": ["scale", 1e-4, 1e-3, 1e-2]},
        n_candidates=16,
        sample_weight="clf__sample_weight",
    ),
    "svm-linear": ModelSpec(
        "svm-linear",
        "linear support-vector machine, Platt-calibrated",
        _svm_linear,
        {"C": [0.001, 0.01, 0.1, 1.0]},
        n_candidates=4,
    ),
    "logreg": ModelSpec(
        "logreg",
        "multinomial logistic regression (L2)",
        _logreg,
        {"C": [0.001, 0.01, 0.1, 1.0, 10.0]},
        n_candidates=5,
    ),
    "rf": ModelSpec(
        "rf",
        "random forest",
        _rf,
        {"max_features": ["sqrt", 0.1, 0.3], "min_samples_leaf": [1, 5, 10]},
        n_candidates=9,
    ),
    "ensemble": ModelSpec(
        "ensemble",
        "soft vote of logistic regression and the RBF SVM (probabilities averaged)",
        _ensemble,
        {"logreg_C": [0.01, 0.1, 1.0], "svm_C": [0.5, 1.0, 10.0]},
        n_candidates=9,
        sample_weight="clf__sample_weight",
    ),
}


def get_model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``, or a one-line error listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        choices = ", ".join(repr(k) for k in MODELS)
        raise GeofaceError(f"model={name!r} is not one of {{{choices}}}") from None
