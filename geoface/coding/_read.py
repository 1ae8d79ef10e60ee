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

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..labels import normalise_label

__all__ = [
    "CODING_LAYOUTS",
    "EVENT_COLUMNS",
    "complete_events",
    "parse_time",
    "read_boris",
    "read_coding",
    "read_elan",
    "read_events_csv",
]

#: Columns of every events table, in this order.
EVENT_COLUMNS = ("video", "onset_s", "offset_s", "label", "subject", "source_row", "status", "note")

#: ``--layout`` of a coding file → what it reads.
CODING_LAYOUTS: dict[str, str] = {
    "boris": "a BORIS export: tabular events (Time, Behavior type/Status START·STOP·POINT) "
    "or aggregated events (Start (s), Stop (s)), CSV or TSV",
    "elan": "an ELAN tab-delimited text export (tier, [participant], begin, end, [duration], "
    "annotation; times in ss.msec, hh:mm:ss.ms or msec), with or without column headers",
    "events": "a plain CSV: video, onset_s, offset_s, label (subject optional)",
}

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


# --------------------------------------------------------------------------------- BORIS
_BORIS_MEDIA = ("Media file name", "Media file path", "Media file")


def _norm(name: str) -> str:
    return " ".join(str(name).split()).lower()


def _column(header: list[str], *names: str) -> int | None:
    wanted = [_norm(n) for n in names]
    lowered = [_norm(h) for h in header]
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    return None


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


def _cell(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


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


def _append(ev, video, onset, offset, label, status="", note="") -> None:
    ev["video"].append(video)
    ev["onset_s"].append(onset)
    ev["offset_s"].append(offset)
    ev["label"].append(label)
    ev["status"].append(status)
    ev["note"].append(note)


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


# ---------------------------------------------------------------------------------- ELAN
def _is_time(text: str) -> bool:
    text = text.strip()
    if not text:
        return False
    return bool(_CLOCK.match(text)) or bool(re.fullmatch(r"-?\d+(?:\.\d*)?", text))


def _elan_time(text: str) -> float:
    """ELAN writes ``ss.msec`` with a decimal point and ``msec`` as a whole number."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text) / 1000.0
    return parse_time(text)


def read_elan(
    path: str | os.PathLike, *, tier: str | None = None, video: str | None = None
) -> pd.DataFrame:
    """Read an ELAN tab-delimited text export (File › Export As › Tab-delimited Text).

    Two variants are read:

    * **without column headers** (ELAN's default): each line is ``tier,
      [participant], begin, end, [duration], annotation``; the times are in
      ``hh:mm:ss.ms``, ``ss.msec`` (``1.250``) or ``msec`` (a whole number,
      ``1250``); where several time formats were ticked, the first of each group
      (begin, end) is used. SMPTE time codes (``hh:mm:ss:ff``) are not read.
    * **with column headers**: ``Tier`` (or the first column), ``Begin Time -
      ss.msec`` / ``Begin Time - hh:mm:ss.ms`` (``msec`` is divided by 1000),
      the matching ``End Time - …`` and ``Annotation`` (or the last column).

    The export names no media file, so the video is ``video`` (default: the
    file's name without extension).

    Parameters
    ----------
    path : path-like
    tier : str, optional
        The tier whose annotations are the events (``--tier``). Required when
        the file holds several tiers.
    video : str, optional
        The video the annotations belong to.

    Returns
    -------
    DataFrame
        :data:`EVENT_COLUMNS`; ``subject`` is the participant where given.
    """
    path = Path(path)
    lines = [ln for ln in _text_of(path).splitlines()]
    rows = [r for r in _rows("\n".join(lines), "\t")]
    video = video if video is not None else path.stem
    first = [_norm(c) for c in rows[0]] if rows else []
    has_header = any(c.startswith("begin time") for c in first)
    tiers, parsed = [], []
    if has_header:
        header = rows[0]
        i_tier = _column(header, "Tier")
        i_tier = 0 if i_tier is None else i_tier
        i_part = _column(header, "Participant")
        i_ann = _column(header, "Annotation")
        i_ann = len(header) - 1 if i_ann is None else i_ann
        begin, end, scale = None, None, 1.0
        for fmt, factor in (("ss.msec", 1.0), ("hh:mm:ss.ms", 1.0), ("msec", 1e-3)):
            b = _column(header, f"Begin Time - {fmt}")
            e = _column(header, f"End Time - {fmt}")
            if b is not None and e is not None:
                begin, end, scale = b, e, factor
                break
        if begin is None:
            raise GeofaceError(
                f"{path}: the ELAN export has no pair of 'Begin Time - …' and 'End Time - …' "
                "columns in ss.msec, hh:mm:ss.ms or msec; export again with one of these"
            )
        for k, row in enumerate(rows[1:]):
            if not any(c.strip() for c in row):
                continue
            on, off = parse_time(_cell(row, begin)), parse_time(_cell(row, end))
            parsed.append(
                (
                    _cell(row, i_tier),
                    _cell(row, i_part),
                    on * scale,
                    off * scale,
                    _cell(row, i_ann),
                    k + 2,
                )
            )
    else:
        for k, row in enumerate(rows):
            if not any(c.strip() for c in row):
                continue
            tier_name, annotation = row[0].strip(), row[-1].strip() if len(row) > 1 else ""
            middle = row[1:-1]
            times = [c for c in middle if _is_time(c)]
            others = [c.strip() for c in middle if c.strip() and not _is_time(c)]
            if len(times) % 3 == 0 and times:
                group = len(times) // 3
            elif len(times) % 2 == 0 and times:
                group = len(times) // 2
            else:
                group = 0
            if group:
                on, off = _elan_time(times[0]), _elan_time(times[group])
            else:
                on = off = float("nan")
            parsed.append((tier_name, others[0] if others else "", on, off, annotation, k + 1))
    tiers = sorted({p[0] for p in parsed})
    if tier is None:
        if len(tiers) > 1:
            raise GeofaceError(
                f"{path} holds {len(tiers)} tiers ({', '.join(map(repr, tiers[:8]))}); "
                "choose the one whose annotations are the events with --tier"
            )
        chosen = tiers[0] if tiers else None
    else:
        if tier not in tiers:
            raise GeofaceError(
                f"tier {tier!r} is not in {path}; its tiers are {', '.join(map(repr, tiers))}"
            )
        chosen = tier
    ev = _events()
    for tier_name, part, on, off, annotation, line in parsed:
        if tier_name != chosen:
            continue
        _append(ev, video, on, off, annotation)
        ev["subject"].append(part)
        ev["source_row"].append(line)
    return _finish(pd.DataFrame(ev))


# ----------------------------------------------------------------------------- plain CSV
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
