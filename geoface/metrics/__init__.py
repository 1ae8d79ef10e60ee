"""Honest metrics: point scores, chance levels and subject-bootstrap intervals."""

from ._bootstrap import subject_bootstrap
from ._regression import regression_bootstrap, regression_metrics
from ._scores import (
    chance_levels,
    classification_metrics,
    confusion_counts,
    row_log_loss,
    scores_from_confusion,
)

__all__ = [
    "chance_levels",
    "classification_metrics",
    "confusion_counts",
    "regression_bootstrap",
    "regression_metrics",
    "row_log_loss",
    "scores_from_confusion",
    "subject_bootstrap",
]
