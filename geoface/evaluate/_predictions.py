"""Score predictions of a model applied to another dataset, overall and per group.

The predictions come from ``geoface predict`` (``id, …, status, y_pred,
proba_<class>…``), a run directory's ``oof_predictions.csv``, or any CSV with
``id`` and ``y_pred`` and/or ``proba_<class>`` columns. True labels, subjects
and grouping columns come from the predictions or are joined by ``id`` from a
second file (``truth``: a manifest, landmark CSV, feature table or age-group
table). Every prediction row gets a ``status``; only ``ok`` rows are scored,
and the others are counted by reason — nothing is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..metrics import (
    GroupMetrics,
    classification_metrics,
    group_metrics,
    label_strings,
)

__all__ = [
    "PROBA_RANGE_TOLERANCE",
    "PROBA_SUM_TOLERANCE",
    "UNSEEN_POLICIES",
    "Evaluation",
    "evaluate_predictions",
    "parse_relabel",
    "read_predictions",
    "read_truth",
]

#: What to do with rows whose true class the model never saw.
UNSEEN_POLICIES = {
    "exclude": "left out of every metric, with status unseen_class and a printed count",
    "count": "scored as errors (the model cannot predict them); their log loss is n/a",
}

#: How far a ``proba_<class>`` value may lie outside [0, 1] (floating-point noise).
PROBA_RANGE_TOLERANCE = 1e-6
#: How far a row's ``proba_<class>`` values may sum away from 1 (probabilities printed
#: with two or three decimals).
PROBA_SUM_TOLERANCE = 0.01


@dataclass
class Evaluation:
    """Predictions scored against true labels, overall and per group.

    Attributes
    ----------
    rows : DataFrame
        One row per prediction row: ``id``, the group column, the ``by``
        columns, ``status`` (``ok`` rows are scored), ``y_true``, ``y_pred``.
    overall : dict
        The pooled scores with their intervals and chance levels, per-class
        scores and the confusion matrix.
    by_group : dict of str to GroupMetrics
    info : dict
        Classes, classes the model never saw, counts per status, ids without a
        match, the options.
    """

    rows: pd.DataFrame
    overall: dict
    by_group: dict[str, GroupMetrics] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _read_any(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise GeofaceError(f"{what} {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            frame = pd.read_csv(path, dtype={"id": str}, low_memory=False)
        else:
            raise GeofaceError(f"{what} {path} is neither .csv nor .parquet")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GeofaceError(f"cannot read {what} {path}: {str(exc).splitlines()[0]}") from None
    if "id" not in frame.columns:
        raise GeofaceError(
            f"{what} {path} has no 'id' column (columns: {list(frame.columns[:10])}); "
            "rows are matched by id"
        )
    frame["id"] = frame["id"].astype(str)
    dup = frame["id"][frame["id"].duplicated()].unique()
    if len(dup):
        raise GeofaceError(
            f"{what} {path} repeats {len(dup)} id(s), e.g. {list(dup[:3])}; ids must be unique"
        )
    return frame.reset_index(drop=True)


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Read predictions: a CSV (or Parquet) file, or a run directory's ``oof_predictions.csv``.

    Raises
    ------
    GeofaceError
        No ``id`` column, repeated ids, or neither ``y_pred`` nor ``proba_…`` columns.
    """
    from ..runs import OOF_CSV, RUN_JSON, read_run_info

    p = Path(path)
    if p.is_dir():
        if (p / RUN_JSON).exists():
            read_run_info(p)  # a damaged or newer run is refused in one line
        if not (p / OOF_CSV).exists():
            raise GeofaceError(
                f"{p} is a folder without oof_predictions.csv; give a predictions CSV "
                "('geoface predict') or a run directory"
            )
        p = p / OOF_CSV
    frame = _read_any(p, "predictions")
    if "y_pred" not in frame.columns and not _proba_columns(frame):
        raise GeofaceError(
            f"predictions {p} have neither a y_pred nor proba_<class> columns; give what "
            "'geoface predict' writes"
        )
    return frame


