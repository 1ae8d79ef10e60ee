"""Readers of coding files: BORIS and ELAN exports and a plain event CSV → one events table.

Every reader returns a :class:`pandas.DataFrame` with one row per event and the
columns :data:`EVENT_COLUMNS` (``video, onset_s, offset_s, label, subject,
source_row, status, note``). ``video`` is the name the file gives (a media file
name or path, an observation id); :func:`geoface.coding.resolve_events` matches
it to a frame table's videos. ``source_row`` is the line of the file the event
starts on (1-based, the header counted), so that a coder can find it.

Statuses given here (see :data:`geoface.statuses.EVENT_STATUSES`): ``ok``,
``point_event`` (no duration) and ``bad_times`` (a time missing or not a
number, an offset before the onset, a START never stopped, a STOP never
started). No row of a coding file is dropped.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._boris import read_boris
from ._common import _PLAIN, _delimiter, _finish, _text_of, _times
from ._elan import read_elan

__all__ = ["CODING_LAYOUTS", "read_coding", "read_events_csv"]

#: ``--layout`` of a coding file → what it reads.
CODING_LAYOUTS: dict[str, str] = {
    "boris": "a BORIS export: tabular events (Time, Behavior type/Status START·STOP·POINT) "
    "or aggregated events (Start (s), Stop (s)), CSV or TSV",
    "elan": "an ELAN tab-delimited text export (tier, [participant], begin, end, [duration], "
    "annotation; times in ss.msec, hh:mm:ss.ms or msec), with or without column headers",
    "events": "a plain CSV: video, onset_s, offset_s, label (subject optional)",
}


def read_events_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a plain event CSV with the columns ``video, onset_s, offset_s, label``.

    A ``subject`` column is kept when present; other columns are ignored. Times
    are seconds (or ``hh:mm:ss.ms``). Segment files written by
    :func:`geoface.coding.write_segments_csv` are read the same way.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame
        :data:`EVENT_COLUMNS`.
    """
    path = Path(path)
    text = _text_of(path)
    if not text.strip():
        raise GeofaceError(f"{path} is empty; a plain event CSV has the columns {_PLAIN}")
    first = text.splitlines()[0]
    frame = pd.read_csv(io.StringIO(text), sep=_delimiter(first), dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("video", "onset_s", "offset_s", "label") if c not in frame.columns]
    if missing:
        raise GeofaceError(
            f"{path} lacks the column(s) {missing}; a plain event CSV has the columns "
            f"{_PLAIN} (times in seconds)"
        )
    out = pd.DataFrame(
        {
            "video": frame["video"].str.strip(),
            "onset_s": _times(frame["onset_s"]),
            "offset_s": _times(frame["offset_s"]),
            "label": frame["label"],
            "subject": frame["subject"] if "subject" in frame.columns else "",
            "source_row": np.arange(len(frame)) + 2,
            "status": "",
            "note": "",
        }
    )
    return _finish(out)


def read_coding(
    path: str | os.PathLike,
    layout: str,
    *,
    tier: str | None = None,
    video: str | None = None,
) -> pd.DataFrame:
    """Read one coding file, or every coding file in a folder, as laid out by ``layout``.

    Parameters
    ----------
    path : path-like
        A file, or a folder whose ``.csv``, ``.tsv`` and ``.txt`` files are all read
        (for ELAN, each file's name names its video).
    layout : {"boris", "elan", "events"}
        See :data:`CODING_LAYOUTS`.
    tier : str, optional
        ELAN: the tier to read.
    video : str, optional
        ELAN: the video of a single file (default: the file's name).

    Returns
    -------
    DataFrame
        :data:`EVENT_COLUMNS`, plus ``source_file`` when a folder was read.
    """
    if layout not in CODING_LAYOUTS:
        raise GeofaceError(f"layout={layout!r} is not one of {sorted(CODING_LAYOUTS)}")
    if layout != "elan" and tier is not None:
        raise GeofaceError(f"--tier applies to --layout elan only, not {layout}")
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in {".csv", ".tsv", ".txt"}
        )
        if not files:
            raise GeofaceError(f"{path} holds no .csv, .tsv or .txt coding file")
        parts = []
        for f in files:
            one = read_coding(f, layout, tier=tier, video=None)
            one["source_file"] = str(f.relative_to(path))
            parts.append(one)
        return pd.concat(parts, ignore_index=True)
    if layout == "boris":
        return read_boris(path)
    if layout == "elan":
        return read_elan(path, tier=tier, video=video)
    return read_events_csv(path)
