"""Fusing runs: late fusion of out-of-fold probabilities and early fusion of features.

``fuse_runs`` reads two or more run directories made on the same faces and
folds (``geoface fit``, ``geoface baseline train``), checks that they agree
on ids, folds, classes and target, and writes a new, ordinary run directory:

* ``mean`` — the plain average of the runs' probabilities;
* ``weighted`` — one non-negative weight per run (summing to 1) minimising log loss;
* ``stack`` — a multinomial logistic regression on the runs' log-probabilities;
* ``concat`` — each fold's CNN embedding (PCA fitted on the training rows)
  joined to the geometric features and classified with XGBoost.

Everything learnt for fold ``k`` is learnt from the other folds' rows only.
"""

from ._early import EMBEDDING_REGION, concat_fusion, embedding_names
from ._inputs import AlignedRuns, align_runs, read_run
from ._late import LATE_METHODS, Combiner, fit_combiner, fit_weights, late_fusion
from ._run import METHODS, fuse_runs

__all__ = [
    "EMBEDDING_REGION",
    "LATE_METHODS",
    "METHODS",
    "AlignedRuns",
    "Combiner",
    "align_runs",
    "concat_fusion",
    "embedding_names",
    "fit_combiner",
    "fit_weights",
    "fuse_runs",
    "late_fusion",
    "read_run",
]