def read_truth(path: str | os.PathLike | Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Read the file(s) true labels and groups are joined from (CSV or Parquet, with ``id``).

    Several files (e.g. a manifest with the labels and an age-group table) are
    joined by ``id`` into one table; where two files share a column, the
    earlier file's value wins and the later one fills its gaps.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    joined = None
    for p in paths:
        frame = _read_any(Path(p), "--truth file")
        frame = frame.assign(id=frame["id"].astype(str)).set_index("id")
        joined = frame if joined is None else joined.combine_first(frame)
    if joined is None:
        raise GeofaceError("give at least one --truth file")
    return joined.reset_index()


def parse_relabel(spec: str | Sequence[str] | None) -> dict[str, str]:
    """``"angry=anger,afraid=fear"`` (or a list of such) → ``{"angry": "anger", …}``."""
    if not spec:
        return {}
    parts = [spec] if isinstance(spec, str) else list(spec)
    out: dict[str, str] = {}
    for item in (p.strip() for part in parts for p in part.split(",")):
        if not item:
            continue
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise GeofaceError(f"--relabel {item!r} is not OLD=NEW (e.g. angry=anger)")
        out[old.strip()] = new.strip()
    return out


def _proba_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith("proba_")]


def _proba_values(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The ``proba_`` columns as floats; text in them is an error naming the row."""
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    text = values.isna().to_numpy() & frame[columns].notna().to_numpy()
    if text.any():
        i, j = (int(k[0]) for k in np.nonzero(text))
        raise GeofaceError(
            f"{columns[j]} of row {frame['id'].iloc[i]!r} holds {frame[columns[j]].iloc[i]!r}, "
            f"not a number ({int(text.any(axis=1).sum())} row(s) in all); probabilities are "
            "numbers in [0, 1]"
        )
    return values.to_numpy(dtype=float)


def _check_probabilities(proba: np.ndarray, ids: np.ndarray, columns: Sequence[str], rows) -> None:
    """Refuse ``proba_`` values that are not probabilities, naming the rows.

    Parameters
    ----------
    proba : ndarray of shape (n_rows, n_classes)
    ids : ndarray of shape (n_rows,)
    columns : sequence of str
        The ``proba_<class>`` column names, in the order of ``proba``'s columns.
    rows : ndarray of bool, shape (n_rows,)
        The rows to check (those that may be scored). A row with no value at
        all has no prediction and is not checked.

    Raises
    ------
    GeofaceError
        A value outside [0, 1] (beyond :data:`PROBA_RANGE_TOLERANCE`), a row
        with some values missing, or a row whose values do not sum to 1
        (within :data:`PROBA_SUM_TOLERANCE`).
    """
    present = ~np.isnan(proba)
    checked = np.asarray(rows, dtype=bool) & present.any(axis=1)
    if not checked.any():
        return
    tol = PROBA_RANGE_TOLERANCE
    with np.errstate(invalid="ignore"):
        outside = (proba < -tol) | (proba > 1 + tol)
        sums = np.where(present, proba, 0.0).sum(axis=1)
    reasons: list[str] = []
    for i in np.flatnonzero(checked):
        if outside[i].any():
            j = int(np.flatnonzero(outside[i])[0])
            reasons.append(f"{ids[i]!r} ({columns[j]} = {proba[i, j]:g})")
        elif not present[i].all():
            j = int(np.flatnonzero(~present[i])[0])
            reasons.append(f"{ids[i]!r} ({columns[j]} is empty)")
        elif not abs(sums[i] - 1.0) <= PROBA_SUM_TOLERANCE:
            reasons.append(f"{ids[i]!r} (sum {sums[i]:.4g})")
    if reasons:
        shown = ", ".join(reasons[:5]) + (", …" if len(reasons) > 5 else "")
        raise GeofaceError(
            f"proba_ columns of {len(reasons)} row(s) are not probabilities: {shown}; each "
            f"value must lie in [0, 1] and each row sum to 1 (within {PROBA_SUM_TOLERANCE:g}) — "
            "give the probabilities 'geoface predict' writes, not scores or edited values"
        )


def _pick(column, truth, pred, *, flag, fallback=None):
    """The values of ``column`` for each prediction row and where they came from."""
    if truth is not None and column in truth.columns:
        if column in pred.columns:  # --truth wins where it has a value
            return truth[column].combine_first(pred[column]), "truth, else predictions"
        return truth[column], "truth"
    if column in pred.columns:
        return pred[column], "predictions"
    if fallback is not None and fallback in pred.columns:
        return pred[fallback], f"predictions ({fallback})"
    available = sorted(
        {str(c) for c in pred.columns if not str(c).startswith(("proba_", "tri_", "edge_"))}
        | (set() if truth is None else {str(c) for c in truth.columns if not _is_feature(c)})
    )
    where = "the predictions or --truth" if truth is not None else "the predictions"
    hint = "; join them with --truth FILE" if truth is None else ""
    extra = " (or --group id when every face is its own subject)" if flag == "--group" else ""
    raise GeofaceError(
        f"{flag} {column!r} is not a column of {where}; choose one of {available}{extra}{hint}"
    )


def _is_feature(col) -> bool:
    return str(col).startswith(("tri_", "edge_", "qc_", "x_", "y_"))


def evaluate_predictions(
    predictions: pd.DataFrame,
    *,
    by: Sequence[str],
    truth: pd.DataFrame | None = None,
    target: str = "label",
    group: str = "subject",
    unseen: str = "exclude",
    relabel: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    min_rows: int = 1,
) -> Evaluation:
    """Score predictions overall and per group of each ``by`` column.

    Parameters
    ----------
    predictions : DataFrame
        ``id`` and ``y_pred`` and/or ``proba_<class>`` columns (``y_pred`` is
        the most probable class when absent), optionally ``status`` (rows
        not ``ok`` are not scored) and any of the columns below.
    by : sequence of str
        Grouping columns (``age_group`` …).
    truth : DataFrame, optional
        Joined by ``id``; where it has a value, its columns take precedence
        over the predictions'.
        Prediction rows without a match get status ``no_truth``; rows of
        ``truth`` without a prediction are counted in ``info``.
    target : str, default="label"
        Column of true labels (a run's ``y_true`` when no such column exists).
    group : str, default="subject"
        Column of subjects for the bootstrap; ``"id"`` treats every face as
        its own subject. Rows with an empty subject are their own subject.
        Without a ``subject`` column, a frame table's ``video`` column is used.
    unseen : {"exclude", "count"}, default="exclude"
        Rows whose true class is not among the model's classes: left out
        with status ``unseen_class`` (``exclude``), or scored as errors
        (``count``: the class joins the vocabulary with probability 0; such
        rows have no log loss).
    relabel : mapping of str to str, optional
        Renames true labels first (``{"angry": "anger"}``), for datasets
        that name the model's classes differently.
    order : sequence of str, optional
        Groups to list first.
    n_boot, seed : int
        Subject-bootstrap replicates and seed.
    min_rows : int, default=1
        Groups with fewer scored rows get NaN metrics and a note.

    Returns
    -------
    Evaluation
    """
    if unseen not in UNSEEN_POLICIES:
        raise GeofaceError(f"unseen={unseen!r} is not one of {set(UNSEEN_POLICIES)}")
    by = list(dict.fromkeys(by))
    if not by:
        raise GeofaceError("give at least one grouping column with --by")
    if n_boot < 100:
        raise GeofaceError(f"bootstrap replicates must be ≥ 100 (got {n_boot})")
    pred = predictions.reset_index(drop=True).copy()
    pred["id"] = pred["id"].astype(str)
    ids = pred["id"].to_numpy()
    n = len(pred)
    info: dict = {"n_predictions": n, "target": target, "group": group, "by": by}

    matched = np.ones(n, dtype=bool)
    joined = None
    if truth is not None:
        truth = truth.copy()
        truth["id"] = truth["id"].astype(str)
        joined = truth.set_index("id").reindex(pd.Index(ids, name="id")).reset_index()
        matched = pd.Index(ids).isin(truth["id"])
        unused = truth.loc[~truth["id"].isin(pred["id"]), "id"]
        info["truth"] = {
            "n_rows": len(truth),
            "matched": int(matched.sum()),
            "predictions_without_truth": int((~matched).sum()),
            "predictions_without_truth_ids": ids[~matched][:20].tolist(),
            "truth_without_prediction": len(unused),
            "truth_without_prediction_ids": unused.head(20).tolist(),
        }

    # the model's classes and each row's prediction
    proba_cols = _proba_columns(pred)
    model_classes = [c[len("proba_") :] for c in proba_cols]
    proba = _proba_values(pred, proba_cols) if proba_cols else None
    if proba is not None:
        given_ok = (
            pred["status"].isna().to_numpy() | (pred["status"].astype(str) == "ok").to_numpy()
            if "status" in pred.columns
            else np.ones(n, dtype=bool)
        )
        _check_probabilities(proba, ids, proba_cols, given_ok)
    if "y_pred" in pred.columns:
        y_pred = label_strings(pred["y_pred"])
    else:  # the most probable class
        finite = np.isfinite(proba).all(axis=1)
        y_pred = np.full(n, None, dtype=object)
        y_pred[finite] = np.asarray(model_classes, dtype=object)[proba[finite].argmax(axis=1)]
    if not model_classes:
        model_classes = sorted({v for v in y_pred if v is not None})
    stray = sorted({v for v in y_pred if v is not None} - set(model_classes))
    if stray:
        raise GeofaceError(
            f"y_pred holds class(es) {stray} without a proba_ column; the predictions file "
            "was edited or mixes two models"
        )

    labels, label_source = _pick(target, joined, pred, flag="--target", fallback="y_true")
    y_true = label_strings(labels)
    if relabel:
        y_true = np.array([relabel.get(v, v) if v is not None else None for v in y_true], object)
    if group == "id":
        subjects, group_source = pd.Series(ids), "id"
    else:
        # frame tables without subjects: the frames of one video are one group
        fallback = "video" if group == "subject" else None
        subjects, group_source = _pick(group, joined, pred, flag="--group", fallback=fallback)
    subjects = label_strings(subjects)
    filled = pd.isna(subjects)
    subjects[filled] = ids[filled]
    by_values, by_source = {}, {}
    for col in by:
        values, by_source[col] = _pick(col, joined, pred, flag="--by")
        by_values[col] = label_strings(values)
    info["sources"] = {"target": label_source, "group": group_source, "by": by_source}
    info["subjects_filled_from_id"] = int(filled.sum())

    # status of each row, first reason wins
    status = np.full(n, "ok", dtype=object)
    if "status" in pred.columns:
        given = pred["status"].astype(str).to_numpy()
        bad = pred["status"].notna().to_numpy() & (given != "ok")
        status[bad] = given[bad]
    status[(status == "ok") & pd.isna(y_pred)] = "no_prediction"
    status[(status == "ok") & ~matched] = "no_truth"
    status[(status == "ok") & pd.isna(y_true)] = "missing_target"
    known = np.isin(y_true.astype(str), model_classes) | pd.isna(y_true)
    unseen_rows = (status == "ok") & ~known
    unseen_counts = pd.Series(y_true[unseen_rows]).value_counts()
    info["unseen_classes"] = {str(k): int(v) for k, v in unseen_counts.items()}
    info["unseen_policy"] = unseen
    if unseen == "exclude":
        status[unseen_rows] = "unseen_class"
    ok = status == "ok"
    if not ok.any():
        counts = pd.Series(status).value_counts().to_dict()
        raise GeofaceError(f"no prediction row can be scored ({counts}); see the statuses")

    classes = list(model_classes)
    if unseen == "count":
        classes += sorted(unseen_counts.index.astype(str))
    index = {c: i for i, c in enumerate(classes)}
    yt = np.array([index[v] for v in y_true[ok]], dtype=np.int64)
    yp = np.array([index[v] for v in y_pred[ok]], dtype=np.int64)
    P = None
    if proba is not None:
        P = np.zeros((int(ok.sum()), len(classes)))
        P[:, : len(model_classes)] = proba[ok]
        P[unseen_rows[ok]] = np.nan  # probability 0 for the true class: no log loss
    present = set(y_true[ok].astype(str))
    info["classes"] = classes
    info["model_classes"] = list(model_classes)
    info["classes_not_in_test"] = [c for c in model_classes if c not in present]
    info["status_counts"] = {str(k): int(v) for k, v in pd.Series(status).value_counts().items()}
    info["n_scored"] = int(ok.sum())
    info["relabel"] = dict(relabel or {})

    common = dict(n_boot=n_boot, seed=seed, order=order, min_rows=min_rows)
    by_group = {
        col: group_metrics(
            yt,
            yp,
            P,
            subjects[ok],
            by_values[col][ok],
            classes,
            column=col,
            excluded_by=by_values[col][~ok],
            **common,
        )
        for col in by
    }
    first = next(iter(by_group.values()))
    pooled = {k: _plain(v) for k, v in first.table.iloc[0].items() if k != first.column}
    point = classification_metrics(yt, yp, None, classes)
    overall = {
        **pooled,
        "per_class": point["per_class"],
        "confusion_matrix": point["confusion_matrix"],
    }
    rows = pd.DataFrame({"id": ids})
    if group != "id":
        rows[group] = subjects
    for col in by:
        if col not in rows.columns:
            rows[col] = by_values[col]
    rows["status"] = status
    rows["y_true"] = y_true
    rows["y_pred"] = y_pred
    return Evaluation(rows=rows, overall=overall, by_group=by_group, info=info)


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value
