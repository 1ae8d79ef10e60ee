"""SHAP explanations of geometric models, summed from features to triangles, edges and regions.

``explain_run`` explains a ``geoface fit`` run — out of fold by default — with
the exact tree or linear explainer, or SHAP's model-agnostic partition
explainer whose coalitions are the facial regions; ``region_table`` and
``element_table`` summarise the values per class with intervals over
subjects; ``write_explanation`` writes everything ``geoface explain`` writes.
"""

from ._bilateral import bilateral_values, side_table
from ._engines import (
    DEFAULT_EXPLAINER,
    EXPLAINERS,
    SPACE_DESCRIPTIONS,
    explain_estimator,
    resolve_explainer,
    summarise_background,
)
from ._explain import (
    DEFAULT_MAX_ROWS,
    REGION_CHUNK_ROWS,
    Explanation,
    RegionExplanation,
    check_explainable,
    explain_run,
    run_table,
)
from ._hierarchy import REGION_TREE, FeatureHierarchy
from ._outputs import FIGURES, default_contrast, write_explanation
from ._shap_bars import (
    plot_contrast_bars,
    plot_region_importance,
    plot_region_waterfall,
    plot_shap_summary,
)
from ._shap_mesh import plot_contrast_map, plot_face_shap, plot_region_map, plot_shap_mesh
from ._summary import contrast_values, element_table, ground_truth_check, region_table

__all__ = [
    "DEFAULT_EXPLAINER",
    "DEFAULT_MAX_ROWS",
    "EXPLAINERS",
    "FIGURES",
    "REGION_CHUNK_ROWS",
    "REGION_TREE",
    "SPACE_DESCRIPTIONS",
    "Explanation",
    "FeatureHierarchy",
    "RegionExplanation",
    "bilateral_values",
    "check_explainable",
    "contrast_values",
    "default_contrast",
    "element_table",
    "explain_estimator",
    "explain_run",
    "ground_truth_check",
    "plot_contrast_bars",
    "plot_contrast_map",
    "plot_face_shap",
    "plot_region_importance",
    "plot_region_map",
    "plot_region_waterfall",
    "plot_shap_mesh",
    "plot_shap_summary",
    "region_table",
    "resolve_explainer",
    "run_table",
    "side_table",
    "summarise_background",
    "write_explanation",
]
