"""Evaluation by group and across datasets: every metric per age group, site or population.

``evaluate_predictions`` scores a model's predictions on another dataset
(train on infants, test on each age group of an adult set) overall and per
group, joining true labels and groups by ``id``; ``write_evaluation`` writes
the report; ``geoface evaluate`` does both from the command line. On frames,
``frame_segments`` and ``evaluate_events`` turn per-frame predictions into
segments and score them against a coding file's events, and
``region_contributions_over_time`` lays explanations of frames out in time.
"""

from ._frames import (
    EventEvaluation,
    agreement_lines,
    check_frame_predictions,
    evaluate_events,
    frame_segments,
    region_contributions_over_time,
    smoothing_line,
)
from ._predictions import (
    PROBA_RANGE_TOLERANCE,
    PROBA_SUM_TOLERANCE,
    UNSEEN_POLICIES,
    Evaluation,
    evaluate_predictions,
    parse_relabel,
    read_predictions,
    read_truth,
)
from ._report import file_stem, group_markdown_table, group_summary_lines, write_group_report
from ._write import evaluation_lines, write_evaluation

__all__ = [
    "PROBA_RANGE_TOLERANCE",
    "PROBA_SUM_TOLERANCE",
    "UNSEEN_POLICIES",
    "Evaluation",
    "EventEvaluation",
    "agreement_lines",
    "check_frame_predictions",
    "evaluate_events",
    "evaluate_predictions",
    "evaluation_lines",
    "file_stem",
    "frame_segments",
    "group_markdown_table",
    "group_summary_lines",
    "parse_relabel",
    "read_predictions",
    "read_truth",
    "region_contributions_over_time",
    "smoothing_line",
    "write_evaluation",
    "write_group_report",
]
