"""Reading the training targets from the input table: ages, and Action-Unit columns."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geoface import GeofaceError

__all__ = ["TASKS", "age_unit_of", "age_values", "aux_matrix", "parse_aux_targets"]

#: What the main head learns: the class of each face, or its age.
TASKS = ("classification", "age")
_AU_NAME = re.compile(r"^au[_ ]?\d", re.IGNORECASE)
_TRUE = {"1", "1.0", "true", "yes", "present"}
_FALSE = {"0", "0.0", "false", "no", "absent"}


def age_unit_of(target: str, unit: str | None = None) -> str:
    """``months`` when the target's name says so (``age_months``), else ``years``."""
    if unit is not None:
        if unit not in {"years", "months"}:
            raise GeofaceError(f"age unit {unit!r} is not one of {{'years', 'months'}}")
        return unit
    return "months" if "month" in target.lower() else "years"


def age_values(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The ages in column ``target`` as floats (NaN where blank).

    Raises
    ------
    GeofaceError
        When the column is missing, or holds text that is not a number, or a
        negative or infinite age.
    """
    if target not in frame.columns:
        raise GeofaceError(
            f"the input has no {target!r} column for --target; --task age needs a numeric "
            f"age column (columns: {', '.join(map(str, frame.columns[:12]))}, …)"
        )
    raw = frame[target]
    values = np.array(pd.to_numeric(raw, errors="coerce"), dtype=float)
    text = raw.astype(str).str.strip()
    blank = raw.isna().to_numpy() | (text == "").to_numpy()
    bad = (~np.isfinite(values) & ~blank) | (np.isfinite(values) & (values < 0))
    if bad.any():
        examples = list(dict.fromkeys(text[bad].tolist()))[:3]
        what = "not a number" if bad.sum() == (~blank).sum() else "not valid ages"
        raise GeofaceError(
            f"--task age needs a numeric, non-negative age column, but {int(bad.sum())} value(s) "
            f"of {target!r} are {what} (e.g. {examples}); choose an age column with "
            "--target (e.g. age_years) or blank the bad values"
        )
    values[blank] = np.nan
    return values


def _is_binary(column: pd.Series) -> bool:
    text = column.dropna().astype(str).str.strip().str.lower()
    text = text[~text.isin({"", "nan", "na", "none"})]
    return bool(len(text)) and bool(text.isin(_TRUE | _FALSE).all())


def parse_aux_targets(spec: str | Sequence[str] | None, frame: pd.DataFrame) -> list[str]:
    """Auxiliary target columns of ``frame`` from ``"AU1,AU2"``.

    ``"all"`` takes every Action-Unit column (a name like ``AU12``, ``AU_12``,
    ``AU12_c``) whose values are all 0/1 or blank; intensity columns
    (``AU12_r``, 0–5) are skipped.
    """
    if spec is None:
        return []
    columns = [str(c) for c in frame.columns]
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    au_columns = [c for c in columns if _AU_NAME.match(c)]
    if names == ["all"]:
        binary = [c for c in au_columns if _is_binary(frame[c])]
        if not binary:
            raise GeofaceError(
                "--aux-targets all: the input has no binary Action-Unit columns (names like "
                f"AU1, AU12_c holding 0/1; found: {', '.join(au_columns) or 'none'})"
            )
        return binary
    unknown = [n for n in names if n not in columns]
    if unknown:
        available = ", ".join(au_columns) if au_columns else "none"
        raise GeofaceError(
            f"--aux-targets: no column(s) {unknown} in the input; Action-Unit columns "
            f"available: {available}"
        )
    if len(set(names)) != len(names):
        raise GeofaceError(f"--aux-targets names a column twice: {names}")
    if not names:
        raise GeofaceError("--aux-targets is empty; name columns, e.g. AU1,AU12")
    return names


def aux_matrix(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The auxiliary binary targets, shape (n_rows, n_targets): 0, 1 or NaN (missing).

    Accepts 0/1 numbers and the words true/false, yes/no, present/absent.

    Raises
    ------
    GeofaceError
        For any other value (e.g. an intensity 0–5), naming the column.
    """
    out = np.full((len(frame), len(names)), np.nan)
    for j, name in enumerate(names):
        text = frame[name].astype(str).str.strip().str.lower()
        missing = frame[name].isna().to_numpy() | text.isin({"", "nan", "na", "none"}).to_numpy()
        pos = text.isin(_TRUE).to_numpy() & ~missing
        neg = text.isin(_FALSE).to_numpy() & ~missing
        bad = ~(pos | neg | missing)
        if bad.any():
            examples = list(dict.fromkeys(frame[name][bad].astype(str).tolist()))[:3]
            raise GeofaceError(
                f"auxiliary target {name!r} must be 0/1 (present/absent) or blank, but holds "
                f"{examples}; binarise it first (e.g. intensity ≥ 1 → 1)"
            )
        out[pos, j] = 1.0
        out[neg, j] = 0.0
    return out
