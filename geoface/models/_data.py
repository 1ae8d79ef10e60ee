"""From a feature table to the arrays a model trains on, counting every exclusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..features import FeatureTable
from ..labels import normalise_labels
from ..metrics import label_strings
from ..splits import Splits

__all__ = ["ModelData", "prepare_data"]


@dataclass
class ModelData:
    """Rows of a table that a model uses, and why the others are left out.

    Attributes
    ----------
    used : ndarray of bool, shape (n_rows,)
    status : ndarray of str, shape (n_rows,)
        ``ok`` for used rows, else the reason (``qc_no_face``,
        ``missing_target``, ``nonfinite_features``, ``not_in_splits`` …).
    X : ndarray of shape (n_used, n_features)
    y : ndarray of int, shape (n_used,)
        Indices into ``classes``.
    groups, ids : ndarray of str, shape (n_used,)
    classes : list of str
    feature_names : list of str
    """

    used: np.ndarray
    status: np.ndarray
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    ids: np.ndarray
    classes: list = field(default_factory=list)
    feature_names: list = field(default_factory=list)

    @property
    def excluded(self) -> dict[str, int]:
        reasons = pd.Series(self.status[~self.used]).value_counts()
        return {str(k): int(v) for k, v in reasons.items()}


def feature_matrix(table: FeatureTable) -> np.ndarray:
    """The table's features as floats; a one-line error names non-numeric columns."""
    names = table.feature_names
    frame = table.frame[names]
    bad = [c for c in names if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise GeofaceError(
            f"feature column(s) {bad[:3]}{' …' if len(bad) > 3 else ''} hold non-numeric values; "
            "the table was edited outside geoface: re-extract it"
        )
    return frame.to_numpy(dtype=float)


def prepare_data(
    table: FeatureTable, *, target: str, group: str, splits: Splits | None = None
) -> ModelData:
    """Select the rows a model can use and encode the target.

    A row is used when its ``qc_status`` is usable (``ok``, ``multiple_faces``,
    ``fallback_box``: it has features), target and group are
    present, every feature is finite and (with ``splits``) it has a fold.

    Raises
    ------
    GeofaceError
        Missing columns, splits ids unknown to the table, or fewer than two
        classes.
    """
    frame = table.frame
    for col, flag in ((target, "--target"), (group, "--group")):
        if col not in frame.columns:
            meta = [c for c in frame.columns if not str(c).startswith(("qc_", "tri_", "edge_"))]
            raise GeofaceError(f"the table has no {col!r} column for {flag}; choose one of {meta}")
    X = feature_matrix(table)
    status = np.full(len(frame), "ok", dtype=object)
    qc = frame["qc_status"].astype(str).to_numpy()
    failed = ~table.usable
    status[failed] = np.char.add("qc_", qc[failed].astype(str))
    status[(status == "ok") & frame[target].isna().to_numpy()] = "missing_target"
    status[(status == "ok") & frame[group].isna().to_numpy()] = "missing_group"
    status[(status == "ok") & ~np.isfinite(X).all(axis=1)] = "nonfinite_features"
    ids = frame["id"].astype(str).to_numpy()
    if splits is not None:
        unknown = np.setdiff1d(splits.frame["id"].astype(str).to_numpy(), ids)
        if len(unknown):
            raise GeofaceError(
                f"the splits file names {len(unknown)} id(s) the table lacks, e.g. "
                f"{list(unknown[:3])}; make the splits from this table with 'geoface split'"
            )
        fold = splits.fold_of(ids)
        status[(status == "ok") & (fold < 0)] = "not_in_splits"
    used = status == "ok"
    # whole numbers name their classes "0", "1" … even when empty cells made the column float
    # and labels that differ only by case or spaces name one class
    labels = normalise_labels(label_strings(frame.loc[used, target]))[0].astype(str)
    classes = sorted(np.unique(labels).tolist())
    if len(classes) < 2:
        only = classes[0] if classes else "none"
        raise GeofaceError(
            f"target {target!r} has {len(classes)} class ({only!r}) among the {used.sum()} usable "
            "rows; a classifier needs at least two"
        )
    y = np.searchsorted(np.asarray(classes), labels)
    return ModelData(
        used=used,
        status=status.astype(str),
        X=np.ascontiguousarray(X[used]),
        y=y,
        groups=frame.loc[used, group].astype(str).to_numpy(),
        ids=ids[used],
        classes=classes,
        feature_names=list(table.feature_names),
    )
