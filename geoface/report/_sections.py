"""The report's sections, each a function of the loaded runs returning HTML."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..compare import SCORES, fmt_ci, fmt_p, fmt_value
from ..features import USABLE_STATUSES
from ..runs import RunDirectory, recorded_table
from ._find import find_feature_table
from ._html import e, figure_html, note, png_bytes, shrink_png, table_html

__all__ = [
    "MAX_TIME_COURSES",
    "comparison_section",
    "confusion_section",
    "data_section",
    "explanation_section",
    "label_spans",
    "metadata_section",
    "metrics_section",
    "overfitting_section",
    "read_frame_columns",
    "table_source",
    "video_section",
]


# ---------------------------------------------------------------- data and QC
def _read_table(path: Path) -> tuple[pd.DataFrame, dict]:
    """The table's frame and sidecar info; plain CSV/Parquet when it has no sidecar."""
    from ..features import FeatureTable

    try:
        table = FeatureTable.read(path)
        return table.frame, table.info
    except (GeofaceError, KeyError, ValueError):
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        return frame, {}


def table_source(runs: list[RunDirectory], features: Path | None) -> Path | None:
    """The feature table of the runs: ``features`` when given, else the one ``run.json`` names."""
    if features is not None:
        return Path(features) if Path(features).is_file() else None
    for run in runs:
        found, _ = find_feature_table(run.path, run.info)
        if found is not None:
            return found
    return None


def data_section(runs: list[RunDirectory], features: Path | None) -> list[str]:
    """Faces, subjects, classes, QC statuses and the rows each run left out."""
    first = runs[0]
    body: list[str] = []
    frame, info, source = None, {}, None
    if features is not None:
        if not Path(features).is_file():
            body.append(note(f"The feature table {features} given with --features does not exist."))
        else:
            source = Path(features)
    else:
        tried_all: list[Path] = []
        for run in runs:
            found, tried = find_feature_table(run.path, run.info)
            tried_all += tried
            if found is not None:
                source = found
                break
        if source is None:
            recorded = [recorded_table(r.info) for r in runs]
            where = ", ".join(sorted({str(t) for t in tried_all})) or "nothing recorded in run.json"
            body.append(
                note(
                    "The feature table was not found (run.json names "
                    f"{', '.join(sorted({str(r) for r in recorded if r})) or 'none'}; looked at "
                    f"{where}). The summary below comes from the runs' out-of-fold predictions; "
                    "give the table with --features for its QC statuses."
                )
            )
    if source is not None:
        try:
            frame, info = _read_table(source)
        except (OSError, ValueError) as exc:
            body.append(note(f"The feature table {source} could not be read: {exc}."))
    target, group = first.target, first.group
    if frame is not None and target in frame.columns:
        body.append(f"<p>Feature table: <code>{e(source)}</code>.</p>")
        facts = [("faces (rows)", len(frame))]
        if group in frame.columns:
            facts.append((f"{group}s", frame[group].nunique()))
        facts.append(("classes", frame[target].nunique()))
        for key, label in (("landmarker", "landmarker"), ("mesh_hash", "mesh")):
            if info.get(key):
                facts.append(
                    (label, info[key] if isinstance(info[key], str) else json.dumps(info[key]))
                )
        if info.get("feature_names"):
            facts.append(("features", len(info["feature_names"])))
        body.append(table_html(pd.DataFrame(facts, columns=["", "value"]).astype(str)))
        per_class = frame.groupby(target, dropna=False).agg(
            faces=(target, "size"),
            **({f"{group}s": (group, "nunique")} if group in frame.columns else {}),
        )
        if "qc_status" in frame.columns:
            per_class["with features"] = (
                frame[frame["qc_status"].astype(str).isin(USABLE_STATUSES)]
                .groupby(target)
                .size()
                .reindex(per_class.index)
                .fillna(0)
                .astype(int)
            )
        body.append(table_html(per_class.reset_index().astype(str), caption="Faces per class"))
        if "qc_status" in frame.columns:
            qc = frame["qc_status"].astype(str).value_counts().rename_axis("qc_status")
            body.append(table_html(qc.reset_index(name="faces").astype(str), caption="QC statuses"))
    else:
        if frame is not None:
            body.append(
                note(f"The table {source} has no column {target!r}; summary from the runs.")
            )
        oof = first.oof
        facts = [
            ("rows of the run's input", len(oof)),
            (f"{group}s", oof[group].nunique()),
            ("classes", len(first.classes)),
        ]
        body.append(table_html(pd.DataFrame(facts, columns=["", "value"]).astype(str)))
        counts = oof["y_true"].value_counts().rename_axis("class")
        body.append(
            table_html(
                counts.reset_index(name="faces").astype(str),
                caption="Faces per class (with a prediction)",
            )
        )
    rows = []
    for run in runs:
        excluded = run.metrics.get("excluded") or {}
        rows.append(
            {
                "run": run.name,
                "faces used": str(run.metrics.get("n_used", int(run.usable.sum()))),
                "left out": str(sum(excluded.values())),
                "why": ", ".join(f"{k} {v}" for k, v in excluded.items()) or "none",
            }
        )
    body.append(
        table_html(pd.DataFrame(rows), caption="Rows each run used and left out (with the reason)")
    )
    return body


