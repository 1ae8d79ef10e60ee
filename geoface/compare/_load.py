"""Read run directories for comparison and check that they can be compared.

Runs can be compared only when they were made on the same faces, with the
same folds, the same target and the same classes: then every difference in
their predictions is a difference between the models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from .._rundirs import refuse_regression

__all__ = ["RunPredictions", "align_runs", "load_run_predictions", "run_names"]


@dataclass
class RunPredictions:
    """The out-of-fold predictions of one run directory.

    Attributes
    ----------
    path : Path
        The run directory.
    name : str
        Short name (the directory's name, made unique among compared runs).
    model : str
        The model, from ``metrics.json``.
    target, group : str
        Predicted column and grouping column (usually ``subject``).
    classes : list of str
    oof : DataFrame
        ``oof_predictions.csv``: ``id, fold, <group>, status, y_true, y_pred,
        proba_<class>…``, one row per input row.
    metrics : dict
        ``metrics.json``.
    info : dict
        ``run.json`` (empty when absent).
    """

    path: Path
    name: str
    model: str
    target: str
    group: str
    classes: list[str]
    oof: pd.DataFrame
    metrics: dict
    info: dict

    @property
    def usable(self) -> np.ndarray:
        """Rows with a prediction: status ``ok``, a fold and a predicted label."""
        oof = self.oof
        return (
            (oof["status"].astype(str) == "ok") & oof["fold"].notna() & oof["y_pred"].notna()
        ).to_numpy()

    def proba(self) -> np.ndarray | None:
        """Class probabilities (n_rows, n_classes) in ``classes`` order, or None."""
        cols = [f"proba_{c}" for c in self.classes]
        if not all(c in self.oof.columns for c in cols):
            return None
        return self.oof[cols].to_numpy(dtype=float)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GeofaceError(f"cannot read {path}: {exc}") from None


def load_run_predictions(path: str | os.PathLike, name: str | None = None) -> RunPredictions:
    """Read a run directory's ``metrics.json``, ``run.json`` and ``oof_predictions.csv``.

    Parameters
    ----------
    path : path-like
        A run directory written by ``geoface fit`` or ``geoface baseline train``.
    name : str, optional
        Short name (default: the directory's name).

    Returns
    -------
    RunPredictions
    """
    path = Path(path)
    if not path.is_dir():
        raise GeofaceError(f"run directory {path} does not exist")
    for needed in ("metrics.json", "oof_predictions.csv"):
        if not (path / needed).exists():
            raise GeofaceError(
                f"{path} is not a geoface run directory (no {needed}); give directories "
                "written by 'geoface fit' or 'geoface baseline train'"
            )
    metrics = _read_json(path / "metrics.json")
    refuse_regression(path, metrics)
    info = _read_json(path / "run.json") if (path / "run.json").exists() else {}
    group = str(metrics.get("group") or info.get("group") or "subject")
    oof = pd.read_csv(
        path / "oof_predictions.csv",
        dtype={"id": str, "y_true": str, "y_pred": str, "status": str, group: str},
        keep_default_na=False,
        na_values={"fold": [""], "y_true": [""], "y_pred": [""], group: [""]},
    )
    missing = [c for c in ("id", "fold", "status", "y_true", "y_pred") if c not in oof.columns]
    if missing:
        raise GeofaceError(f"{path}/oof_predictions.csv lacks column(s) {missing}")
    if group not in oof.columns:
        raise GeofaceError(
            f"{path}/oof_predictions.csv lacks the group column {group!r} its metrics.json names"
        )
    if oof["id"].duplicated().any():
        dup = oof.loc[oof["id"].duplicated(), "id"].iloc[0]
        raise GeofaceError(f"{path}/oof_predictions.csv repeats id {dup!r}; ids must be unique")
    for col in ("proba_" + str(c) for c in metrics.get("classes", [])):
        if col in oof.columns:
            oof[col] = pd.to_numeric(oof[col], errors="coerce")
    return RunPredictions(
        path=path,
        name=name or path.name,
        model=str(metrics.get("model") or info.get("model") or path.name),
        target=str(metrics.get("target") or info.get("target") or "label"),
        group=group,
        classes=[str(c) for c in metrics.get("classes", [])],
        oof=oof,
        metrics=metrics,
        info=info,
    )


def run_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Short names for run directories: their names, with parents added where they clash.

    ``runs/xgb`` and ``other/xgb`` become ``runs/xgb`` and ``other/xgb``; a
    clash left after that gets ``-2``, ``-3`` … appended.
    """
    parts = [Path(os.path.abspath(p)).parts for p in paths]
    depth = [1] * len(parts)
    names = ["/".join(p[-1:]) for p in parts]
    while True:
        changed = False
        before = list(names)
        for i, n in enumerate(before):
            rivals = [j for j, m in enumerate(before) if m == n and parts[j] != parts[i]]
            if rivals and depth[i] < len(parts[i]):
                depth[i] += 1
                names[i] = "/".join(parts[i][-depth[i] :])
                changed = True
        if not changed:
            break
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def _examples(ids, k: int = 3) -> str:
    shown = ", ".join(repr(str(i)) for i in list(ids)[:k])
    return shown + (", …" if len(ids) > k else "")


def _check_pair(a: RunPredictions, b: RunPredictions) -> None:
    """Refuse (one line) two runs that cannot be compared; say how they differ."""
    pa, pb = a.path, b.path
    if a.target != b.target:
        raise GeofaceError(
            f"{pa} predicts {a.target!r} but {pb} predicts {b.target!r}; compare runs of "
            "the same target"
        )
    if sorted(a.classes) != sorted(b.classes):
        raise GeofaceError(
            f"{pa} has classes {a.classes} but {pb} has {b.classes}; compare runs with the "
            "same classes (the same table and target)"
        )
    if a.group != b.group:
        raise GeofaceError(
            f"{pa} groups rows by {a.group!r} but {pb} by {b.group!r}; compare runs grouped "
            "by the same column"
        )
    ids_a, ids_b = set(a.oof["id"]), set(b.oof["id"])
    if ids_a != ids_b:
        only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
        detail = "; ".join(
            f"{len(only)} only in {p} (e.g. {_examples(only)})"
            for only, p in ((only_a, pa), (only_b, pb))
            if only
        )
        raise GeofaceError(
            f"{pa} and {pb} differ in {len(only_a) + len(only_b)} ids ({detail}); compare runs "
            "made from the same faces"
        )
    fa = a.oof.set_index("id")
    fb = b.oof.set_index("id").reindex(fa.index)
    both = fa["fold"].notna() & fb["fold"].notna()
    moved = fa.index[both & (fa["fold"].astype(float) != fb["fold"].astype(float))]
    if len(moved):
        raise GeofaceError(
            f"{pa} and {pb} assign {len(moved)} ids to different folds (e.g. "
            f"{_examples(moved)}); make both runs from the same splits CSV"
        )
    truth = both & fa["y_true"].notna() & fb["y_true"].notna()
    relabelled = fa.index[truth & (fa["y_true"] != fb["y_true"])]
    if len(relabelled):
        raise GeofaceError(
            f"{pa} and {pb} give {len(relabelled)} ids different true labels (e.g. "
            f"{_examples(relabelled)}); compare runs made from the same table and target"
        )
    grouped = both & fa[a.group].notna() & fb[b.group].notna()
    regrouped = fa.index[grouped & (fa[a.group] != fb[b.group])]
    if len(regrouped):
        raise GeofaceError(
            f"{pa} and {pb} put {len(regrouped)} ids in different {a.group}s (e.g. "
            f"{_examples(regrouped)}); compare runs made from the same table"
        )


def align_runs(runs: Sequence[RunPredictions]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check that runs are comparable and line up their rows by id.

    Parameters
    ----------
    runs : sequence of RunPredictions

    Returns
    -------
    rows : DataFrame
        One row per id (the first run's order): ``id, <group>, fold, y_true,
        included`` and, per run, ``status_<name>`` and ``y_pred_<name>``.
        ``included`` is True where every run made a prediction.
    excluded : DataFrame
        ``run, status, n``: for each run, how many ids had no prediction in
        it, by status (ids without a prediction in any run are left out of
        every run).
    """
    if not runs:
        raise GeofaceError("give at least one run directory")
    first = runs[0]
    for other in runs[1:]:
        _check_pair(first, other)
    index = pd.Index(first.oof["id"], name="id")
    rows = pd.DataFrame(index=index)
    truth = np.full(len(index), None, dtype=object)
    group = np.full(len(index), None, dtype=object)
    fold = np.full(len(index), np.nan)
    included = np.ones(len(index), dtype=bool)
    excluded = []
    for run in runs:
        oof = run.oof.set_index("id").reindex(index)
        use = pd.Series(run.usable, index=run.oof["id"]).reindex(index).to_numpy()
        included &= use
        for known, values in ((truth, oof["y_true"]), (group, oof[run.group])):
            gap = pd.isna(known)
            known[gap] = values.to_numpy(dtype=object)[gap]
        fold = np.where(np.isnan(fold), oof["fold"].to_numpy(dtype=float), fold)
        status = oof["status"].astype(str)
        status[~use & (status == "ok")] = "no_prediction"
        rows[f"status_{run.name}"] = status.to_numpy()
        rows[f"y_pred_{run.name}"] = np.where(use, oof["y_pred"].to_numpy(dtype=object), None)
        for reason, n in status[~use].value_counts().items():
            excluded.append({"run": run.name, "status": str(reason), "n": int(n)})
    rows.insert(0, "included", included)
    rows.insert(0, "y_true", truth)
    rows.insert(0, "fold", pd.array(fold, dtype="Float64").astype("Int64"))
    rows.insert(0, first.group, group)
    return rows.reset_index(), pd.DataFrame(excluded, columns=["run", "status", "n"])
