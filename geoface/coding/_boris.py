"""BORIS exports (tabular events, aggregated events) → an events table."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._common import (
    _MISSING,
    _append,
    _cell,
    _column,
    _delimiter,
    _events,
    _finish,
    _norm,
    _rows,
    _text_of,
    parse_time,
)

__all__ = ["read_boris"]

_BORIS_MEDIA = ("Media file name", "Media file path", "Media file")


def _boris_media(row: list[str], header: list[str]) -> str:
    """The video an event belongs to: the media file, else the source, else the observation."""
    for names in (_BORIS_MEDIA, ("Source",), ("Observation id",)):
        i = _column(header, *names)
        if i is None or i >= len(row):
            continue
        value = row[i].strip()
        if names == ("Source",):  # "player #1:/videos/a.mp4;/videos/b.mp4"
            value = re.sub(r"^player\s*#\d+\s*:\s*", "", value).split(";")[0].split("|")[0]
        if value.lower() not in _MISSING and value.lower() not in {"media file(s)", "live"}:
            return value
    return ""


def read_boris(path: str | os.PathLike) -> pd.DataFrame:
    """Read a BORIS export (tabular or aggregated events, CSV or TSV).

    *Tabular events* (Observations › Export events › Tabular events): one row
    per START, STOP or POINT, with the columns ``Observation id``, ``Media file
    name`` (``Media file path`` in older versions; else ``Source``), ``Subject``,
    ``Behavior``, ``Time`` and the status in ``Behavior type`` (``Status`` in
    older versions). STARTs and STOPs are paired in time order per observation,
    subject and behaviour. A ``Time offset (s)`` (BORIS adds the observation's
    offset to the media time) is subtracted, so that times are the video's own.
    *Aggregated events*: one row per event with ``Start
    (s)`` and ``Stop (s)`` (``Behavior type`` STATE or POINT). Header lines that
    older versions write above the table are skipped. A video is named by the
    media file, else the observation id.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame
        :data:`EVENT_COLUMNS`; a START never stopped or a STOP never started is
        ``bad_times``, a POINT is ``point_event``.
    """
    path = Path(path)
    text = _text_of(path)
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines[:200]):
        fields = [_norm(f) for f in next(csv.reader([line], delimiter=_delimiter(line)), [])]
        if "behavior" in fields and ("time" in fields or "start (s)" in fields):
            start = i
            break
    if start is None:
        raise GeofaceError(
            f"{path} is not a BORIS export: no header row with 'Behavior' and 'Time' (tabular "
            "events) or 'Start (s)' (aggregated events); export it from BORIS with "
            "Observations › Export events, or use --layout events"
        )
    delimiter = _delimiter(lines[start])
    rows = _rows("\n".join(lines[start:]), delimiter)
    header, body = rows[0], rows[1:]
    if _column(header, "Start (s)") is not None:
        return _boris_aggregated(header, body, start)
    return _boris_tabular(header, body, start)


def _offset(row: list[str], header: list[str]) -> float:
    """BORIS's observation time offset (event time = media time + offset); 0 when absent."""
    value = parse_time(_cell(row, _column(header, "Time offset (s)", "Time offset")))
    return value if np.isfinite(value) else 0.0


def _boris_aggregated(header, body, start) -> pd.DataFrame:
    ev = _events()
    i_beh, i_subj = _column(header, "Behavior"), _column(header, "Subject")
    i_on, i_off = _column(header, "Start (s)"), _column(header, "Stop (s)")
    i_type = _column(header, "Behavior type")
    for k, row in enumerate(body):
        if not any(c.strip() for c in row):
            continue
        shift = _offset(row, header)
        onset = parse_time(_cell(row, i_on)) - shift
        kind = _cell(row, i_type).upper()
        offset = onset if kind == "POINT" else parse_time(_cell(row, i_off)) - shift
        _append(ev, _boris_media(row, header), onset, offset, _cell(row, i_beh))
        ev["subject"].append(_cell(row, i_subj))
        ev["source_row"].append(start + 2 + k)
    return _finish(pd.DataFrame(ev))


def _boris_tabular(header, body, start) -> pd.DataFrame:
    i_obs = _column(header, "Observation id")
    i_beh, i_subj = _column(header, "Behavior"), _column(header, "Subject")
    i_time = _column(header, "Time")
    i_status = _column(header, "Status")
    if i_status is None:
        i_status = _column(header, "Behavior type")
    if i_status is None:
        raise GeofaceError(
            "the BORIS tabular export has no 'Behavior type' (or 'Status') column saying START, "
            "STOP or POINT; export the events again with BORIS"
        )
    ev = _events()
    open_: dict[tuple, list[int]] = {}
    records = []
    for k, row in enumerate(body):
        if not any(c.strip() for c in row):
            continue
        records.append((parse_time(_cell(row, i_time)) - _offset(row, header), k, row))
    # pair in time order (rows with no time keep their file order, at the end)
    records.sort(key=lambda r: (np.isnan(r[0]), r[0] if np.isfinite(r[0]) else 0.0, r[1]))
    for t, k, row in records:
        line = start + 2 + k
        kind = _cell(row, i_status).upper()
        video = _boris_media(row, header)
        key = (_cell(row, i_obs), _cell(row, i_subj), _cell(row, i_beh))
        label, subject = key[2], key[1]
        if kind == "POINT":
            _append(ev, video, t, t, label)
        elif kind == "START" and np.isfinite(t):
            _append(ev, video, t, np.nan, label)
            open_.setdefault(key, []).append(len(ev["video"]) - 1)
        elif kind == "STOP" and open_.get(key):
            j = open_[key].pop(0)
            ev["offset_s"][j] = t
            if not ev["video"][j]:
                ev["video"][j] = video
            continue  # the STOP closes the event its START opened
        elif kind == "STOP":
            _append(ev, video, np.nan, t, label, "bad_times", "a STOP with no START before it")
        elif kind == "START":
            _append(ev, video, np.nan, np.nan, label, "bad_times", "a START without a time")
        else:
            _append(
                ev, video, t, np.nan, label, "bad_times", f"status {kind!r} is not START/STOP/POINT"
            )
        ev["subject"].append(subject)
        ev["source_row"].append(line)
    for indices in open_.values():
        for j in indices:
            ev["status"][j] = "bad_times"
            ev["note"][j] = "a START never stopped"
    frame = pd.DataFrame(ev).sort_values("source_row", kind="stable")
    return _finish(frame)
