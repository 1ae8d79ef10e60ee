"""Read run directories for comparison and check that they can be compared.

Runs can be compared only when they were made on the same faces, with the
same folds, the same target and the same classes: then every difference in
their predictions is a difference between the models. Reading and checking
are shared with fusion (:mod:`geoface.runs`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..runs import RunDirectory, check_same_problem, read_run_directory

__all__ = ["align_predictions", "load_run_predictions"]


def load_run_predictions(path: str | os.PathLike, name: str | None = None) -> RunDirectory:
    """Read a run directory's ``metrics.json``, ``run.json`` and ``oof_predictions.csv``.

    Parameters
    ----------
    path : path-like
        A run directory written by ``geoface fit`` or ``geoface baseline train``.
    name : str, optional
        Short name (default: the directory's name).

    Returns
    -------
    RunDirectory
    """
    return read_run_directory(path, name)


def align_predictions(runs: Sequence[RunDirectory]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check that runs are comparable and line up their rows by id.

    Parameters
    ----------
    runs : sequence of RunDirectory

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
    check_same_problem(runs, "compare")
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
