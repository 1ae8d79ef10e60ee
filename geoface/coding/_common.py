"""What every coding-file reader shares: the events table, times, statuses, text and columns.

An events table has one row per event and the columns :data:`EVENT_COLUMNS`
(``video, onset_s, offset_s, label, subject, source_row, status, note``).
Statuses given from the times (see :data:`geoface.statuses.EVENT_STATUSES`):
``ok``, ``point_event`` (no duration) and ``bad_times`` (a time missing or not a
number, an offset before the onset).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..labels import normalise_label

__all__ = ["EVENT_COLUMNS", "complete_events", "parse_time"]

#: Columns of every events table, in this order.
EVENT_COLUMNS = ("video", "onset_s", "offset_s", "label", "subject", "source_row", "status", "note")

_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d+(?:[.,]\d*)?)\s*$")
_PLAIN = "video, onset_s, offset_s, label"
_MISSING = {"", "na", "nan", "n/a", "none", "null", "not found"}


def parse_time(value: object) -> float:
    """Seconds from ``12.5``, ``"12.5"``, ``"12,5"``, ``"00:00:12.500"`` or ``"0:12.5"``.

    Parameters
    ----------
    value : object
        A number, or text in seconds or in ``[hh:]mm:ss[.fff]``.

    Returns
    -------
    float
        The time in seconds; NaN when ``value`` is missing or not a time.
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if text.lower() in _MISSING:
        return float("nan")
    match = _CLOCK.match(text)
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    try:
        return (
            float(text.replace(",", "."))
            if text.count(",") == 1 and "." not in text
            else float(text)
        )
    except ValueError:
        return float("nan")


def _times(values) -> np.ndarray:
    return np.array([parse_time(v) for v in values], dtype=float)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Give each event its status from its times (``ok``, ``point_event``, ``bad_times``)."""
    onset = frame["onset_s"].to_numpy(dtype=float)
    offset = frame["offset_s"].to_numpy(dtype=float)
    status = frame["status"].to_numpy(dtype=object).copy()
    note = frame["note"].to_numpy(dtype=object).copy()
    pending = status == ""
    bad = pending & ~(np.isfinite(onset) & np.isfinite(offset))
    status[bad] = "bad_times"
    note[bad & (note == "")] = "onset or offset missing or not a number"
    backwards = pending & ~bad & (offset < onset)
    status[backwards] = "bad_times"
    note[backwards] = "offset before onset"
    point = pending & ~bad & (offset == onset)
    status[point] = "point_event"
    ok = pending & ~bad & ~backwards & ~point
    status[ok] = "ok"
    frame["status"] = status
    frame["note"] = note
    labels = frame["label"].to_numpy(dtype=object)
    frame["label"] = [normalise_label(v) if isinstance(v, str) else v for v in labels]
    return frame.loc[:, list(EVENT_COLUMNS)].reset_index(drop=True)


def complete_events(events: pd.DataFrame) -> pd.DataFrame:
    """An events table made by hand (``video, onset_s, offset_s, label``) with every column.

    Missing ``subject``, ``source_row`` (the row's position + 2, as in a CSV with a
    header) and ``note`` are filled; a missing ``status`` is given from the times
    (``ok``, ``point_event``, ``bad_times``). Tables from the readers pass unchanged.
    """
    missing = [c for c in ("video", "onset_s", "offset_s", "label") if c not in events.columns]
    if missing:
        raise GeofaceError(f"the events lack the column(s) {missing}")
    if all(c in events.columns for c in EVENT_COLUMNS):
        return events
    out = events.copy()
    out["onset_s"] = _times(out["onset_s"])
    out["offset_s"] = _times(out["offset_s"])
    defaults = {"subject": "", "source_row": np.arange(len(out)) + 2, "note": ""}
    for column, value in defaults.items():
        if column not in out.columns:
            out[column] = value
    extra = [c for c in out.columns if c not in EVENT_COLUMNS]
    if "status" in out.columns:
        return out.loc[:, [*EVENT_COLUMNS, *extra]]
    out["status"] = ""
    return pd.concat([_finish(out), out[extra].reset_index(drop=True)], axis=1)


def _events() -> dict[str, list]:
    return {c: [] for c in EVENT_COLUMNS}


def _text_of(path: Path) -> str:
    if not path.is_file():
        raise GeofaceError(f"coding file {path} does not exist (or is not a file)")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _delimiter(line: str) -> str:
    if "\t" in line:
        return "\t"
    return ";" if line.count(";") > line.count(",") else ","


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _norm(name: str) -> str:
    return " ".join(str(name).split()).lower()


def _column(header: list[str], *names: str) -> int | None:
    wanted = [_norm(n) for n in names]
    lowered = [_norm(h) for h in header]
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    return None


def _cell(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _append(ev, video, onset, offset, label, status="", note="") -> None:
    ev["video"].append(video)
    ev["onset_s"].append(onset)
    ev["offset_s"].append(offset)
    ev["label"].append(label)
    ev["status"].append(status)
    ev["note"].append(note)
