"""Honest metrics: point scores, chance levels and subject-bootstrap intervals."""

from ._bootstrap import subject_bootstrap
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
    "row_log_loss",
    "scores_from_confusion",
    "subject_bootstrap",
]
