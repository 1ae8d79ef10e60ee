"""Every metric per group of faces (age group, population, site …), with subject-bootstrap CIs.

A model's accuracy can differ a lot between the groups of a test set — the
infant-trained model of a cross-age study drops from 56 % on infants to 28 % on
adults — so geoface reports accuracy, balanced accuracy, macro-F1 and log loss
for every group, with 95 % intervals from a bootstrap over the subjects of that
group and the chance levels of that group's own labels. Small groups never
crash the report: a metric that cannot be computed is NaN and the row's
``note`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..age_groups import AGE_GROUPS
from ._bootstrap import subject_bootstrap
from ._scores import chance_levels, classification_metrics, row_log_loss

__all__ = [
    "AGE_GROUPS",
    "ALL_GROUPS",
    "GROUP_METRICS",
    "MISSING_GROUP",
    "GroupMetrics",
    "group_metrics",
    "group_order",
]

#: Name of the row that pools every group.
ALL_GROUPS = "(all)"
#: Name of the group of rows whose group value is empty.
MISSING_GROUP = "(missing)"
#: The metrics reported per group, each with ``_low`` and ``_high`` interval bounds.
GROUP_METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss")

_AGE_RANK = {
    "newborn": 0,
    "baby": 0,
    "infant": 0,
    "infants": 0,
    "toddler": 0.5,
    "young_child": 1,
    "younger_child": 1,
    "child": 1.5,
    "children": 1.5,
    "older_child": 2,
    "teen": 3,
    "teenager": 3,
    "adolescent": 3,
    "adult": 4,
    "adults": 4,
    "older_adult": 5,
    "senior": 5,
}


def _age_key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _default_order(names: list[str]) -> list[str]:
    if names and all(_age_key(n) in _AGE_RANK for n in names):
        return sorted(names, key=lambda n: (_AGE_RANK[_age_key(n)], n))
    try:
        return sorted(names, key=float)
    except ValueError:
        return sorted(names)


def group_order(values, order: Sequence[str] | None = None) -> list[str]:
    """The groups present in ``values``, in the order tables and figures show them.

    Parameters
    ----------
    values : array-like of str or None
        Group of each row; ``None`` (missing) becomes :data:`MISSING_GROUP`.
    order : sequence of str, optional
        Groups to show first, in this order; groups it does not name follow.

    Returns
    -------
    list of str
        By default developmental age groups youngest first (``infant``,
        ``younger_child``, ``older_child``, ``teenager``, ``adult``; spellings
        such as ``Younger child`` or ``toddler`` are recognised), numbers in
        numeric order, other names alphabetically; :data:`MISSING_GROUP` last.
    """
    seen = list(dict.fromkeys(str(v) for v in values if v is not None))
    has_missing = MISSING_GROUP in seen or any(v is None for v in values)
    names = [v for v in seen if v != MISSING_GROUP]
    head = [] if order is None else [g for g in dict.fromkeys(map(str, order)) if g in names]
    rest = _default_order([g for g in names if g not in head])
    return head + rest + ([MISSING_GROUP] if has_missing else [])


@dataclass
class GroupMetrics:
    """Metrics of one grouping of the rows.

    Attributes
    ----------
    column : str
        The grouping column (``age_group`` …); it names the table's first column.
    classes : list of str
        The class vocabulary, in the order of the confusion matrices.
    table : DataFrame
        One row per group, the pooled :data:`ALL_GROUPS` row first: the group,
        ``n`` (rows scored), ``n_subjects``, ``n_excluded`` (rows of the group
        that took no part), ``classes_present``; each metric of
        :data:`GROUP_METRICS` with ``_low`` and ``_high``; the chance levels
        ``chance_accuracy_majority``, ``chance_balanced_accuracy_uniform``,
        ``chance_macro_f1_uniform``, ``chance_log_loss_uniform``,
        ``chance_log_loss_prior``; and ``note``.
    confusion : dict of str to list of list of int
        Each group's confusion matrix (rows: true class, columns: predicted).
    settings : dict
        Bootstrap replicates, confidence and the minimum sizes used.
    """

    column: str
    classes: list[str]
    table: pd.DataFrame
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def groups(self) -> pd.DataFrame:
        """The table without the pooled row."""
        return self.table[self.table[self.column] != ALL_GROUPS].reset_index(drop=True)

    @classmethod
    def from_dict(cls, doc: dict) -> GroupMetrics:
        """Rebuild from :meth:`to_dict` (the ``by_group`` entries of ``metrics.json``)."""
        column = doc["column"]
        table = pd.DataFrame(doc["groups"])
        text = (column, "classes_present", "note")
        for col in table.columns:
            if col not in text:
                table[col] = table[col].astype(float)
        for col in ("n", "n_subjects", "n_excluded"):
            table[col] = table[col].astype(int)
        table[column] = table[column].astype(str)
        settings = {k: v for k, v in doc.items() if k not in _DOC_KEYS}
        return cls(
            column=column,
            classes=list(doc["classes"]),
            table=table,
            confusion=dict(doc.get("confusion_matrices", {})),
            settings=settings,
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN written as ``null``)."""
        records = [
            {k: _plain(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")
        ]
        return {
            "column": self.column,
            "classes": list(self.classes),
            "groups": records,
            "confusion_matrices": self.confusion,
            **self.settings,
        }


_DOC_KEYS = ("column", "classes", "groups", "confusion_matrices")


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    return value


def _score(y, pred, proba, subjects, classes, *, n_boot, seed, min_rows, min_subjects, conf):
    """One row of the table (without the group name) and its confusion matrix."""
    k = len(classes)
    n = len(y)
    n_subjects = len(pd.unique(subjects)) if n else 0
    present = np.unique(y) if n else np.array([], dtype=int)
    row: dict = {
        "n": n,
        "n_subjects": n_subjects,
        "classes_present": ";".join(classes[i] for i in present),
    }
    for name in GROUP_METRICS:
        row.update({name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan})
    for name in (
        "chance_accuracy_majority",
        "chance_balanced_accuracy_uniform",
        "chance_macro_f1_uniform",
        "chance_log_loss_uniform",
        "chance_log_loss_prior",
    ):
        row[name] = np.nan
    notes: list[str] = []
    if n == 0:
        notes.append("no rows with a prediction: no metrics")
        return row, notes, None
    if n < min_rows:
        notes.append(f"{n} rows, fewer than the minimum of {min_rows}: no metrics")
        return row, notes, None
    point = classification_metrics(y, pred, None, classes)
    for name in ("accuracy", "balanced_accuracy", "macro_f1"):
        row[name] = point[name]
    use_proba = None
    if proba is not None:
        finite = np.isfinite(proba).all(axis=1)
        if finite.all():
            use_proba = proba
            row["log_loss"] = float(row_log_loss(y, proba).mean())
        else:
            notes.append(f"log loss n/a: {int((~finite).sum())} rows without probabilities")
    chance = chance_levels(y, k)
    row["chance_accuracy_majority"] = chance["majority"]["accuracy"]
    row["chance_balanced_accuracy_uniform"] = chance["uniform"]["balanced_accuracy"]
    row["chance_macro_f1_uniform"] = chance["uniform"]["macro_f1"]
    row["chance_log_loss_uniform"] = chance["uniform"]["log_loss"]
    row["chance_log_loss_prior"] = chance["prior"]["log_loss"] + 0.0  # no -0.0
    if len(present) == 1:
        notes.append(
            f"one class present ({classes[present[0]]}): balanced accuracy is that class's "
            "recall, computed on the present class only (always predicting it scores 1)"
        )
    elif len(present) < k:
        notes.append(
            f"{len(present)} of {k} classes present: balanced accuracy averages their recalls"
        )
    if n_subjects < min_subjects:
        notes.append(f"{n_subjects} subject(s): no confidence interval (needs {min_subjects})")
    else:
        ci = subject_bootstrap(
            y, pred, use_proba, subjects, k, n_boot=n_boot, confidence=conf, random_state=seed
        )
        for name in GROUP_METRICS:
            if name in ci and not (name == "log_loss" and use_proba is None):
                row[f"{name}_low"] = ci[name]["low"]
                row[f"{name}_high"] = ci[name]["high"]
    return row, notes, point["confusion_matrix"]["counts"]


def group_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    subjects: np.ndarray,
    by,
    classes: Sequence[str],
    *,
    column: str = "group",
    excluded_by=None,
    order: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    min_rows: int = 1,
    min_subjects: int = 2,
) -> GroupMetrics:
    """Accuracy, balanced accuracy, macro-F1 and log loss per group, with CIs and chance.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (n,)
        True and predicted class indices into ``classes``.
    proba : ndarray of shape (n, n_classes) or None
        Class probabilities; a group with a row of non-finite probabilities
        gets no log loss (noted).
    subjects : ndarray of shape (n,)
        Subject of each row: intervals resample whole subjects within a group.
    by : array-like of shape (n,)
        Group of each row (``None`` or NaN: :data:`MISSING_GROUP`).
    classes : sequence of str
    column : str, default="group"
        Name of the grouping column (the table's first column).
    excluded_by : array-like, optional
        Groups of the input rows that took no part (no prediction, no label …);
        counted per group in ``n_excluded``, and a group with only such rows
        still gets its (empty) row.
    order : sequence of str, optional
        Groups to list first (see :func:`group_order`).
    n_boot : int, default=2000
    seed : int, default=0
    confidence : float, default=0.95
    min_rows : int, default=1
        Groups with fewer scored rows get NaN metrics and a note.
    min_subjects : int, default=2
        Groups with fewer subjects get no interval (a one-subject bootstrap
        only ever redraws the same subject).

    Returns
    -------
    GroupMetrics
    """
    classes = [str(c) for c in classes]
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    subjects = np.asarray(subjects).astype(str)
    proba = None if proba is None else np.asarray(proba, dtype=float)
    names = _group_names(by)
    if len(names) != len(y_true):
        raise ValueError(f"by has {len(names)} values for {len(y_true)} rows")
    excluded = _group_names(excluded_by) if excluded_by is not None else np.array([], object)
    levels = group_order(np.concatenate([names, excluded]), order)
    rows, confusion = [], {}
    kw = dict(
        n_boot=n_boot, seed=seed, min_rows=min_rows, min_subjects=min_subjects, conf=confidence
    )
    for level in [ALL_GROUPS, *levels]:
        idx = np.arange(len(names)) if level == ALL_GROUPS else np.flatnonzero(names == level)
        row, notes, cm = _score(
            y_true[idx],
            y_pred[idx],
            None if proba is None else proba[idx],
            subjects[idx],
            classes,
            **kw,
        )
        n_excl = len(excluded) if level == ALL_GROUPS else int((excluded == level).sum())
        rows.append({column: level, **row, "n_excluded": n_excl, "note": "; ".join(notes)})
        if cm is not None:
            confusion[level] = cm
    table = pd.DataFrame(rows)
    lead = [column, "n", "n_subjects", "n_excluded", "classes_present"]
    table = table[lead + [c for c in table.columns if c not in lead]]
    settings = {
        "n_boot": int(n_boot),
        "confidence": confidence,
        "min_rows": int(min_rows),
        "min_subjects": int(min_subjects),
        "interval": "percentile bootstrap over subjects within each group",
    }
    return GroupMetrics(
        column=column, classes=classes, table=table, confusion=confusion, settings=settings
    )


def _group_names(values) -> np.ndarray:
    from ._labels import label_strings

    names = label_strings(values)
    names[pd.isna(names)] = MISSING_GROUP
    return names.astype(object)
