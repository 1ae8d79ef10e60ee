"""Reading run directories: one reader for every command that takes a run.

:func:`read_json` and :func:`read_run_info` read a run's JSON files with
one-line errors and check its schema version (every reader, including
``models.Run`` and the baseline's run, goes through them);
:func:`read_run_directory` reads a run directory's ``metrics.json``,
``run.json`` and ``oof_predictions.csv``; :func:`check_same_problem` refuses,
in one line, runs that were not made on the same faces, folds, classes,
target, labels and subjects, so that every difference left between their
predictions is a difference between the models.

These commands take classification runs only: their out-of-fold tables hold
class labels and ``proba_<class>`` columns. An age run (``geoface baseline
train --task age``) holds numbers instead and is refused with a message that
says so.
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
from ._layout import METRICS_JSON, MODEL_DIR, MODEL_JSON, OOF_CSV, RUN_JSON, check_schema

__all__ = [
    "RunDirectory",
    "check_same_problem",
    "read_json",
    "read_run_directory",
    "read_run_info",
    "recorded_table",
    "refuse_regression",
    "run_names",
]

KINDS = ("geometric", "cnn", "fusion")


@dataclass
class RunDirectory:
    """The out-of-fold predictions of one run directory and what describes them.

    Attributes
    ----------
    path : Path
        The run directory.
    name : str
        Short name (the directory's name, made unique among the runs read together).
    model : str
        The model, from ``run.json`` or ``metrics.json``.
    target, group : str
        Predicted column and grouping column (usually ``subject``).
    classes : list of str
        From ``metrics.json`` (else the ``proba_<class>`` columns).
    oof : DataFrame
        ``oof_predictions.csv``: ``id, fold, <group>, status, y_true, y_pred,
        proba_<class>…``, one row per input row; ids, labels and groups as
        strings, empty cells as missing values.
    metrics : dict
        ``metrics.json``.
    info : dict
        ``run.json`` (empty when absent).
    kind : {"geometric", "cnn", "fusion"}
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
    kind: str = "geometric"

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


def refuse_regression(path: Path, metrics: dict) -> None:
    """Refuse (one line) a run whose ``metrics.json`` names a task other than classification."""
    task = str(metrics.get("task") or "classification")
    if task == "classification":
        return
    kind = f"an {task}-regression run" if task == "age" else f"a {task} run"
    raise GeofaceError(
        f"{path} is {kind} (task {task!r}); compare, fuse and report take classification runs"
    )


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object written by geoface; a one-line error when it is missing or broken."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeofaceError(f"{path} is missing; the run directory is incomplete") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeofaceError(
            f"cannot read {path}: {exc}; the file is damaged or was edited, write the run again"
        ) from None
    if not isinstance(doc, dict):
        raise GeofaceError(
            f"{path} holds a JSON {type(doc).__name__}, not an object; the file is damaged or "
            "was edited, write the run again"
        )
    return doc


def read_run_info(path: str | os.PathLike, *, required: bool = True) -> dict:
    """A run directory's ``run.json``, schema checked (``{}`` if absent and not required)."""
    path = Path(path)
    if not path.is_dir():
        raise GeofaceError(f"{path} is not a geoface run directory (it does not exist)")
    file = path / RUN_JSON
    if not file.exists():
        if required:
            raise GeofaceError(f"{path} is not a geoface run directory (no {RUN_JSON})")
        return {}
    info = read_json(file)
    check_schema(info, file)
    return info


def recorded_table(info: dict) -> str | None:
    """The input table a ``run.json`` names (``table.path`` of fit, ``input`` of the baseline)."""
    table = info.get("table")
    if isinstance(table, dict) and table.get("path"):
        return str(table["path"])
    if isinstance(table, str) and table:
        return table
    if info.get("input"):
        return str(info["input"])
    return None


