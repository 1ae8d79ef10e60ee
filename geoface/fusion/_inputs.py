"""Reading the run directories to fuse and checking that they describe the same problem.

Runs can be fused only when they predicted the same faces on the same folds,
with the same classes, for the same target: :func:`align_runs` checks that
(with the checks compare shares, :mod:`geoface.runs`) and lines their
out-of-fold probabilities up face by face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..runs import RunDirectory, check_same_problem, read_run_directory, run_names

__all__ = ["AlignedRuns", "align_runs", "read_run"]


def read_run(path: str | os.PathLike, name: str | None = None) -> RunDirectory:
    """Read what fusion needs from a run directory (``geoface fit``, baseline or fuse).

    Raises
    ------
    GeofaceError
        When the folder is not a run directory, is a regression run, or its
        files are incomplete (a ``proba_<class>`` column missing, say).
    """
    return read_run_directory(path, name, require_proba=True)


@dataclass
class AlignedRuns:
    """Several runs' out-of-fold predictions lined up face by face.

    Attributes
    ----------
    runs : list of RunDirectory
    ids : ndarray of str, shape (n_rows,)
        Every input row (in the first run's order).
    status : ndarray of str, shape (n_rows,)
        ``ok`` where every run predicted the face, else why not (``qc_no_face``
        when all runs agree, ``NAME:REASON`` naming the run that left it out).
    used : ndarray of bool, shape (n_rows,)
    fold : ndarray of int, shape (n_used,)
    groups : ndarray of str, shape (n_used,)
    y : ndarray of int, shape (n_used,)
        Indices into ``classes``.
    proba : ndarray of shape (n_runs, n_used, n_classes)
        Each run's out-of-fold probabilities.
    classes : list of str
    target, group : str
    """

    runs: list
    ids: np.ndarray
    status: np.ndarray
    used: np.ndarray
    fold: np.ndarray
    groups: np.ndarray
    y: np.ndarray
    proba: np.ndarray
    classes: list = field(default_factory=list)
    target: str = "label"
    group: str = "subject"

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]


def align_runs(run_dirs) -> AlignedRuns:
    """Read runs and check that they can be fused; line their predictions up.

    The runs must predict the same target with the same classes, list the
    same input ids, put every face they both predicted in the same fold, and
    agree on its label. A face that some run left out (failed QC, unreadable
    image …) takes no part and keeps that run's reason in ``status``.

    Parameters
    ----------
    run_dirs : sequence of path-like
        At least two run directories.

    Returns
    -------
    AlignedRuns

    Raises
    ------
    GeofaceError
        One line naming the first difference found.
    """
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise GeofaceError(f"fusion needs at least two run directories; got {len(paths)}")
    if len({p.resolve() for p in paths}) < len(paths):
        raise GeofaceError("the same run directory is given twice; fuse different runs")
    runs = [read_run(p, n) for p, n in zip(paths, run_names(paths), strict=True)]
    check_same_problem(runs, "fuse")
    first = runs[0]
    ids = first.oof["id"].to_numpy(dtype=str)
    frames = [r.oof.set_index("id").loc[ids] for r in runs]
    oks = [
        (f["status"].astype(str) == "ok").to_numpy() & f["fold"].notna().to_numpy() for f in frames
    ]
    used = np.logical_and.reduce(oks)
    status = _status(runs, frames, oks, used)
    if used.sum() == 0:
        raise GeofaceError("no face was predicted by every run; nothing can be fused")
    fold = frames[0]["fold"].to_numpy()[used].astype(int)
    if len(np.unique(fold)) < 2:
        raise GeofaceError("the faces every run predicted lie in a single fold; nothing to fuse")
    labels = frames[0]["y_true"].astype(str).to_numpy()[used]
    classes = first.classes
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise GeofaceError(
            f"run {first.name} labels faces {unknown[:3]} outside its classes {classes}"
        )
    lookup = {c: i for i, c in enumerate(classes)}
    y = np.array([lookup[v] for v in labels], dtype=int)
    cols = [f"proba_{c}" for c in classes]
    proba = np.stack([f[cols].to_numpy(dtype=float)[used] for f in frames])
    bad = ~np.isfinite(proba).all(axis=2)
    if bad.any():
        r, i = np.argwhere(bad)[0]
        raise GeofaceError(
            f"run {runs[r].name} has no finite probabilities for face "
            f"{ids[used][i]!r} although its status is ok; the run directory is damaged"
        )
    group = first.group
    groups_col = frames[0][group] if group in frames[0].columns else pd.Series(ids, index=ids)
    return AlignedRuns(
        runs=runs,
        ids=ids,
        status=status,
        used=used,
        fold=fold,
        groups=groups_col.astype(str).to_numpy()[used],
        y=np.asarray(y, dtype=int),
        proba=proba,
        classes=list(classes),
        target=first.target,
        group=group,
    )


def _status(runs, frames, oks, used) -> np.ndarray:
    """Each row's fused status: ``ok``, the runs' common reason, or ``NAME:REASON``."""
    statuses = np.stack(
        [
            np.where(ok, "ok", np.where(st == "ok", "no_fold", st))
            for st, ok in zip(
                [f["status"].fillna("no_prediction").astype(str).to_numpy() for f in frames],
                oks,
                strict=True,
            )
        ]
    )
    out = np.full(statuses.shape[1], "ok", dtype=object)
    for i in np.flatnonzero(~used):
        col = statuses[:, i]
        if (col == col[0]).all():
            out[i] = col[0]
            continue
        r = int(np.flatnonzero(col != "ok")[0])
        out[i] = f"{runs[r].name}:{col[r]}"
    return out.astype(str)
