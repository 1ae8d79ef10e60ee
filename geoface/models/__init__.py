"""Geometric classifiers on shared folds: registry, cross-validation, run directories."""

from ._cv import CVResult, cross_validate, fit_model, predict_full
from ._data import ModelData, feature_matrix, prepare_data
from ._persist import load_estimator, save_estimator
from ._registry import MODELS, ModelSpec, get_model_spec
from ._run import Run, fit_run, permutation_test

__all__ = [
    "MODELS",
    "CVResult",
    "ModelData",
    "ModelSpec",
    "Run",
    "cross_validate",
    "feature_matrix",
    "fit_model",
    "fit_run",
    "get_model_spec",
    "load_estimator",
    "permutation_test",
    "predict_full",
    "prepare_data",
    "save_estimator",
]
