"""``compare_runs``: several run directories on the same faces and folds, side by side."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..metrics import chance_levels, classification_metrics, subject_bootstrap
from ..runs import RunDirectory, run_names
from ._load import align_predictions, load_run_predictions
from ._stats import cohen_kappa, correctness_counts, mcnemar_exact, paired_bootstrap
from ._tables import fmt_ci, fmt_p, fmt_value, latex_table, markdown_table

__all__ = ["SCORES", "Comparison", "compare_runs"]

#: The scores compared, in table order, with their display names.
SCORES = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro-F1",
    "log_loss": "log loss",
}

_TITLES = {"metrics": "Scores", "pairs": "Pairs of runs", "per_class_f1": "Per-class F1"}


@dataclass
class Comparison:
    """Runs compared on the faces every one of them predicted.

    Attributes
    ----------
    runs : list of str
        Short run names (directory names, made unique), in the order given.
    paths : list of Path
    models : dict of str to str
        Run name → model.
    target, group : str
    classes : list of str
    metrics : DataFrame
        One row per run: ``run, model, n, accuracy, accuracy_low,
        accuracy_high, balanced_accuracy…, macro_f1…, log_loss…``, then
        ``n_subjects`` and ``n_run`` (the faces the run itself scored; its
        ``metrics.json`` agrees with this table where ``n == n_run``).
        Intervals: percentile bootstrap over subjects, the same replicates
        for every run.
    pairs : DataFrame
        One row per pair of runs (A before B in the order given): ``run_a,
        run_b, n, both_correct, a_only, b_only, neither, mcnemar_p, kappa``
        and ``diff_<score>``, ``diff_<score>_low``, ``diff_<score>_high`` for
        accuracy, balanced accuracy, macro-F1 and log loss (A minus B; paired
        bootstrap over subjects).
    per_class_f1 : DataFrame
        Classes × runs.
    confusion : dict of str to DataFrame
        Run name → counts (rows: true class, columns: predicted).
    rows : DataFrame
        Every id of the runs: ``id, <group>, fold, y_true, included`` and each
        run's ``status_<run>`` and ``y_pred_<run>``; ``included`` marks the
        faces compared (predicted by every run).
    excluded : DataFrame
        ``run, status, n``: faces without a prediction in a run, by status.
    chance : dict
        :func:`geoface.metrics.chance_levels` of the compared faces.
    n_boot, seed : int
    """

    runs: list[str]
    paths: list[Path]
    models: dict[str, str]
    target: str
    group: str
    classes: list[str]
    metrics: pd.DataFrame
    pairs: pd.DataFrame
    per_class_f1: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    rows: pd.DataFrame
    excluded: pd.DataFrame
    chance: dict
    n_boot: int
    seed: int
    f1_intervals: dict[str, list[dict]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ counts
    @property
    def n_compared(self) -> int:
        """Faces predicted by every run (the ones compared)."""
        return int(self.rows["included"].sum())

    @property
    def n_excluded(self) -> int:
        """Faces left out because at least one run has no prediction for them."""
        return len(self.rows) - self.n_compared

    @property
    def n_subjects(self) -> int:
        return int(self.rows.loc[self.rows["included"], self.group].nunique())

    def summary_line(self) -> str:
        """One line: how many runs, faces and subjects, and what was left out."""
        line = (
            f"{len(self.runs)} runs compared on {self.n_compared} of {len(self.rows)} faces "
            f"({self.n_subjects} {self.group}s) that every run predicted"
        )
        if self.n_excluded:
            reasons: dict[str, list[str]] = {}
            for r in self.excluded.itertuples(index=False):
                reasons.setdefault(r.run, []).append(f"{r.status} {r.n}")
            detail = "; ".join(f"{run}: {', '.join(t)}" for run, t in reasons.items())
            line += f"; {self.n_excluded} left out ({detail})"
        return line

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        """The display tables (formatted text cells): metrics, pairs, per-class F1, confusions."""
        out = {"metrics": self._metrics_display()}
        if len(self.pairs):
            out["pairs"] = self._pairs_display()
        f1 = self.per_class_f1.map(fmt_value).reset_index()
        out["per_class_f1"] = f1
        for run, cm in self.confusion.items():
            shown = cm.astype(str).reset_index()
            shown.columns = ["true \\ predicted", *cm.columns]
            out[f"confusion {run}"] = shown
        return out

    def _metrics_display(self) -> pd.DataFrame:
        m = self.metrics
        shown = pd.DataFrame({"run": m["run"], "model": m["model"], "n": m["n"].astype(str)})
        for name, title in SCORES.items():
            shown[title] = [
                fmt_ci(v, lo, hi)
                for v, lo, hi in zip(m[name], m[f"{name}_low"], m[f"{name}_high"], strict=True)
            ]
        return shown

    def _pairs_display(self) -> pd.DataFrame:
        p = self.pairs
        shown = pd.DataFrame(
            {
                "A": p["run_a"],
                "B": p["run_b"],
                "n": p["n"].astype(str),
                "both right": p["both_correct"].astype(str),
                "A only": p["a_only"].astype(str),
                "B only": p["b_only"].astype(str),
                "neither": p["neither"].astype(str),
                "McNemar p": p["mcnemar_p"].map(fmt_p),
                "κ": p["kappa"].map(fmt_value),
            }
        )
        for name, title in SCORES.items():
            shown[f"Δ {title}"] = [
                fmt_ci(v, lo, hi, signed=True)
                for v, lo, hi in zip(
                    p[f"diff_{name}"], p[f"diff_{name}_low"], p[f"diff_{name}_high"], strict=True
                )
            ]
        return shown

    def _captions(self) -> dict[str, str]:
        ci = f"95 % CI: bootstrap over {self.group}s, {self.n_boot} replicates"
        return {
            "metrics": f"Scores of each run on the {self.n_compared} faces every run predicted "
            f"({ci}).",
            "pairs": "Pairs of runs: per-face correctness (exact McNemar test), agreement of "
            f"predicted labels (Cohen's κ) and differences A − B ({ci}, paired).",
            "per_class_f1": "F1 of each class.",
            **{
                f"confusion {r}": f"Confusion matrix of {r} (rows: true, columns: predicted)."
                for r in self.runs
            },
        }

    def to_markdown(self) -> str:
        """Every table as Markdown, with a heading and a line on the faces compared."""
        captions = self._captions()
        parts = [f"# Comparison of {', '.join(self.runs)}", "", self.summary_line() + ".", ""]
        for name, table in self.tables().items():
            title = _TITLES.get(name, name.replace("confusion ", "Confusion matrix: "))
            parts += [f"## {title}", "", captions[name], "", markdown_table(table), ""]
        return "\n".join(parts)

    def to_latex(self) -> str:
        """Every table as a LaTeX ``table`` float (booktabs; ``\\usepackage{booktabs}``)."""
        captions = self._captions()
        parts = [f"% {self.summary_line()}", ""]
        for name, table in self.tables().items():
            label = "tab:compare-" + name.replace(" ", "-")
            parts += [latex_table(table, caption=captions[name], label=label), ""]
        return "\n".join(parts)

    def to_dict(self) -> dict:
        """Settings and counts, for ``comparison.json``."""
        return {
            "runs": [
                {"name": n, "path": str(p), "model": self.models[n]}
                for n, p in zip(self.runs, self.paths, strict=True)
            ],
            "target": self.target,
            "group": self.group,
            "classes": self.classes,
            "n_ids": len(self.rows),
            "n_compared": self.n_compared,
            "n_subjects": self.n_subjects,
            "n_excluded": self.n_excluded,
            "excluded": self.excluded.to_dict(orient="records"),
            "chance": self.chance,
            "bootstrap": {"over": self.group, "n_boot": self.n_boot, "seed": self.seed},
            "tests": {
                "mcnemar": "exact two-sided binomial test on the discordant faces",
                "differences": "run A minus run B, percentile interval of a paired bootstrap "
                f"over {self.group}s (both runs scored on the same draw)",
                "kappa": "Cohen's kappa between predicted labels",
            },
        }

    # ----------------------------------------------------------------- figures
    def figures(self) -> dict:
        """Figures by name: ``confusion_matrices``, ``per_class_f1``, ``metrics``
        and, with two runs or more, ``differences``. Close them when done."""
        from ._figures import (
            plot_confusion_grid,
            plot_differences,
            plot_metric_intervals,
            plot_per_class_f1_grouped,
        )

        titles = {
            r: f"{r}: balanced accuracy {b:.3f}"
            for r, b in zip(self.metrics["run"], self.metrics["balanced_accuracy"], strict=True)
        }
        chance = {
            "accuracy": self.chance["majority"]["accuracy"],
            "balanced_accuracy": self.chance["uniform"]["balanced_accuracy"],
            "macro_f1": self.chance["uniform"]["macro_f1"],
        }
        figs = {
            "confusion_matrices": plot_confusion_grid(
                {r: cm.to_numpy() for r, cm in self.confusion.items()}, self.classes, titles=titles
            ),
            "per_class_f1": plot_per_class_f1_grouped(
                self.per_class_f1, intervals=self.f1_intervals
            ),
            "metrics": plot_metric_intervals(self.metrics, chance=chance),
        }
        if len(self.pairs):
            figs["differences"] = plot_differences(self.pairs)
        return figs

    # ------------------------------------------------------------------- write
    def write(self, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the tables (CSV, Markdown, LaTeX), figures (PDF, PNG) and settings.

        ``metrics``, ``pairs`` and ``per_class_f1`` each as ``.csv``, ``.md``
        and ``.tex``; ``confusion.csv`` (long: run, true, predicted, count);
        ``comparison.md`` and ``comparison.tex`` (every table);
        ``rows.csv`` (every id: compared or not, and why); ``comparison.json``;
        ``figures/``. The folder is staged and moved into place.

        Returns
        -------
        Path
        """
        import matplotlib.pyplot as plt

        from ..plotting import save_figure
        from ..runs import staged_directory, write_json

        out = Path(out_dir)
        if out.exists() and not overwrite:
            raise GeofaceError(f"{out} exists; choose another --out or add --overwrite")
        shown = self.tables()
        captions = self._captions()
        with staged_directory(out, overwrite=overwrite) as tmp:
            self.metrics.to_csv(tmp / "metrics.csv", index=False, float_format="%.6g")
            if len(self.pairs):
                self.pairs.to_csv(tmp / "pairs.csv", index=False, float_format="%.6g")
            self.per_class_f1.to_csv(tmp / "per_class_f1.csv", float_format="%.6g")
            long = [
                {"run": r, "true": t, "predicted": p, "count": int(cm.loc[t, p])}
                for r, cm in self.confusion.items()
                for t in cm.index
                for p in cm.columns
            ]
            pd.DataFrame(long).to_csv(tmp / "confusion.csv", index=False)
            for name in ("metrics", "pairs", "per_class_f1"):
                if name not in shown:
                    continue
                (tmp / f"{name}.md").write_text(markdown_table(shown[name]) + "\n", "utf-8")
                tex = latex_table(shown[name], caption=captions[name], label=f"tab:{name}")
                (tmp / f"{name}.tex").write_text(tex + "\n", "utf-8")
            (tmp / "comparison.md").write_text(self.to_markdown(), "utf-8")
            (tmp / "comparison.tex").write_text(self.to_latex(), "utf-8")
            self.rows.to_csv(tmp / "rows.csv", index=False)
            write_json(tmp / "comparison.json", self.to_dict())
            (tmp / "figures").mkdir()
            for name, fig in self.figures().items():
                save_figure(fig, tmp / "figures" / name)
                plt.close(fig)
        return out


