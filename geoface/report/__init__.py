"""One self-contained HTML page about runs: data, scores, comparison, overfitting, SHAP maps."""

from ._find import find_explain_dirs, find_feature_table
from ._report import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "find_explain_dirs", "find_feature_table", "write_report"]
