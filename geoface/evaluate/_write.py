"""Write an :class:`Evaluation` to a folder, atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ._predictions import UNSEEN_POLICIES, Evaluation
from ._report import group_markdown_table, write_group_report

__all__ = ["evaluation_lines", "write_evaluation"]


def evaluation_lines(ev: Evaluation) -> list[str]:
    """What the rows were and what happened to them, in a few printed lines."""
    info = ev.info
    counts = ", ".join(f"{k} {v}" for k, v in info["status_counts"].items())
    lines = [f"{info['n_predictions']} prediction rows: {counts}"]
    truth = info.get("truth")
    if truth:
        if truth["predictions_without_truth"]:
            lines.append(
                f"  {truth['predictions_without_truth']} prediction rows have no id in --truth "
                f"(status no_truth), e.g. {truth['predictions_without_truth_ids'][:3]}"
            )
        if truth["truth_without_prediction"]:
            lines.append(
                f"  {truth['truth_without_prediction']} rows of --truth have no prediction, "
                f"e.g. {truth['truth_without_prediction_ids'][:3]}"
            )
    if info["unseen_classes"]:
        shown = ", ".join(f"{k!r} {v}" for k, v in info["unseen_classes"].items())
        policy = info["unseen_policy"]
        lines.append(
            f"  classes the model never saw ({shown}): {UNSEEN_POLICIES[policy]}"
            + (
                "; --unseen-classes count scores them as errors, --relabel OLD=NEW maps a "
                "class named differently"
                if policy == "exclude"
                else ""
            )
        )
    if info["classes_not_in_test"]:
        lines.append(f"  model classes absent from the test labels: {info['classes_not_in_test']}")
    if info["subjects_filled_from_id"]:
        lines.append(
            f"  {info['subjects_filled_from_id']} rows without a {info['group']} count as their "
            "own subject"
        )
    return lines


def _report_markdown(ev: Evaluation) -> str:
    parts = ["# Evaluation by group", ""]
    parts += [f"- {line.strip()}" for line in evaluation_lines(ev)]
    parts += [
        f"- classes: {', '.join(ev.info['classes'])}",
        "- intervals: 95 % percentile bootstrap over subjects within each group",
        "",
    ]
    for col, gm in ev.by_group.items():
        parts += [f"## By {col}", "", group_markdown_table(gm)]
    return "\n".join(parts)


def _events_markdown(events) -> str:
    """The event-level agreement as a Markdown section."""
    seg = events.info["segments"]
    how = "no smoothing" if seg["smooth"] == "none" else f"{seg['smooth']} over {seg['window_s']} s"
    head = (
        "| class | coded | predicted | matched | precision | recall | F1 | mean onset error (s) |"
    )
    lines = [
        "",
        "## Events against the coding file",
        "",
        f"- onset tolerance {events.info['tolerance_s']} s; segments: {how}, shortest "
        f"{seg['min_duration_s']} s, threshold {seg['threshold']}",
        f"- coded events by status: {events.info['events']}",
        "",
        head,
        "|---|---|---|---|---|---|---|---|",
    ]

    def fmt(x) -> str:
        return "n/a" if x != x else f"{x:.3f}"

    for row in events.agreement.itertuples(index=False):
        lines.append(
            f"| {row[0]} | {row.n_coded} | {row.n_predicted} | {row.matched} | "
            f"{fmt(row.precision)} | {fmt(row.recall)} | {fmt(row.f1)} | "
            f"{fmt(row.mean_onset_error_s)} |"
        )
    return "\n".join(lines) + "\n"


def write_evaluation(
    ev: Evaluation,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    sources: dict | None = None,
    events=None,
) -> Path:
    """Write ``metrics.json``, ``metrics_by_<column>.csv``/``.md``, ``report.md``,
    ``evaluated_rows.csv``, ``evaluate.json`` and ``figures/`` into ``out``.

    The folder is staged under a temporary name and renamed into place. With
    ``events`` (an :class:`geoface.evaluate.EventEvaluation`, predictions on
    frames against a coding file), ``event_agreement.csv``, ``segments.csv``
    and ``events.csv`` (every coded event with its status) are written too and
    its options and counts go into ``evaluate.json`` under ``events``.

    Returns
    -------
    Path
        ``out``.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_confusion_matrix, save_figure
    from ..runs import METRICS_JSON, run_header, staged_directory, write_json

    with staged_directory(out, overwrite=overwrite) as tmp:
        metrics = {
            "classes": ev.info["classes"],
            "overall": ev.overall,
            "by_group": {col: gm.to_dict() for col, gm in ev.by_group.items()},
            "status_counts": ev.info["status_counts"],
            "unseen_classes": ev.info["unseen_classes"],
            "unseen_policy": ev.info["unseen_policy"],
        }
        write_json(tmp / METRICS_JSON, metrics)
        for gm in ev.by_group.values():
            write_group_report(tmp, gm, markdown=True, confusions=True, title=f"by {gm.column}")
        report = _report_markdown(ev)
        if events is not None:
            report += _events_markdown(events)
        (tmp / "report.md").write_text(report, encoding="utf-8")
        ev.rows.to_csv(tmp / "evaluated_rows.csv", index=False)
        cm = ev.overall["confusion_matrix"]
        fig = plot_confusion_matrix(cm["counts"], cm["labels"], title="all scored rows")
        save_figure(fig, tmp / "figures" / "confusion_matrix")
        plt.close(fig)
        extra = {}
        if events is not None:  # predictions on frames against a coding file
            events.agreement.to_csv(tmp / "event_agreement.csv", index=False, float_format="%.6g")
            events.segments.to_csv(tmp / "segments.csv", index=False, float_format="%.6f")
            events.events.to_csv(tmp / "events.csv", index=False, float_format="%.6f")
            extra["events"] = events.info
        write_json(
            tmp / "evaluate.json",
            {**run_header(command), "inputs": dict(sources or {}), **ev.info, **extra},
        )
    return Path(out)