# ---------------------------------------------------------------- metrics
def _ci_cell(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    ci = (metrics.get("ci95") or {}).get(name) or {}
    return fmt_ci(value, ci.get("low"), ci.get("high"))


def metrics_frame(runs: list[RunDirectory]) -> pd.DataFrame:
    """Each run's own scores and intervals from its ``metrics.json`` (numbers)."""
    rows = []
    for run in runs:
        m = run.metrics
        row = {"run": run.name}
        for name in SCORES:
            ci = (m.get("ci95") or {}).get(name) or {}
            row[name] = np.nan if m.get(name) is None else m[name]
            row[f"{name}_low"] = ci.get("low", np.nan)
            row[f"{name}_high"] = ci.get("high", np.nan)
        rows.append(row)
    return pd.DataFrame(rows).astype(
        {f"{n}{s}": float for n in SCORES for s in ("", "_low", "_high")}
    )


def metrics_section(runs: list[RunDirectory]) -> list[str]:
    """Each run's scores on its own faces, with 95 % intervals and chance levels."""
    from ..compare import plot_metric_intervals

    rows, chance_rows = [], []
    for run in runs:
        m = run.metrics
        n_boot = (m.get("ci95") or {}).get("n_boot")
        row = {
            "run": run.name,
            "model": run.model,
            "faces": str(m.get("n_used", "")),
            f"{run.group}s": str(m.get("n_groups", "")),
            "folds": str(m.get("n_folds", "")),
        }
        for name, title in SCORES.items():
            row[title] = _ci_cell(m, name)
        perm = m.get("permutation_test")
        row["permutation p"] = fmt_p(perm["p_value"]) if perm else "n/a"
        row["bootstrap"] = str(n_boot) if n_boot else "n/a"
        rows.append(row)
        ch = m.get("chance") or {}
        chance_rows.append(
            {
                "run": run.name,
                "accuracy (majority class)": fmt_value(ch.get("majority", {}).get("accuracy")),
                "balanced accuracy (uniform)": fmt_value(
                    ch.get("uniform", {}).get("balanced_accuracy")
                ),
                "macro-F1 (uniform)": fmt_value(ch.get("uniform", {}).get("macro_f1")),
                "log loss (class prior)": fmt_value(ch.get("prior", {}).get("log_loss")),
                "log loss (uniform)": fmt_value(ch.get("uniform", {}).get("log_loss")),
            }
        )
    body = [
        "<p>Each run on the faces it scored itself (its <code>metrics.json</code>). Intervals: "
        "95 % percentile bootstrap over subjects — whole subjects are resampled, since faces of "
        "one subject are not independent.</p>",
        table_html(pd.DataFrame(rows), caption="Scores with 95 % confidence intervals"),
        table_html(
            pd.DataFrame(chance_rows),
            caption="Chance levels: what a model that ignores the faces would score",
        ),
    ]
    frame = metrics_frame(runs)
    if frame[["accuracy", "balanced_accuracy", "macro_f1"]].notna().all().all():
        first = runs[0].metrics.get("chance") or {}
        chance = {
            "accuracy": first.get("majority", {}).get("accuracy"),
            "balanced_accuracy": first.get("uniform", {}).get("balanced_accuracy"),
            "macro_f1": first.get("uniform", {}).get("macro_f1"),
        }
        chance = {k: v for k, v in chance.items() if v is not None}
        body.append(
            figure_html(
                png_bytes(plot_metric_intervals(frame, chance=chance)),
                "scores with intervals",
                "Scores with 95 % intervals; dashed: chance (majority class for accuracy, "
                f"uniform guessing otherwise) of {runs[0].name}.",
            )
        )
    return body


# ---------------------------------------------------------------- comparison
def comparison_section(runs: list[RunDirectory], n_boot: int, seed: int) -> list[str]:
    """The ``compare`` tables and figures, when there are two runs or more."""
    from ..compare import compare_runs

    if len(runs) < 2:
        return [note("One run only: nothing to compare. Give two runs or more to compare them.")]
    try:
        cmp = compare_runs([r.path for r in runs], n_boot=n_boot, seed=seed)
    except GeofaceError as exc:
        return [note(f"These runs cannot be compared: {exc}")]
    tables = cmp.tables()
    body = [
        f"<p>{e(cmp.summary_line())}. Scores are recomputed on these faces; intervals: 95 % "
        f"bootstrap over {e(cmp.group)}s ({cmp.n_boot} replicates, the same draws for every run). "
        "McNemar: exact two-sided binomial test on the faces exactly one run of the pair gets "
        "right. Δ: run A minus run B, with a paired bootstrap interval (both runs scored on the "
        "same resampled subjects). κ: Cohen's kappa between the two runs' predicted labels.</p>",
        table_html(tables["metrics"], caption="Scores on the faces every run predicted"),
        table_html(tables["pairs"], caption="Pairs of runs"),
        table_html(tables["per_class_f1"], caption="F1 of each class"),
    ]
    figs = cmp.figures()
    for name, caption in (
        ("differences", "Paired differences (A − B) with 95 % intervals; dashed: no difference."),
        ("per_class_f1", "F1 of each class with 95 % intervals over subjects."),
    ):
        body.append(figure_html(png_bytes(figs.pop(name)), name.replace("_", " "), caption))
    for fig in figs.values():
        png_bytes(fig)  # closes it
    return body


# ---------------------------------------------------------------- confusion
def confusion_section(runs: list[RunDirectory]) -> list[str]:
    """Each run's confusion matrix (on its own faces), side by side."""
    from ..compare import plot_confusion_grid

    counts, titles = {}, {}
    for run in runs:
        cm = run.metrics.get("confusion_matrix") or {}
        if cm.get("counts") is not None:
            counts[run.name] = np.asarray(cm["counts"])
            titles[run.name] = (
                f"{run.name}: balanced accuracy {fmt_value(run.metrics.get('balanced_accuracy'))}"
            )
    if not counts:
        return [note("No run records a confusion matrix.")]
    labels = runs[0].metrics["confusion_matrix"]["labels"]
    fig = plot_confusion_grid(counts, labels, titles=titles)
    return [
        "<p>Rows: true class; columns: predicted. Cells show the share of the true class and "
        "(in brackets) the count.</p>",
        figure_html(png_bytes(fig), "confusion matrices", "Confusion matrices, out of fold."),
    ]


# ---------------------------------------------------------------- overfitting
def overfitting_section(runs: list[RunDirectory]) -> list[str]:
    """Training vs held-out scores per fold, and their gap."""
    import matplotlib.pyplot as plt

    from ..plotting import plot_overfitting

    body = [
        "<p>Each fold's model scored on the faces it was trained on and on its held-out fold. A "
        "large gap is overfitting: the model learnt its training faces rather than the "
        "expressions.</p>"
    ]
    drawn = [r for r in runs if (r.metrics.get("overfitting") or {}).get("folds")]
    for run in runs:
        folds = (run.metrics.get("overfitting") or {}).get("folds")
        if not folds:
            body.append(note(f"{run.name}: no overfitting report in metrics.json."))
            continue
        rows = []
        for f in folds:
            rows.append(
                {
                    "fold": str(f.get("fold")),
                    "training faces": str(f.get("n_train", "")),
                    "held-out faces": str(f.get("n_test", "")),
                    **{
                        f"{part} {title}": fmt_value(f.get(f"{key}_{name}"))
                        for name, title in (("balanced_accuracy", "BA"), ("accuracy", "acc."))
                        for key, part in (
                            ("train", "training"),
                            ("test", "held-out"),
                            ("gap", "gap"),
                        )
                    },
                }
            )
        mean = (run.metrics.get("overfitting") or {}).get("mean") or {}
        rows.append(
            {
                "fold": "mean",
                "training faces": "",
                "held-out faces": "",
                **{
                    f"{part} {title}": fmt_value(mean.get(f"{key}_{name}"))
                    for name, title in (("balanced_accuracy", "BA"), ("accuracy", "acc."))
                    for key, part in (("train", "training"), ("test", "held-out"), ("gap", "gap"))
                },
            }
        )
        body.append(f"<h3>{e(run.name)}</h3>")
        body.append(
            table_html(
                pd.DataFrame(rows),
                caption=f"{run.name}: training vs held-out per fold (BA: balanced accuracy)",
            )
        )
    if drawn:
        fig, axes = plt.subplots(
            1, len(drawn), figsize=(4.2 * len(drawn), 3.4), layout="constrained", squeeze=False
        )
        for ax, run in zip(axes[0], drawn, strict=True):
            chance = (run.metrics.get("chance") or {}).get("uniform", {}).get("balanced_accuracy")
            plot_overfitting(run.metrics["overfitting"]["folds"], ax=ax, chance=chance)
            ax.set_title(run.name, fontsize=9)
        body.append(
            figure_html(
                png_bytes(fig),
                "overfitting",
                "Balanced accuracy per fold: training faces vs the held-out fold; dashed: chance.",
            )
        )
    return body


# ---------------------------------------------------------------- explanations
_EXPLAIN_FIGURES = (
    ("region_maps", "Mean |SHAP| per triangle and edge, each class, on the template face."),
    ("region_maps_signed", "Signed SHAP over each class's own faces (red: for the class)."),
    ("region_importance_total", "Region totals of mean |SHAP| per class, with 95 % intervals."),
)


def explanation_section(explain_dirs: list[Path]) -> list[str]:
    """SHAP region maps and top regions from ``geoface explain`` folders."""
    if not explain_dirs:
        return [
            note(
                "No explanation found. Run 'geoface explain RUN_DIR --out DIR' and give the "
                "folder with --explain DIR (or keep it as explain/NAME beside runs/NAME)."
            )
        ]
    body = [
        "<p>SHAP values summed from features to the mesh's triangles and edges and on to facial "
        "regions (exactly additive). Each face is explained by the model that did not train on "
        "it unless the explanation says otherwise.</p>"
    ]
    for folder in explain_dirs:
        folder = Path(folder)
        try:
            info = json.loads((folder / "explain.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            body.append(
                note(f"{folder} is not a 'geoface explain' folder (no readable explain.json).")
            )
            continue
        body.append(f"<h3>{e(folder.name)}: {e(info.get('model', ''))}</h3>")
        body.append(
            f'<p class="meta">Run <code>{e(info.get("run", ""))}</code>; '
            f"{e(info.get('explainer', ''))} explainer, {e(info.get('space', ''))} space, "
            f"{e(info.get('mode', ''))}; {e(info.get('n_faces', ''))} faces explained"
            + (
                f", skipped: {e(', '.join(f'{k} {v}' for k, v in info['skipped'].items()))}"
                if info.get("skipped")
                else ""
            )
            + ".</p>"
        )
        over = (info.get("summaries") or {}).get("over", "all")
        regions_csv = folder / "regions.csv"
        if regions_csv.exists():
            reg = pd.read_csv(regions_csv)
            reg = reg[reg["over"] == over] if "over" in reg.columns else reg
            top = []
            for cls, part in reg.sort_values("rank").groupby("class", sort=False):
                row = {"class": str(cls)}
                for i, r in enumerate(part.head(3).itertuples(index=False), start=1):
                    row[f"region {i}"] = f"{r.region} ({r.share:.0%})"
                top.append(row)
            order = {c: i for i, c in enumerate(info.get("classes", []))}
            top.sort(key=lambda r: order.get(r["class"], len(order)))
            body.append(
                table_html(
                    pd.DataFrame(top),
                    caption="Top regions per class by total mean |SHAP| "
                    "(share of the class's total)",
                )
            )
        shown = 0
        for name, caption in _EXPLAIN_FIGURES:
            png = folder / "figures" / f"{name}.png"
            if png.exists():
                body.append(
                    figure_html(shrink_png(png.read_bytes()), name.replace("_", " "), caption)
                )
                shown += 1
        if not shown:
            body.append(
                note(
                    f"{folder} has no region-map figures "
                    "(run 'geoface explain' with --figures maps)."
                )
            )
    return body


# ---------------------------------------------------------------- metadata
def _versions(doc: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in (doc.get("versions") or {}).items())


def metadata_section(runs: list[RunDirectory], explain_dirs: list[Path]) -> list[str]:
    """How each run was made: command, versions, seeds, folds, timings."""
    body = []
    for run in runs:
        info = run.info
        if not info:
            body.append(note(f"{run.name}: no run.json."))
            continue
        command = info.get("command")
        splits = info.get("splits") or {}
        table = info.get("table") if isinstance(info.get("table"), dict) else {}
        facts = [
            ("directory", str(run.path)),
            ("created", info.get("created", "")),
            ("command", shlex.join(map(str, command)) if isinstance(command, list) else command),
            ("model", info.get("model", run.model)),
            (
                "target / group",
                f"{info.get('target', run.target)} / {info.get('group', run.group)}",
            ),
            ("seed", info.get("seed", "")),
            ("input", recorded_table(info) or ""),
            ("mesh", table.get("mesh_hash", "")),
            (
                "splits",
                ", ".join(
                    f"{k} {v}"
                    for k, v in splits.items()
                    if k in ("method", "folds", "n_folds", "seed", "group", "n_used")
                ),
            ),
            (
                "bootstrap replicates",
                info.get("n_boot", (run.metrics.get("ci95") or {}).get("n_boot", "")),
            ),
            ("tuned", info.get("tune", "")),
            ("permutations", info.get("permutations", "")),
            ("versions", _versions(info)),
            ("host", ", ".join(f"{k} {v}" for k, v in (info.get("host") or {}).items())),
            ("time (s)", (info.get("timings_seconds") or {}).get("total", "")),
        ]
        facts = [(k, str(v)) for k, v in facts if v not in ("", None)]
        body.append(f"<h3>{e(run.name)}</h3>")
        body.append(table_html(pd.DataFrame(facts, columns=["", "value"])))
    for folder in explain_dirs:
        try:
            info = json.loads((Path(folder) / "explain.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        facts = [
            ("folder", str(folder)),
            ("run", info.get("run", "")),
            ("explainer / space", f"{info.get('explainer', '')} / {info.get('space', '')}"),
            ("options", ", ".join(f"{k} {v}" for k, v in (info.get("options") or {}).items())),
            ("versions", _versions(info)),
            ("time (s)", (info.get("timings_seconds") or {}).get("total", "")),
        ]
        body.append(f"<h3>explanation {e(Path(folder).name)}</h3>")
        body.append(
            table_html(pd.DataFrame([(k, str(v)) for k, v in facts], columns=["", "value"]))
        )
    return body


# ---------------------------------------------------------------- video
#: Columns of a frame table the video section reads (the features are not read).
_FRAME_COLUMNS = ("id", "video", "time_s", "track_id", "qc_status", "label", "label_status")

#: At most this many time-course figures per report (the rest are listed in a note).
MAX_TIME_COURSES = 24


def read_frame_columns(path: str | os.PathLike) -> pd.DataFrame | None:
    """The frame columns of a feature table (no features), or None when it is not a frame table.

    A frame table (``geoface extract`` on videos) has ``video`` and ``time_s``
    columns with at least one video row; photographs in the same table have
    empty ``video`` and are left out.

    Parameters
    ----------
    path : path-like
        A feature table (``.parquet`` or ``.csv``).

    Returns
    -------
    DataFrame or None
        The rows of videos with those of ``id, video, time_s, track_id,
        qc_status, label, label_status`` the table has; None for a table
        without video rows, or one that cannot be read.
    """
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
            cols = [c for c in _FRAME_COLUMNS if c in names]
            frame = pd.read_parquet(path, columns=cols) if {"video", "time_s"} <= names else None
        else:
            frame = pd.read_csv(
                path, usecols=lambda c: c in _FRAME_COLUMNS, dtype={"id": str}, low_memory=False
            )
    except (OSError, ValueError):
        return None
    if frame is None or not {"id", "video", "time_s"} <= set(frame.columns):
        return None
    frame = frame[frame["video"].notna() & (frame["video"].astype(str) != "")]
    return frame.reset_index(drop=True) if len(frame) else None


def label_spans(frames: pd.DataFrame, column: str = "label") -> pd.DataFrame:
    """Runs of one label in time (per video and track), as events to draw beneath a time course.

    ``frames`` holds ``video, time_s, <column>``; tracks are ignored (a
    coding file codes the video, so frames the tracker lost keep their
    label). A run ends at a change of label, a frame without one, or a step
    longer than two frame periods; it lasts from its first frame to one frame period
    after its last (the rule of :func:`geoface.coding.segments_from_proba`).

    Parameters
    ----------
    frames : DataFrame
    column : str, default="label"

    Returns
    -------
    DataFrame
        ``video, track_id, onset_s, offset_s, label, status`` (``track_id``
        missing, status ``ok``).
    """
    from ..coding import segments_from_proba

    labels = frames[column].astype("string").str.strip()
    known = labels.notna() & (labels != "")
    classes = sorted(labels[known].unique())
    onehot = pd.DataFrame(
        {f"proba_{c}": np.where(known, (labels == c).fillna(False), np.nan) for c in classes},
        index=frames.index,
    )
    # the coding is of the video, not of a track: frames the tracker lost keep their label
    spans = segments_from_proba(pd.concat([frames[["video", "time_s"]], onehot], axis=1))
    spans = spans[["video", "track_id", "onset_s", "offset_s", "label"]].copy()
    spans["track_id"] = np.nan  # drawn beneath every track of its video
    spans["status"] = "ok"
    return spans


def video_section(runs: list[RunDirectory], frames: pd.DataFrame) -> list[str]:
    """Per video of a frame table: frame statuses and each run's time course.

    Parameters
    ----------
    runs : list of RunDirectory
    frames : DataFrame
        From :func:`read_frame_columns`.

    Returns
    -------
    list of str
        HTML blocks: the status tables, then one figure per run and video (at
        most :data:`MAX_TIME_COURSES`, the rest named in a note).
    """
    from ..coding import segments_from_proba
    from ..plotting import plot_time_course

    videos = sorted(frames["video"].astype(str).unique())
    tracks = (
        pd.to_numeric(frames.get("track_id"), errors="coerce") if "track_id" in frames else None
    )
    body = [
        f"<p>The runs were fitted on a frame table: {len(frames)} frames of {len(videos)} "
        f"video{'s' if len(videos) != 1 else ''}. Per video, the out-of-fold class probabilities "
        "over time (each frame predicted by the fold model that did not train on it; frames "
        "without a prediction — failed QC, left out — shaded grey), beneath them the frames' "
        "labels as coded and the model's segments (runs of the most probable class, "
        "unsmoothed; <code>geoface predict --segments</code> smooths on request). With several "
        "tracks in a video, the track with most frames is drawn.</p>"
    ]
    for col, what in (("qc_status", "QC"), ("label_status", "label")):
        if col in frames.columns:
            tab = pd.crosstab(frames["video"].astype(str), frames[col].astype(str))
            body.append(
                table_html(
                    tab.reset_index().astype(str),
                    caption=f"Frames per video and {what} status ({col})",
                )
            )
    shown = 0
    skipped: list[str] = []
    for run in runs:
        proba_cols = [f"proba_{c}" for c in run.classes if f"proba_{c}" in run.oof.columns]
        if not proba_cols:
            body.append(note(f"{run.name}: no class probabilities in its predictions to draw."))
            continue
        oof = run.oof[["id", *proba_cols]].drop_duplicates("id")
        pred = frames.assign(id=frames["id"].astype(str)).merge(oof, on="id", how="left")
        if pred[proba_cols].notna().any(axis=1).sum() == 0:
            body.append(note(f"{run.name}: none of its predictions are frames of this table."))
            continue
        segments = segments_from_proba(pred)
        coded = label_spans(pred) if "label" in pred.columns else None
        for video in videos:
            if shown >= MAX_TIME_COURSES:
                skipped.append(f"{run.name}: {video}")
                continue
            fig = plot_time_course(
                pred, events=coded, segments=segments, video=video, title=f"{run.name} · {video}"
            )
            n_tracks = (
                tracks[frames["video"].astype(str) == video].nunique() if tracks is not None else 0
            )
            caption = f"{run.name}, video {video}: class probabilities out of fold" + (
                f" (the longest of its {n_tracks} tracks)" if n_tracks > 1 else ""
            )
            body.append(figure_html(png_bytes(fig, dpi=90), f"time course of {video}", caption))
            shown += 1
    if skipped:
        body.append(
            note(
                f"{len(skipped)} more time course(s) not drawn (at most {MAX_TIME_COURSES}): "
                + ", ".join(skipped[:10])
                + (" …" if len(skipped) > 10 else "")
                + ". 'geoface predict RUN FRAMES --figures DIR' draws every video."
            )
        )
    return body
