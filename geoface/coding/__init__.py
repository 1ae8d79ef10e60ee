"""Behavioural coding files and the frames of videos: labels in, segments out, agreement.

* Readers (:func:`read_coding`, :func:`read_boris`, :func:`read_elan`,
  :func:`read_events_csv`): a BORIS export, an ELAN tab-delimited export or a plain
  event CSV → one events table ``video, onset_s, offset_s, label, subject,
  source_row, status, note`` (:data:`EVENT_COLUMNS`).
* :func:`resolve_events` and :func:`label_frames`: events matched to a frame table's
  videos, and each frame labelled by the event that contains it (``onset ≤ t <
  offset``), with a status for every event and every frame.
* :func:`segments_from_proba`: per-frame class probabilities → segments (onset,
  offset, class, peak probability, duration), optionally smoothed.
* Writers (:func:`write_segments` for any of :data:`SEGMENT_FORMATS`,
  :func:`write_segments_boris`, :func:`write_segments_elan`, :func:`write_segments_csv`):
  segments as files BORIS and ELAN open.
* :func:`event_agreement` and :func:`frame_agreement`: predicted segments against
  coded events (onset tolerance, one-to-one matches) and frame labels.

Statuses: :data:`geoface.statuses.EVENT_STATUSES`.
"""

from ..statuses import EVENT_STATUSES
from ._agreement import AGREEMENT_COLUMNS, event_agreement, frame_agreement
from ._boris import read_boris
from ._common import EVENT_COLUMNS, complete_events, parse_time
from ._elan import read_elan
from ._label import label_frames, resolve_events
from ._read import CODING_LAYOUTS, read_coding, read_events_csv
from ._segments import SEGMENT_COLUMNS, SMOOTHERS, segments_from_proba
from ._write import (
    BORIS_COLUMNS,
    ELAN_COLUMNS,
    SEGMENT_FORMATS,
    write_segments,
    write_segments_boris,
    write_segments_csv,
    write_segments_elan,
)

__all__ = [
    "AGREEMENT_COLUMNS",
    "BORIS_COLUMNS",
    "CODING_LAYOUTS",
    "ELAN_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_STATUSES",
    "SEGMENT_COLUMNS",
    "SEGMENT_FORMATS",
    "SMOOTHERS",
    "complete_events",
    "event_agreement",
    "frame_agreement",
    "label_frames",
    "parse_time",
    "read_boris",
    "read_coding",
    "read_elan",
    "read_events_csv",
    "resolve_events",
    "segments_from_proba",
    "write_segments",
    "write_segments_boris",
    "write_segments_csv",
    "write_segments_elan",
]
