"""Figures: every function takes ``ax=None`` (where it draws one panel) and returns the figure."""

from ._faces import plot_face, plot_faces
from ._groups import plot_group_confusions, plot_group_metric
from ._mesh import plot_mesh
from ._metrics import plot_confusion_matrix, plot_overfitting, plot_per_class_f1
from ._profile import plot_region_profile, region_profile
from ._regression import plot_predicted_vs_true, plot_regression_folds
from ._style import REGION_COLOURS, save_figure
from ._time_course import (
    CLASS_COLOURS,
    plot_region_time,
    plot_time_course,
    time_course_name,
    write_time_courses,
)

__all__ = [
    "CLASS_COLOURS",
    "REGION_COLOURS",
    "plot_confusion_matrix",
    "plot_face",
    "plot_faces",
    "plot_group_confusions",
    "plot_group_metric",
    "plot_mesh",
    "plot_overfitting",
    "plot_per_class_f1",
    "plot_predicted_vs_true",
    "plot_region_profile",
    "plot_region_time",
    "plot_regression_folds",
    "plot_time_course",
    "region_profile",
    "save_figure",
    "time_course_name",
    "write_time_courses",
]
