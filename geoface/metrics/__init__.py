"""Honest metrics: point scores, chance levels, subject-bootstrap intervals, groups."""

from ._bootstrap import subject_bootstrap
from ._groups import (
    AGE_GROUPS,
    ALL_GROUPS,
    GROUP_METRICS,
    MISSING_GROUP,
    GroupMetrics,
    group_metrics,
    group_order,
)
from ._labels import label_strings
from ._regression import regression_bootstrap, regression_metrics
from ._resample import draw_subjects, per_subject_confusion
from ._scores import (
    chance_levels,
    classification_metrics,
    confusion_counts,
    row_log_loss,
    scores_from_confusion,
)

__all__ = [
    "AGE_GROUPS",
    "ALL_GROUPS",
    "GROUP_METRICS",
    "MISSING_GROUP",
    "GroupMetrics",
    "chance_levels",
    "classification_metrics",
    "confusion_counts",
    "draw_subjects",
    "group_metrics",
    "group_order",
    "label_strings",
    "per_subject_confusion",
    "regression_bootstrap",
    "regression_metrics",
    "row_log_loss",
    "scores_from_confusion",
    "subject_bootstrap",
]