def read_run_directory(
    path: str | os.PathLike, name: str | None = None, *, require_proba: bool = False
) -> RunDirectory:
    """Read a classification run directory (``geoface fit``, ``baseline train`` or ``fuse``).

    Parameters
    ----------
    path : path-like
    name : str, optional
        Short name (default: the directory's name).
    require_proba : bool, default=False
        Refuse a run whose table lacks a ``proba_<class>`` column.

    Returns
    -------
    RunDirectory

    Raises
    ------
    GeofaceError
        When the folder is not a run directory, is a regression run, or its
        files are incomplete.
    """
    path = Path(path)
    if not path.is_dir():
        raise GeofaceError(f"{path} is not a geoface run directory (it does not exist)")
    for needed in (METRICS_JSON, OOF_CSV):
        if not (path / needed).exists():
            raise GeofaceError(
                f"{path} is not a geoface run directory (no {needed}); give directories "
                "written by 'geoface fit', 'geoface baseline train' or 'geoface fuse'"
            )
    metrics = read_json(path / METRICS_JSON)
    refuse_regression(path, metrics)
    info = read_run_info(path, required=False)
    group = str(info.get("group") or metrics.get("group") or "subject")
    oof_path = path / OOF_CSV
    oof = pd.read_csv(
        oof_path,
        dtype={"id": str, "y_true": str, "y_pred": str, "status": str, group: str},
        keep_default_na=False,
        na_values={"fold": [""], "y_true": [""], "y_pred": [""], group: [""]},
    )
    classes = [str(c) for c in metrics.get("classes", [])]
    if not classes:
        classes = [c[len("proba_") :] for c in oof.columns if c.startswith("proba_")]
    needed = ["id", "fold", "status", "y_true", "y_pred", group]
    if require_proba:
        needed += [f"proba_{c}" for c in classes]
    missing = [c for c in needed if c not in oof.columns]
    if missing:
        raise GeofaceError(
            f"{oof_path} lacks column(s) {missing[:3]}; it was not written by geoface"
        )
    if oof["id"].duplicated().any():
        dup = oof.loc[oof["id"].duplicated(), "id"].iloc[0]
        raise GeofaceError(f"{oof_path} repeats id {dup!r}; ids must be unique")
    for col in (f"proba_{c}" for c in classes):
        if col in oof.columns:
            oof[col] = pd.to_numeric(oof[col], errors="coerce")
    kind = info.get("kind") or ("geometric" if (path / MODEL_DIR / MODEL_JSON).exists() else "")
    return RunDirectory(
        path=path,
        name=name or path.name,
        model=str(info.get("model") or metrics.get("model") or path.name),
        target=str(info.get("target") or metrics.get("target") or "label"),
        group=group,
        classes=classes,
        oof=oof,
        metrics=metrics,
        info=info,
        kind=kind if kind in KINDS else "geometric",
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


def _check_pair(a: RunDirectory, b: RunDirectory, action: str) -> None:
    """Refuse (one line) two runs that do not describe the same problem; say how they differ."""
    pair = f"runs {a.name} and {b.name}"
    if a.target != b.target:
        raise GeofaceError(
            f"{pair} predict different targets ({a.target!r} vs {b.target!r}); {action} runs "
            "of one target"
        )
    if sorted(a.classes) != sorted(b.classes):
        raise GeofaceError(
            f"{pair} have different classes ({a.classes} vs {b.classes}); {action} runs with "
            "the same classes (the same table and target)"
        )
    if a.group != b.group:
        raise GeofaceError(
            f"{pair} group faces by different columns ({a.group!r} vs {b.group!r}); make both "
            "from the same splits file"
        )
    ids_a, ids_b = set(a.oof["id"]), set(b.oof["id"])
    if ids_a != ids_b:
        only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
        detail = "; ".join(
            f"{len(only)} only in {r.name} (e.g. {_examples(only)})"
            for only, r in ((only_a, a), (only_b, b))
            if only
        )
        raise GeofaceError(
            f"{pair} cover different faces: they differ in {len(only_a) + len(only_b)} ids "
            f"({detail}); {action} runs made from the same table"
        )
    fa = a.oof.set_index("id")
    fb = b.oof.set_index("id").reindex(fa.index)
    both = (fa["fold"].notna() & fb["fold"].notna()).to_numpy()
    fold_a, fold_b = fa["fold"].to_numpy(dtype=float), fb["fold"].to_numpy(dtype=float)
    moved = np.flatnonzero(both & (fold_a != fold_b))
    if len(moved):
        i = moved[0]
        raise GeofaceError(
            f"{pair} put {len(moved)} face(s) in different folds, e.g. id {fa.index[i]!r} in "
            f"fold {int(fold_a[i])} vs {int(fold_b[i])}; make both runs from the same splits file"
        )
    use_a = pd.Series(a.usable, index=a.oof["id"]).reindex(fa.index).to_numpy()
    use_b = pd.Series(b.usable, index=b.oof["id"]).reindex(fa.index).to_numpy()
    for used, other, run in ((use_a, fb, b), (use_b, fa, a)):
        gone = np.flatnonzero(used & (other["status"].astype(str) == "not_in_splits").to_numpy())
        if len(gone):
            raise GeofaceError(
                f"{len(gone)} face(s) have a fold in one run but are not in the splits of "
                f"{run.name}, e.g. id {fa.index[gone[0]]!r}; make both runs from the same "
                "splits file"
            )
    for column, what in (("y_true", f"the {a.target}"), (a.group, f"the {a.group}")):
        va, vb = fa[column], fb[column]
        differ = np.flatnonzero(both & (va.notna() & vb.notna() & (va != vb)).to_numpy())
        if len(differ):
            i = differ[0]
            raise GeofaceError(
                f"{pair} disagree on {what} of {len(differ)} face(s), e.g. id "
                f"{fa.index[i]!r}: {va.iloc[i]!r} vs {vb.iloc[i]!r}; {action} runs made from "
                "the same table"
            )


def check_same_problem(runs: Sequence[RunDirectory], action: str) -> None:
    """Refuse (one line) runs that were not made on the same faces, folds, labels and classes.

    Every run is checked against the first: the same target, classes (in any
    order) and grouping column; the same ids; every face that two runs both
    placed in a fold in the same fold, with the same true label and the same
    group; no face predicted by one run but outside the other's splits.

    Parameters
    ----------
    runs : sequence of RunDirectory
    action : str
        What the runs are read for (``compare``, ``fuse``), for the message's fix.

    Raises
    ------
    GeofaceError
        Naming the first difference found.
    """
    for other in runs[1:]:
        _check_pair(runs[0], other, action)
