"""Compare run directories made on the same faces and folds.

``compare_runs`` checks that runs can be compared (same ids, folds, target
and classes), scores every run on the faces all of them predicted with
subject-bootstrap intervals, and tests each pair of runs: the exact McNemar
test on per-face correctness, paired bootstrap intervals of score
differences and Cohen's κ between predicted labels.
"""

from ._compare import SCORES, Comparison, compare_runs
from ._figures import plot_confusion_grid, plot_metric_intervals
from ._load import align_predictions, load_run_predictions
from ._stats import cohen_kappa, correctness_counts, mcnemar_exact, paired_bootstrap
from ._tables import fmt_ci, fmt_p, fmt_value, latex_escape, latex_table, markdown_table

__all__ = [
    "SCORES",
    "Comparison",
    "align_predictions",
    "cohen_kappa",
    "compare_runs",
    "correctness_counts",
    "fmt_ci",
    "fmt_p",
    "fmt_value",
    "latex_escape",
    "latex_table",
    "load_run_predictions",
    "markdown_table",
    "mcnemar_exact",
    "paired_bootstrap",
    "plot_confusion_grid",
    "plot_metric_intervals",
]
