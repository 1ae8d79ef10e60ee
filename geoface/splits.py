"""Subject-grouped, label-stratified cross-validation folds, made once and shared.

Every model — geometric or CNN — trains and reports on exactly the folds in
one splits file (``id, fold, <group>``), so their out-of-fold predictions can
be compared face by face. No group (subject) ever appears in two folds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ._atomic import atomic_path
from ._errors import GeofaceError
from .labels import normalise_labels

__all__ = ["Splits", "check_splits", "make_splits"]


@dataclass
class Splits:
    """Folds for a feature table.

    Attributes
    ----------
    frame : DataFrame
        ``id, fold, <group>`` with one row per face that takes part.
    group : str
        Name of the grouping column (usually ``subject``).
    info : dict
        How the folds were made: method, seed, counts, exclusions.
    """

    frame: pd.DataFrame
    group: str
    info: dict = field(default_factory=dict)

    @property
    def n_folds(self) -> int:
        return int(self.frame["fold"].nunique())

    def fold_of(self, ids) -> np.ndarray:
        """Fold of each id (-1 where an id takes no part)."""
        lookup = pd.Series(self.frame["fold"].to_numpy(), index=self.frame["id"].to_numpy())
        return lookup.reindex(pd.Index(ids).astype(str)).fillna(-1).astype(int).to_numpy()

    def write(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (CSV) and its ``.meta.json`` sidecar, each atomically."""
        path = Path(path)
        meta = path.with_name(path.with_suffix("").name + ".meta.json")
        with atomic_path(meta) as tmp:
            tmp.write_text(json.dumps(self.info, indent=1, default=str) + "\n", encoding="utf-8")
        with atomic_path(path) as tmp:
            self.frame.to_csv(tmp, index=False)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> Splits:
        """Read a splits CSV (``id, fold`` and a group column)."""
        path = Path(path)
        if not path.exists():
            raise GeofaceError(f"splits file {path} does not exist")
        try:
            frame = pd.read_csv(path, dtype=str)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise GeofaceError(f"cannot parse splits file {path}: {exc}") from None
        missing = [c for c in ("id", "fold") if c not in frame.columns]
        if missing:
            raise GeofaceError(f"splits file {path} lacks column(s) {missing}; it needs id, fold")
        extra = [c for c in frame.columns if c not in ("id", "fold")]
        group = extra[0] if extra else "subject"
        try:
            frame["fold"] = frame["fold"].astype(int)
        except ValueError:
            raise GeofaceError(f"splits file {path}: fold values must be integers") from None
        meta = path.with_name(path.with_suffix("").name + ".meta.json")
        info = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
        splits = cls(frame=frame, group=group, info=info)
        check_splits(splits)
        return splits


def check_splits(splits: Splits) -> None:
    """Refuse splits with duplicate ids or a group in more than one fold."""
    frame = splits.frame
    dup = frame["id"][frame["id"].duplicated()].unique()
    if len(dup):
        raise GeofaceError(f"splits repeat id(s) {list(dup[:3])}; each face belongs to one fold")
    if splits.group in frame.columns:
        folds_per_group = frame.groupby(splits.group)["fold"].nunique()
        leaking = folds_per_group[folds_per_group > 1]
        if len(leaking):
            raise GeofaceError(
                f"{splits.group} {list(leaking.index[:3])} appear(s) in more than one fold; "
                "folds must be grouped by subject (remake them with 'geoface split')"
            )


