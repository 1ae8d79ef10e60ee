"""ELAN tab-delimited text exports → an events table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from .._errors import GeofaceError
from ._common import (
    _CLOCK,
    _append,
    _cell,
    _column,
    _events,
    _finish,
    _norm,
    _rows,
    _text_of,
    parse_time,
)

__all__ = ["read_elan"]


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
