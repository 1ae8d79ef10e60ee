"""Writing the run directory every model writes, geometric or CNN, in one format.

A run directory holds ``metrics.json``, ``oof_predictions.csv`` (every row of
the input: ``id, fold, <group>, status, y_true, y_pred, proba_<class>…``),
``splits.csv``, ``run.json`` (command, versions, seed, timings, schema
version), ``figures/`` and the model files. ``compare``, ``fuse`` and
``explain`` read run directories only. This module holds what every writer
shares: :func:`write_run` (the staged folder and a :class:`RunWriter` that
names every file), the metrics summary, the out-of-fold table and the figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import default_mode, replace_directory, temp_sibling_dir
from ..metrics import chance_levels, classification_metrics, subject_bootstrap
from ._layout import (
    FIGURES_DIR,
    METRICS_JSON,
    MODEL_DIR,
    MODEL_JSON,
    OOF_CSV,
    RUN_JSON,
    SCHEMA_VERSION,
    SPLITS_CSV,
    check_output_dir,
)

__all__ = [
    "RunWriter",
    "fold_score_row",
    "keep_left_out",
    "oof_frame",
    "overfitting_summary",
    "run_header",
    "staged_directory",
    "summarise_predictions",
    "used_column",
    "versions",
    "write_figures",
    "write_json",
    "write_oof",
    "write_run",
]


def versions(*packages: str) -> dict[str, str]:
    """Versions of Python, geoface and the named packages (those installed)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"geoface": __version__, "python": platform.python_version()}
    for name in ("numpy", "pandas", "scikit-learn", *packages):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def run_header(command: Sequence[str] | None, *packages: str) -> dict:
    """The fields every ``run.json`` starts with: when, the exact command, versions, host."""
    import sys
    from datetime import datetime, timezone

    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(sys.argv if command is None else command),
        "versions": versions(*packages),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }


def fold_score_row(
    fold: int,
    y_train: np.ndarray,
    pred_train: np.ndarray,
    y_test: np.ndarray,
    pred_test: np.ndarray,
    n_classes: int,
    **extra,
) -> dict:
    """One fold's line of the overfitting report.

    ``train_*``, ``test_*`` and ``gap_*`` (train minus test) for accuracy,
    balanced accuracy and macro-F1, after ``fold``, ``n_train``, ``n_test`` and
    any ``extra`` fields.
    """
    from ..metrics import confusion_counts, scores_from_confusion

    tr = scores_from_confusion(confusion_counts(y_train, pred_train, n_classes))
    te = scores_from_confusion(confusion_counts(y_test, pred_test, n_classes))
    row = {"fold": int(fold), "n_train": len(y_train), "n_test": len(y_test), **extra}
    for name in tr:
        row[f"train_{name}"] = float(tr[name])
        row[f"test_{name}"] = float(te[name])
        row[f"gap_{name}"] = float(tr[name] - te[name])
    return row


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_json(path: str | os.PathLike, doc: dict) -> None:
    """Write ``doc`` as indented JSON (NumPy scalars and arrays converted)."""
    Path(path).write_text(json.dumps(doc, indent=1, default=_json_default) + "\n", "utf-8")