def make_splits(
    frame: pd.DataFrame,
    *,
    group: str = "subject",
    target: str = "label",
    folds: int | str = 5,
    seed: int = 0,
) -> Splits:
    """Make subject-grouped, label-stratified folds for a feature table's rows.

    Rows whose ``qc_status`` is not usable (not in
    :data:`geoface.features.USABLE_STATUSES`, when the column exists), or whose
    group or target is missing, take no part; they are counted in
    ``info["excluded"]``.

    Parameters
    ----------
    frame : DataFrame
        The table (needs ``id``, ``group`` and ``target`` columns).
    group : str, default="subject"
        The grouping column. A frame table (one row per video frame) without a
        ``subject`` column is grouped by ``video``: frames of one video are
        never in two folds.
    target : str, default="label"
        Stratify on this column.
    folds : int or "loso", default=5
        Number of folds, or leave-one-subject-out.
    seed : int, default=0
        Shuffles the assignment (stratified group k-fold).

    Returns
    -------
    Splits
    """
    from sklearn.model_selection import StratifiedGroupKFold

    group_note = None
    if group == "subject" and "subject" not in frame.columns and "video" in frame.columns:
        # a frame table without subjects: the frames of one video are never independent
        group, group_note = "video", "no 'subject' column: frames grouped by video"
    for col in ("id", group, target):
        if col not in frame.columns:
            raise GeofaceError(
                f"the table has no {col!r} column; choose one with "
                f"{'--group' if col == group else '--target' if col == target else 'an id column'}"
                f" (columns: {', '.join(map(str, frame.columns[:8]))}, …)"
            )
    keep = np.ones(len(frame), dtype=bool)
    excluded: dict[str, int] = {}
    if "qc_status" in frame.columns:
        from .features import USABLE_STATUSES

        bad = ~frame["qc_status"].isin(USABLE_STATUSES).to_numpy()
        for status, n in frame.loc[bad, "qc_status"].value_counts().items():
            excluded[f"qc_{status}"] = int(n)
        keep &= ~bad
    for col, name in ((group, "missing_group"), (target, "missing_target")):
        missing = frame[col].isna().to_numpy() & keep
        if missing.any():
            excluded[name] = int(missing.sum())
        keep &= ~missing
    used = frame.loc[keep, ["id", group, target]].copy()
    normalised, label_changes = normalise_labels(used[target])
    if label_changes:  # only text labels change; numeric targets keep their dtype
        used[target] = normalised
    used["id"] = used["id"].astype(str)
    used[group] = used[group].astype(str)
    if used.empty:
        raise GeofaceError("no row is usable for splitting (all failed QC or lack group/target)")
    subjects = used[group].to_numpy()
    n_subjects = len(np.unique(subjects))

    if folds == "loso":
        codes, uniques = pd.factorize(pd.Series(subjects), sort=True)
        fold = codes.astype(int)
        method = "leave-one-subject-out"
        n_folds = len(uniques)
    else:
        try:
            n_folds = int(folds)
        except (TypeError, ValueError):
            raise GeofaceError(f"folds={folds!r} is neither a whole number nor 'loso'") from None
        if n_folds < 2:
            raise GeofaceError(f"folds={n_folds}: cross-validation needs at least 2 folds")
        per_class = used.groupby(target)[group].nunique()
        if n_subjects < n_folds:
            raise GeofaceError(
                f"only {n_subjects} {group}s for {n_folds} folds; "
                + _folds_that_work(per_class, n_subjects, group)
            )
        thin = per_class[per_class < n_folds]
        if len(thin):
            shown = ", ".join(f"{k!r} ({v})" for k, v in thin.items())
            raise GeofaceError(
                f"class(es) {shown} have fewer {group}s than the {n_folds} folds, so some folds "
                "would lack them; " + _folds_that_work(per_class, n_subjects, group)
            )
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        fold = np.empty(len(used), dtype=int)
        for k, (_, test) in enumerate(cv.split(np.zeros(len(used)), used[target], subjects)):
            fold[test] = k
        method = "stratified-group-k-fold"
    out = pd.DataFrame({"id": used["id"].to_numpy(), "fold": fold, group: subjects})
    info = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": method,
        "n_folds": int(n_folds),
        "seed": seed,
        "group": group,
        "target": target,
        "n_rows": len(out),
        "n_groups": int(n_subjects),
        "excluded": excluded,
        **({"group_note": group_note} if group_note else {}),
        **({"label_normalised": label_changes} if label_changes else {}),
        "rows_per_fold": {
            int(k): int(v) for k, v in out["fold"].value_counts().sort_index().items()
        },
    }
    splits = Splits(frame=out, group=group, info=info)
    check_splits(splits)
    return splits


def _folds_that_work(per_class: pd.Series, n_subjects: int, group: str) -> str:
    """What to ask for instead, computed from the data: the largest fold count that works.

    k stratified folds need k groups in all and k groups holding each class;
    leave-one-subject-out needs 2 groups and no more.
    """
    if n_subjects < 2:
        return f"cross-validation needs at least 2 {group}s; add faces of another {group}"
    workable = min(n_subjects, int(per_class.min()))
    if workable >= 2:
        fewer = f"--folds {workable}" if workable == 2 else f"--folds {workable} or fewer"
        return f"use {fewer}, or --folds loso"
    single = [repr(k) for k, v in per_class.items() if v < 2]
    shown = ", ".join(single[:5]) + (f", … ({len(single)} in all)" if len(single) > 5 else "")
    return (
        f"no number of stratified folds works while class(es) {shown} are held by one {group} "
        "only; use --folds loso, or merge or drop them"
    )
