"""``--layout csv``: any CSV listing images, with the user naming its columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._files import apply_label
from ._labels import LabelMap
from ._manifest import BASE_COLUMNS, Manifest, age_group, make_frame, unique_ids

__all__ = ["parse_csv"]


def _landmark_columns(spec: str, columns: list[str]) -> tuple[list[str], list[str]]:
    """``'original_{i}_x,original_{i}_y'`` → the 68 x and the 68 y column names."""
    parts = [s.strip() for s in spec.split(",")]
    if len(parts) != 2 or not all("{i}" in s for s in parts):
        raise GeofaceError(
            f"--landmark-columns {spec!r} must be two patterns with {{i}}, e.g. "
            "'original_{i}_x,original_{i}_y'"
        )
    xs = [parts[0].replace("{i}", str(i)) for i in range(68)]
    ys = [parts[1].replace("{i}", str(i)) for i in range(68)]
    missing = [c for c in xs + ys if c not in columns]
    if missing:
        raise GeofaceError(
            f"--landmark-columns: the CSV lacks {missing[:3]} ({len(missing)} of 136 missing)"
        )
    return xs, ys


def parse_csv(
    source,
    *,
    labels: LabelMap,
    dataset: str = "",
    path_col: str = "path",
    label_col: str | None = "label",
    subject_col: str | None = "subject",
    id_col: str | None = None,
    age_col: str | None = None,
    age_unit: str = "months",
    sex_col: str | None = None,
    image_root: str | os.PathLike | None = None,
    landmark_columns: str | None = None,
) -> Manifest:
    """Read a CSV that lists one image per row, under column names the user gives.

    Parameters
    ----------
    source : path-like
        The CSV file.
    labels : LabelMap
        Maps the label column's values.
    dataset : str, default=""
    path_col : str, default="path"
        Image paths, relative to ``image_root`` (default: the CSV's folder) or absolute.
    label_col, subject_col, id_col, sex_col : str, optional
        Columns for label, subject, id (default: the path without extension)
        and sex. ``label_col``/``subject_col`` are ignored when absent from
        the CSV and left at their defaults.
    age_col : str, optional
        Ages, in ``age_unit``; written as ``age_months`` and ``age_group``.
    age_unit : {"months", "years"}, default="months"
    image_root : path-like, optional
    landmark_columns : str, optional
        Two patterns naming 68 landmark columns each (``'x_{i},y_{i}'``,
        ``'original_{i}_x,original_{i}_y'``): the points are written as a
        landmark CSV beside the manifest.

    Returns
    -------
    Manifest
        Every other column of the CSV is carried through unchanged.
    """
    p = Path(source)
    if not p.exists():
        raise GeofaceError(f"{p} does not exist; --layout csv reads a CSV file")
    if p.is_dir():
        raise GeofaceError(f"{p} is a folder; --layout csv reads one CSV file listing the images")
    if age_unit not in ("months", "years"):
        raise GeofaceError(f"--age-unit {age_unit!r} is not one of 'months', 'years'")
    try:
        table = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GeofaceError(f"cannot parse {p} as CSV: {msg}") from None
    table.columns = [str(c).strip() for c in table.columns]
    columns = list(table.columns)
    given = {
        "--path-col": path_col,
        "--id-col": id_col,
        "--age-col": age_col,
        "--sex-col": sex_col,
    }
    for flag, col in given.items():
        if col is not None and col not in columns:
            raise GeofaceError(f"{flag} {col!r} is not a column of {p.name}; it has {columns}")
    if table.empty:
        raise GeofaceError(f"no images found: {p} has no rows")
    label_col = label_col if label_col in columns else None
    subject_col = subject_col if subject_col in columns else None
    root = Path(image_root) if image_root is not None else p.parent
    lm_cols = _landmark_columns(landmark_columns, columns) if landmark_columns else None
    used = {c for c in (path_col, label_col, subject_col, id_col, age_col, sex_col) if c}
    if lm_cols:
        used |= set(lm_cols[0]) | set(lm_cols[1])
    carried = [c for c in columns if c not in used and c not in BASE_COLUMNS]
    rows = []
    for i, rec in enumerate(table.to_dict("records")):
        rel = rec[path_col].strip().replace("\\", "/")
        full = Path(rel) if Path(rel).is_absolute() else root / rel
        own_id = rec[id_col].strip() if id_col else ""
        row = {
            "id": own_id or (Path(rel).with_suffix("").as_posix() if rel else f"row_{i}"),
            "path": str(full) if rel else None,
            "subject": (rec[subject_col].strip() or None) if subject_col else None,
            "status": "",
            "note": "",
            "dataset": dataset,
        }
        if sex_col:
            row["sex"] = rec[sex_col].strip() or None
        if age_col:
            value = pd.to_numeric(rec[age_col], errors="coerce")
            months = None if pd.isna(value) else float(value) * (12 if age_unit == "years" else 1)
            row["age_months"] = months
            row["age_group"] = age_group(months)
        for c in carried:
            row[c] = rec[c]
        if not rel:
            row.update(status="unparsed", note=f"empty {path_col!r} on line {i + 2}")
        elif not full.is_file():
            row.update(status="missing_file", note=f"no file {rel} under {root}")
        if label_col:
            apply_label(row, rec[label_col], labels)
        elif row["status"] == "":
            row.update(status="unlabelled", label=None, source_label=None)
        rows.append(row)
    frame = make_frame(rows, extra=["sex", "age_months", "age_group"] if age_col else None)
    frame["id"] = unique_ids(list(frame["id"]))
    landmarks = None
    if lm_cols:
        xs = table[lm_cols[0]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        ys = table[lm_cols[1]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        landmarks = np.stack([xs, ys], axis=-1)
    info = {
        "columns": {"path": path_col, "label": label_col, "subject": subject_col},
        "carried": carried,
        "image_root": str(root),
    }
    if subject_col is None:
        info["messages"] = [
            "note: no subject column (--subject-col); 'geoface split' needs a subject per face"
        ]
    return Manifest(
        frame=frame, layout="csv", source=p, labels=labels, landmarks=landmarks, info=info
    )