def _codes(values: pd.Series, classes: list[str], run: str, what: str) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    codes = values.map(lookup)
    if codes.isna().any():
        bad = values[codes.isna()].iloc[0]
        raise GeofaceError(
            f"{run}: {what} {bad!r} is not one of the run's classes {classes}; the run "
            "directory is inconsistent (re-run it)"
        )
    return codes.to_numpy(dtype=np.int64)


def compare_runs(
    run_dirs: Sequence[str | os.PathLike], *, n_boot: int = 2000, seed: int = 0
) -> Comparison:
    """Compare run directories made on the same faces, folds, target and classes.

    Faces without a prediction in some run are left out of every run (and
    counted in :attr:`Comparison.excluded`), so all scores are on the same
    faces.

    Parameters
    ----------
    run_dirs : sequence of path-like
        Run directories from ``geoface fit`` or ``geoface baseline train``.
    n_boot : int, default=2000
        Bootstrap replicates (over subjects) for every interval.
    seed : int, default=0
        Seeds the bootstrap; every run and pair uses the same draws.

    Returns
    -------
    Comparison

    Raises
    ------
    GeofaceError
        When the runs differ in ids, folds, true labels, subjects, target or
        classes (one line saying how), or no face was predicted by every run.
    """
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise GeofaceError("give at least one run directory to compare")
    if n_boot < 100:
        raise GeofaceError(f"n_boot={n_boot} is too few bootstrap replicates; use at least 100")
    runs: list[RunDirectory] = [
        load_run_predictions(p, n) for p, n in zip(paths, run_names(paths), strict=True)
    ]
    rows, excluded = align_predictions(runs)
    first = runs[0]
    classes = first.classes
    if not classes:
        raise GeofaceError(f"{first.path}/metrics.json lists no classes; re-run it")
    k = len(classes)
    use = rows["included"].to_numpy()
    if not use.any():
        raise GeofaceError(
            "no face has a prediction in every run; compare runs that share usable faces"
        )
    ids = rows.loc[use, "id"].to_numpy()
    y = _codes(rows.loc[use, "y_true"], classes, first.name, "true label")
    groups = rows.loc[use, first.group].fillna(rows.loc[use, "id"]).astype(str).to_numpy()

    preds, probas, metric_rows, f1, f1_ci, confusion = {}, {}, [], {}, {}, {}
    for run in runs:
        oof = run.oof.set_index("id").loc[ids]
        pred = _codes(oof["y_pred"], classes, run.name, "predicted label")
        proba = run.proba()
        if proba is not None:
            proba = pd.DataFrame(proba, index=run.oof["id"]).loc[ids].to_numpy()
            if not np.isfinite(proba).all():
                proba = None
        preds[run.name], probas[run.name] = pred, proba
        scores = classification_metrics(y, pred, proba, classes)
        ci = subject_bootstrap(y, pred, proba, groups, k, n_boot=n_boot, random_state=seed)
        row = {"run": run.name, "model": run.model, "n": len(y)}
        for name in SCORES:
            value = scores[name]
            have = value is not None and name in ci
            row[name] = np.nan if value is None else value
            row[f"{name}_low"] = ci[name]["low"] if have else np.nan
            row[f"{name}_high"] = ci[name]["high"] if have else np.nan
        row["n_subjects"] = int(ci["n_groups"])
        row["n_run"] = int(run.metrics.get("n_used", int(run.usable.sum())))
        metric_rows.append(row)
        f1[run.name] = [scores["per_class"][c]["f1"] for c in classes]
        f1_ci[run.name] = ci["f1_per_class"]
        confusion[run.name] = pd.DataFrame(
            scores["confusion_matrix"]["counts"],
            index=pd.Index(classes, name="true"),
            columns=pd.Index(classes, name="predicted"),
        )

    pair_rows = []
    for a, b in itertools.combinations(runs, 2):
        pa, pb = preds[a.name], preds[b.name]
        counts = correctness_counts(pa == y, pb == y)
        boot = paired_bootstrap(
            y,
            pa,
            pb,
            groups,
            k,
            proba_a=probas[a.name],
            proba_b=probas[b.name],
            n_boot=n_boot,
            random_state=seed,
        )
        row = {"run_a": a.name, "run_b": b.name, **counts}
        row["mcnemar_p"] = mcnemar_exact(counts["a_only"], counts["b_only"])
        row["kappa"] = cohen_kappa(pa, pb, labels=range(k))
        for name in SCORES:
            d = boot.get(name)
            row[f"diff_{name}"] = d["diff"] if d else np.nan
            row[f"diff_{name}_low"] = d["low"] if d else np.nan
            row[f"diff_{name}_high"] = d["high"] if d else np.nan
        pair_rows.append(row)
    pair_cols = ["run_a", "run_b", "n", "both_correct", "a_only", "b_only", "neither"]
    pair_cols += ["mcnemar_p", "kappa"]
    pair_cols += [f"diff_{n}{s}" for n in SCORES for s in ("", "_low", "_high")]

    return Comparison(
        runs=[r.name for r in runs],
        paths=paths,
        models={r.name: r.model for r in runs},
        target=first.target,
        group=first.group,
        classes=list(classes),
        metrics=pd.DataFrame(metric_rows),
        pairs=pd.DataFrame(pair_rows, columns=pair_cols),
        per_class_f1=pd.DataFrame(f1, index=pd.Index(classes, name="class")),
        confusion=confusion,
        rows=rows,
        excluded=excluded,
        chance=chance_levels(y, k),
        n_boot=n_boot,
        seed=seed,
        f1_intervals=f1_ci,
    )