@contextlib.contextmanager
def staged_directory(out: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``out``; move it into place when the block succeeds.

    On any exception the temporary directory is removed and ``out`` is left
    as it was. An existing ``out`` is refused unless ``overwrite``, and even
    then unless it is empty or a folder geoface wrote (see
    :func:`check_output_dir`).
    """
    out = check_output_dir(out, overwrite=overwrite)
    tmp = temp_sibling_dir(out)
    try:
        yield tmp
        os.chmod(tmp, default_mode(directory=True))
        if out.exists():
            check_output_dir(out, overwrite=overwrite)
        replace_directory(tmp, out)  # the old folder or the new one, never neither
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class RunWriter:
    """The files of one run directory, written into its staging folder (see :func:`write_run`).

    Attributes
    ----------
    path : Path
        The staging folder (renamed to the run directory when the block ends).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def model_dir(self) -> Path:
        """The ``model/`` folder (created on first use)."""
        folder = self.path / MODEL_DIR
        folder.mkdir(exist_ok=True)
        return folder

    def metrics(self, doc: dict) -> None:
        """Write ``metrics.json``."""
        write_json(self.path / METRICS_JSON, doc)

    def oof(self, **columns) -> None:
        """Write ``oof_predictions.csv`` from its columns (see :func:`write_oof`)."""
        write_oof(self.path / OOF_CSV, **columns)

    def oof_table(self, frame: pd.DataFrame, **to_csv) -> None:
        """Write ``oof_predictions.csv`` from a finished table (one row per input row)."""
        frame.to_csv(self.path / OOF_CSV, index=False, **to_csv)

    def splits(self, splits) -> None:
        """Write the run's ``splits.csv`` (a :class:`geoface.splits.Splits`)."""
        splits.write(self.path / SPLITS_CSV)

    def figures(self, metrics: dict) -> list[Path]:
        """The confusion matrix, per-class F1 and overfitting figures in ``figures/``."""
        return write_figures(self.path / FIGURES_DIR, metrics)

    def model_json(self, doc: dict) -> None:
        """Write ``model/model.json``."""
        write_json(self.model_dir / MODEL_JSON, doc)

    def header(self, doc: dict) -> None:
        """Write ``run.json`` (``doc`` after :func:`run_header`) with the schema version."""
        write_json(self.path / RUN_JSON, {"schema_version": SCHEMA_VERSION, **doc})


@contextlib.contextmanager
def write_run(out: str | os.PathLike, *, overwrite: bool = False) -> Iterator[RunWriter]:
    """Stage a run directory: yield its :class:`RunWriter`, move it into place on success.

    ``out`` is checked by :func:`check_output_dir`; on any exception nothing
    is left behind and an existing ``out`` is kept as it was.
    """
    with staged_directory(out, overwrite=overwrite) as tmp:
        yield RunWriter(tmp)


def summarise_predictions(
    *,
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray,
    groups: np.ndarray,
    classes: Sequence[str],
    fold: np.ndarray,
    fold_scores: Sequence[dict],
    excluded: dict,
    model: str,
    target: str,
    group: str,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """The ``metrics.json`` of a run: scores, 95 % subject-bootstrap CIs, chance, overfitting.

    Parameters
    ----------
    y, pred : ndarray of int, shape (n,)
        True and predicted class indices of the rows that took part.
    proba : ndarray of shape (n, n_classes)
    groups : ndarray of shape (n,)
    classes : sequence of str
    fold : ndarray of int, shape (n,)
    fold_scores : sequence of dict
        Per fold: ``train_*``, ``test_*`` and ``gap_*`` scores (the overfitting report).
    excluded : dict
        Reason → number of input rows left out.
    model, target, group : str
    n_boot : int, default=2000
    seed : int, default=0

    Returns
    -------
    dict
    """
    k = len(classes)
    overall = classification_metrics(y, pred, proba, list(classes))
    ci = subject_bootstrap(y, pred, proba, groups, k, n_boot=n_boot, random_state=seed)
    return {
        "model": model,
        "target": target,
        "group": group,
        "classes": list(classes),
        "n_used": len(y),
        "n_groups": len(np.unique(groups)),
        "n_folds": len(np.unique(fold)),
        "excluded": dict(excluded),
        **{key: overall[key] for key in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss")},
        "ci95": ci,
        "chance": chance_levels(y, k),
        "per_class": overall["per_class"],
        "confusion_matrix": overall["confusion_matrix"],
        "overfitting": overfitting_summary(fold_scores),
    }


def oof_frame(
    *,
    ids: Sequence[str],
    status: Sequence[str],
    used: np.ndarray,
    fold: np.ndarray,
    groups: np.ndarray,
    group_col: str = "subject",
    extra: dict[str, Sequence] | None = None,
    row_groups: Sequence | None = None,
) -> pd.DataFrame:
    """The leading columns of every per-row prediction file: ``id, fold, <group>, [extra], status``.

    One row per input row; ``fold`` is empty where the row took no part
    (``used`` is False). ``groups`` holds the used rows' groups; ``row_groups``
    (every input row's group, missing where unknown) keeps the group of the
    rows left out too. ``extra`` maps column names to values for every input
    row (e.g. the ``--eval-by`` columns); they follow the group column.
    """
    n = len(ids)
    used = np.asarray(used, dtype=bool)
    out = pd.DataFrame({"id": pd.Series(ids, dtype=str).to_numpy()})
    out["fold"] = pd.array([pd.NA] * n, dtype="Int64")
    out.loc[used, "fold"] = np.asarray(fold)
    out[group_col] = keep_left_out(used_column(used, groups), used, row_groups)
    for name, column in (extra or {}).items():
        if name not in out.columns:
            out[name] = pd.Series(column, dtype="object").to_numpy()
    out["status"] = np.asarray(status, dtype=str)
    return out


def keep_left_out(column, used: np.ndarray, row_values, *, numeric: bool = False):
    """``column`` with the known ``row_values`` of the rows left out (``~used``) filled in.

    ``row_values`` (one per input row, missing where unknown) may be None:
    then ``column`` is returned as it is.
    """
    if row_values is None:
        return column
    values = pd.Series(row_values).reset_index(drop=True)
    fill = ~np.asarray(used, dtype=bool) & values.notna().to_numpy()
    column = np.array(column, dtype=float if numeric else object)
    if numeric:
        column[fill] = pd.to_numeric(values[fill], errors="coerce").to_numpy(dtype=float)
    else:
        column[fill] = values[fill].astype(str).to_numpy()
    return column


def used_column(used: np.ndarray, values, *, numeric: bool = False) -> np.ndarray | pd.Series:
    """A column over every input row holding ``values`` at the ``used`` rows, empty elsewhere."""
    used = np.asarray(used, dtype=bool)
    if numeric:
        column = np.full(len(used), np.nan)
        column[used] = values
        return column
    series = pd.Series(pd.NA, index=range(len(used)), dtype="object")
    series[used] = np.asarray(values, dtype=object)
    return series.to_numpy()


def overfitting_summary(fold_scores: Sequence[dict]) -> dict:
    """The ``overfitting`` entry of ``metrics.json``: each fold's row and the mean of its scores."""
    frame = pd.DataFrame(list(fold_scores))
    score_cols = [c for c in frame.columns if c.startswith(("train_", "test_", "gap_"))]
    return {
        "folds": list(fold_scores),
        "mean": {c: float(frame[c].mean()) for c in score_cols},
    }


def write_oof(
    path: str | os.PathLike,
    *,
    ids: Sequence[str],
    status: Sequence[str],
    used: np.ndarray,
    fold: np.ndarray,
    groups: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    group_col: str = "subject",
    extra: dict[str, Sequence] | None = None,
    row_groups: Sequence | None = None,
    row_labels: Sequence | None = None,
) -> None:
    """Write ``oof_predictions.csv``: one row per input row, empty where it took no part.

    ``extra`` maps column names to values for every input row (e.g. the
    ``--eval-by`` columns); they follow the group column. ``row_groups`` and
    ``row_labels`` (every input row's group and true label, missing where
    unknown) keep ``<group>`` and ``y_true`` of the rows left out.
    """
    out = oof_frame(
        ids=ids,
        status=status,
        used=used,
        fold=fold,
        groups=groups,
        group_col=group_col,
        extra=extra,
        row_groups=row_groups,
    )
    labels = np.asarray(classes, dtype=object)
    out["y_true"] = keep_left_out(used_column(used, labels[y]), used, row_labels)
    out["y_pred"] = used_column(used, labels[pred])
    for j, c in enumerate(classes):
        out[f"proba_{c}"] = used_column(used, proba[:, j], numeric=True)
    out.to_csv(path, index=False, float_format="%.6g")


def write_figures(folder: str | os.PathLike, metrics: dict) -> list[Path]:
    """Confusion matrix, per-class F1 with CIs and the overfitting bars (PDF + PNG)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_confusion_matrix, plot_overfitting, plot_per_class_f1, save_figure

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    ci = metrics["ci95"]["balanced_accuracy"]
    title = (
        f"{metrics['model']}: balanced accuracy {metrics['balanced_accuracy']:.3f} "
        f"[{ci['low']:.3f}, {ci['high']:.3f}]"
    )
    cm = metrics["confusion_matrix"]
    figs = {
        "confusion_matrix": plot_confusion_matrix(cm["counts"], cm["labels"], title=title),
        "per_class_f1": plot_per_class_f1(
            metrics["per_class"], intervals=metrics["ci95"]["f1_per_class"], title=title
        ),
        "overfitting": plot_overfitting(
            metrics["overfitting"]["folds"],
            chance=metrics["chance"]["uniform"]["balanced_accuracy"],
        ),
    }
    written = []
    for name, fig in figs.items():
        written += save_figure(fig, folder / name)
        plt.close(fig)
    return written
