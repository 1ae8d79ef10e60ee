"""``write_report``: one self-contained HTML page for a lab meeting or a supplement."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from .._atomic import atomic_path
from .._errors import GeofaceError
from ..compare import load_run_predictions
from ..runs import run_names
from ._find import find_explain_dirs
from ._html import page, section
from ._sections import (
    comparison_section,
    confusion_section,
    data_section,
    explanation_section,
    metadata_section,
    metrics_section,
    overfitting_section,
    read_frame_columns,
    table_source,
    video_section,
)

__all__ = ["SECTIONS", "VIDEO_SECTION", "build_report", "write_report"]

#: Section id → heading, in page order. Every report has all of them.
SECTIONS = {
    "data": "Data and quality control",
    "metrics": "Models: scores and chance levels",
    "comparison": "Comparison of the models",
    "confusion": "Confusion matrices",
    "overfitting": "Overfitting: training vs held-out folds",
    "explanations": "Explanations by facial region (SHAP)",
    "metadata": "Run metadata",
}

#: The section (id, heading) added after "confusion" when the runs' table is a frame table
#: (rows with ``video`` and ``time_s``, from ``geoface extract`` on videos).
VIDEO_SECTION = ("video", "Video: expressions over time")


def build_report(
    run_dirs: Sequence[str | os.PathLike],
    *,
    explain_dirs: Sequence[str | os.PathLike] = (),
    features: str | os.PathLike | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    title: str | None = None,
) -> str:
    """The report's HTML (see :func:`write_report`)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise GeofaceError("give at least one run directory to report on")
    for p in explain_dirs:
        if not (Path(p) / "explain.json").is_file():
            raise GeofaceError(
                f"{p} is not a 'geoface explain' output folder (no explain.json); give the "
                "folder written by 'geoface explain RUN_DIR --out DIR'"
            )
    runs = [load_run_predictions(p, n) for p, n in zip(paths, run_names(paths), strict=True)]
    explains = find_explain_dirs(paths, explain_dirs)
    features = Path(features) if features is not None else None
    bodies = {
        "data": data_section(runs, features),
        "metrics": metrics_section(runs),
        "comparison": comparison_section(runs, n_boot, seed),
        "confusion": confusion_section(runs),
        "overfitting": overfitting_section(runs),
        "explanations": explanation_section(explains),
        "metadata": metadata_section(runs, explains),
    }
    source = table_source(runs, features)
    frames = read_frame_columns(source) if source is not None else None
    order = dict(SECTIONS)
    if frames is not None:
        bodies["video"] = video_section(runs, frames)
        order = {}
        for sid, head in SECTIONS.items():
            order[sid] = head
            if sid == "confusion":
                order[VIDEO_SECTION[0]] = VIDEO_SECTION[1]
    from .. import __version__

    target = runs[0].target
    title = title or f"geoface report: {', '.join(r.name for r in runs)}"
    subtitle = (
        f"{len(runs)} run{'s' if len(runs) > 1 else ''} predicting {target!r}; made "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by geoface {__version__}."
    )
    sections = [(sid, head, section(sid, head, bodies[sid])) for sid, head in order.items()]
    return page(title, subtitle, sections)


def write_report(
    run_dirs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    explain_dirs: Sequence[str | os.PathLike] = (),
    features: str | os.PathLike | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    title: str | None = None,
) -> Path:
    """Write one self-contained HTML page about run directories.

    Sections (each ``<section id=…>`` with an ``<h2>``, see :data:`SECTIONS`):
    the data and its quality control (from the feature table the runs name
    in ``run.json``, or ``features``; a note when it cannot be found), each
    run's scores with 95 % intervals and chance levels, the comparison of
    the runs (when there are two or more: :func:`geoface.compare.compare_runs`),
    confusion matrices, when the table is a frame table (videos) each
    video's frame statuses and out-of-fold time course (:data:`VIDEO_SECTION`),
    the overfitting report, SHAP region maps from
    ``geoface explain`` folders, and each run's command, versions and seeds.
    Figures are inline PNG ``data:`` URIs and the style is inline: the page
    needs nothing else and loads nothing from the network.

    Parameters
    ----------
    run_dirs : sequence of path-like
        Run directories (``geoface fit``, ``geoface baseline train``).
    out : path-like
        The HTML file to write (atomically).
    explain_dirs : sequence of path-like, optional
        ``geoface explain`` output folders; by default those found beside the
        runs (``explain/NAME`` next to ``runs/NAME``, or ``RUN/explain``).
    features : path-like, optional
        The feature table, when the one recorded in ``run.json`` has moved.
    n_boot : int, default=2000
        Bootstrap replicates of the comparison.
    seed : int, default=0
    title : str, optional

    Returns
    -------
    Path
    """
    html = build_report(
        run_dirs,
        explain_dirs=explain_dirs,
        features=features,
        n_boot=n_boot,
        seed=seed,
        title=title,
    )
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out
