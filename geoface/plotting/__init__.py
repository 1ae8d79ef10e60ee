"""Figures: every function takes ``ax=None`` (where it draws one panel) and returns the figure."""

from ._faces import plot_face, plot_faces
from ._groups import plot_group_confusions, plot_group_metric
from ._mesh import plot_mesh
from ._metrics import plot_confusion_matrix, plot_overfitting, plot_per_class_f1
from ._overlays import draw_overlay
from ._profile import plot_region_profile, region_profile
from ._regression import plot_predicted_vs_true, plot_regression_folds
from ._shap_bars import (
    plot_contrast_bars,
    plot_region_importance,
    plot_region_waterfall,
    plot_shap_summary,
)
from ._shap_mesh import plot_contrast_map, plot_face_shap, plot_region_map, plot_shap_mesh
from ._style import REGION_COLOURS, save_figure

__all__ = [
    "REGION_COLOURS",
    "draw_overlay",
    "plot_confusion_matrix",
    "plot_contrast_bars",
    "plot_contrast_map",
    "plot_face",
    "plot_face_shap",
    "plot_faces",
    "plot_group_confusions",
    "plot_group_metric",
    "plot_mesh",
    "plot_overfitting",
    "plot_per_class_f1",
    "plot_predicted_vs_true",
    "plot_region_importance",
    "plot_region_map",
    "plot_region_profile",
    "plot_region_waterfall",
    "plot_regression_folds",
    "plot_shap_mesh",
    "plot_shap_summary",
    "region_profile",
    "save_figure",
]
