"""One self-contained HTML page about runs: data, scores, comparison, videos, overfitting, SHAP."""

from ._find import find_explain_dirs, find_feature_table
from ._report import SECTIONS, VIDEO_SECTION, build_report, write_report
from ._sections import label_spans, read_frame_columns

__all__ = [
    "SECTIONS",
    "VIDEO_SECTION",
    "build_report",
    "find_explain_dirs",
    "find_feature_table",
    "label_spans",
    "read_frame_columns",
    "write_report",
]
