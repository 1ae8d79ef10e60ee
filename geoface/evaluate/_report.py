"""Group-wise reports as files and printed lines, shared by ``fit --eval-by`` and ``evaluate``."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ..metrics import ALL_GROUPS, GroupMetrics

__all__ = ["file_stem", "group_markdown_table", "group_summary_lines", "write_group_report"]


def file_stem(column: str) -> str:
    """A file-name-safe form of a column name (``age group`` → ``age_group``)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(column)).strip("._")
    return stem or "column"


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _with_ci(row, name: str) -> str:
    value = _fmt(row[name])
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    if value == "n/a" or not (math.isfinite(low) and math.isfinite(high)):
        return value
    return f"{value} [{low:.3f}, {high:.3f}]"


def group_summary_lines(gm: GroupMetrics) -> list[str]:
    """Printed lines: balanced accuracy with its CI per group, accuracy, macro-F1, notes."""
    table = gm.table
    chance = table["chance_balanced_accuracy_uniform"].iloc[0]
    width = max(len(str(g)) for g in table[gm.column])
    lines = [f"by {gm.column} (balanced accuracy, 95% CI over subjects; chance {_fmt(chance)}):"]
    for _, row in table.iterrows():
        line = (
            f"  {row[gm.column]!s:<{width}}  n={int(row['n']):>5} "
            f"({int(row['n_subjects'])} subj.)  {_with_ci(row, 'balanced_accuracy')}"
            f"  accuracy {_fmt(row['accuracy'])}  macro-F1 {_fmt(row['macro_f1'])}"
        )
        if row["n_excluded"]:
            line += f"  ({int(row['n_excluded'])} excluded)"
        lines.append(line)
        if row["note"] and row[gm.column] != ALL_GROUPS:
            lines.append(f"  {'':<{width}}  note: {row['note']}")
    return lines


def group_markdown_table(gm: GroupMetrics) -> str:
    """The group table as Markdown: each metric with its 95 % interval, chance and notes."""
    head = [
        gm.column,
        "n",
        "subjects",
        "accuracy",
        "balanced accuracy",
        "macro-F1",
        "log loss",
        "chance (acc. majority / bal. acc. uniform)",
        "note",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in gm.table.iterrows():
        cells = [
            str(row[gm.column]).replace("|", "\\|"),
            str(int(row["n"])),
            str(int(row["n_subjects"])),
            *(_with_ci(row, m) for m in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss")),
            f"{_fmt(row['chance_accuracy_majority'])} / "
            f"{_fmt(row['chance_balanced_accuracy_uniform'])}",
            str(row["note"]).replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_group_report(
    folder: str | os.PathLike,
    gm: GroupMetrics,
    *,
    markdown: bool = False,
    confusions: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write ``metrics_by_<column>.csv`` (``.md``) and ``figures/balanced_accuracy_by_<column>``.

    Files are written straight into ``folder``: callers stage the whole
    directory (:func:`geoface.runs.staged_directory`), so nothing is ever
    half-written.

    Parameters
    ----------
    folder : path-like
    gm : GroupMetrics
    markdown : bool, default=False
        Also write the table as Markdown.
    confusions : bool, default=False
        Also draw each group's confusion matrix (``figures/confusion_by_<column>``).
    title : str, optional
        The figure's title.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_group_confusions, plot_group_metric, save_figure

    folder = Path(folder)
    stem = f"metrics_by_{file_stem(gm.column)}"
    written = [folder / f"{stem}.csv"]
    gm.table.to_csv(written[0], index=False, float_format="%.6g")
    if markdown:
        written.append(folder / f"{stem}.md")
        written[-1].write_text(group_markdown_table(gm), encoding="utf-8")
    (folder / "figures").mkdir(exist_ok=True)
    stem = file_stem(gm.column)
    fig = plot_group_metric(gm.table, gm.column, title=title)
    written += save_figure(fig, folder / "figures" / f"balanced_accuracy_by_{stem}")
    plt.close(fig)
    if confusions:
        fig = plot_group_confusions(gm.confusion, gm.classes, title=title)
        written += save_figure(fig, folder / "figures" / f"confusion_by_{stem}")
        plt.close(fig)
    return written
