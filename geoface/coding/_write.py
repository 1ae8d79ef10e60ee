"""Segments written as files coders open in their own tools: BORIS, ELAN, plain CSV.

* :func:`write_segments_boris`: the layout of BORIS's *tabular events*
  export — one START and one STOP row per segment with ``Observation id``,
  ``Media file name``, ``Subject``, ``Behavior``, ``Behavioral category``,
  ``Behavior type`` and ``Time`` (seconds); comma-separated, or tab-separated
  for a ``.tsv`` path. :func:`geoface.coding.read_boris` reads it back.
* :func:`write_segments_elan`: tab-delimited text for ELAN's *Import › CSV /
  Tab-delimited Text*: a header row, then ``Tier``, ``Begin Time - ss.msec``,
  ``End Time - ss.msec``, ``Duration - ss.msec``, ``Annotation`` per segment (tick
  "first row contains headers" and the column types in the import dialog). One
  file per video: ELAN annotates one media file at a time.
* :func:`write_segments_csv`: ``video, track_id, onset_s, offset_s, label,
  peak_proba, duration_s, n_frames`` — read back by
  :func:`geoface.coding.read_events_csv`.

Every file is written atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._errors import GeofaceError
from ._segments import SEGMENT_COLUMNS

__all__ = [
    "BORIS_COLUMNS",
    "ELAN_COLUMNS",
    "SEGMENT_FORMATS",
    "write_segments",
    "write_segments_boris",
    "write_segments_csv",
    "write_segments_elan",
]

#: Columns of the BORIS file (the names of BORIS's tabular events export).
BORIS_COLUMNS = (
    "Observation id",
    "Media file name",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Behavior type",
    "Time",
    "Comment",
)
#: Columns of the ELAN file (the names ELAN's own tab-delimited export uses).
ELAN_COLUMNS = (
    "Tier",
    "Begin Time - ss.msec",
    "End Time - ss.msec",
    "Duration - ss.msec",
    "Annotation",
)


#: ``format=`` of :func:`write_segments` → what it writes.
SEGMENT_FORMATS: dict[str, str] = {
    "csv": "plain CSV: video, track_id, onset_s, offset_s, label, peak_proba, duration_s, n_frames",
    "boris": "BORIS tabular-events layout (START/STOP rows); .tsv for tab-separated",
    "elan": "tab-delimited text for ELAN's import; several videos: a folder, one file per video",
}


def write_segments(
    segments: pd.DataFrame, path: str | os.PathLike, format: str = "csv"
) -> list[Path]:
    """Write segments in one of :data:`SEGMENT_FORMATS`; return the files written.

    For ``"elan"`` with segments of several videos, ``path`` is a folder that
    receives one ``<video id>.txt`` per video (``/`` in the id written as ``__``).

    Parameters
    ----------
    segments : DataFrame
        From :func:`geoface.coding.segments_from_proba`.
    path : path-like
    format : {"csv", "boris", "elan"}

    Returns
    -------
    list of Path
    """
    if format not in SEGMENT_FORMATS:
        raise GeofaceError(f"format={format!r} is not one of {sorted(SEGMENT_FORMATS)}")
    if format == "csv":
        return [write_segments_csv(segments, path)]
    if format == "boris":
        return [write_segments_boris(segments, path)]
    seg = _check(segments)
    videos = sorted(seg["video"].astype(str).unique())
    if len(videos) <= 1:
        return [write_segments_elan(seg, path)]
    folder = Path(path)
    if folder.suffix:
        raise GeofaceError(
            f"the segments hold {len(videos)} videos and ELAN takes one file per video: give "
            f"a folder (no extension) instead of {folder}"
        )
    return [
        write_segments_elan(seg, folder / (v.replace("/", "__") + ".txt"), video=v) for v in videos
    ]


def _check(segments: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("video", "onset_s", "offset_s", "label") if c not in segments.columns]
    if missing:
        raise GeofaceError(
            f"the segments lack the column(s) {missing}; make them with segments_from_proba"
        )
    out = segments.copy()
    if "track_id" not in out.columns:
        out["track_id"] = 0
    return out


def _subjects(segments: pd.DataFrame) -> np.ndarray:
    """``track <id>`` where a video has several tracks, else empty (one face, no subject)."""
    tracks = segments.groupby("video")["track_id"].transform("nunique")
    return np.where(tracks > 1, "track " + segments["track_id"].astype(str), "")


def write_segments_boris(
    segments: pd.DataFrame,
    path: str | os.PathLike,
    *,
    media: dict[str, str] | None = None,
    category: str = "geoface",
) -> Path:
    """Write segments in the layout of a BORIS tabular events export.

    Parameters
    ----------
    segments : DataFrame
        From :func:`geoface.coding.segments_from_proba` (``video, track_id,
        onset_s, offset_s, label``, optional ``peak_proba``).
    path : path-like
        ``.tsv`` for tab-separated, anything else comma-separated.
    media : dict, optional
        Video id → media file name to write (default: the video id).
    category : str
        The ``Behavioral category`` column.

    Returns
    -------
    Path
    """
    seg = _check(segments)
    subject = _subjects(seg)
    media = media or {}
    names = seg["video"].astype(str).map(lambda v: media.get(v, v))
    comment = (
        seg["peak_proba"].map(lambda x: f"peak probability {x:.3f}")
        if "peak_proba" in seg.columns
        else ""
    )
    base = pd.DataFrame(
        {
            "Observation id": seg["video"].astype(str).to_numpy(),
            "Media file name": names.to_numpy(),
            "Subject": subject,
            "Behavior": seg["label"].astype(str).to_numpy(),
            "Behavioral category": category,
            "Comment": np.asarray(comment, dtype=object) if len(seg) else [],
        }
    )
    start = base.assign(**{"Behavior type": "START", "Time": seg["onset_s"].to_numpy()})
    stop = base.assign(**{"Behavior type": "STOP", "Time": seg["offset_s"].to_numpy()})
    rows = pd.concat([start, stop], ignore_index=True)
    # at one instant a STOP comes before the START of the next segment
    rows["_order"] = np.where(rows["Behavior type"] == "STOP", 0, 1)
    rows = rows.sort_values(["Observation id", "Time", "_order"], kind="stable")
    rows = rows.loc[:, list(BORIS_COLUMNS)]
    path = Path(path)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False, sep=sep, float_format="%.6f")
    return path


def write_segments_elan(
    segments: pd.DataFrame,
    path: str | os.PathLike,
    *,
    video: str | None = None,
    tier: str = "geoface",
) -> Path:
    """Write one video's segments as tab-delimited text for ELAN's import.

    Parameters
    ----------
    segments : DataFrame
        From :func:`geoface.coding.segments_from_proba`.
    path : path-like
    video : str, optional
        The video to write; required when ``segments`` holds several.
    tier : str
        Tier name (``"<tier> track <id>"`` where the video has several tracks).

    Returns
    -------
    Path
    """
    seg = _check(segments)
    videos = sorted(seg["video"].astype(str).unique())
    if video is None:
        if len(videos) > 1:
            raise GeofaceError(
                f"the segments hold {len(videos)} videos; ELAN annotates one media file at a "
                "time: write each with video=…"
            )
    else:
        seg = seg[seg["video"].astype(str) == str(video)]
    subject = _subjects(seg)
    tiers = np.where(subject == "", tier, np.char.add(f"{tier} ", subject.astype(str)))
    out = pd.DataFrame(
        {
            "Tier": tiers,
            "Begin Time - ss.msec": seg["onset_s"].to_numpy(dtype=float),
            "End Time - ss.msec": seg["offset_s"].to_numpy(dtype=float),
            "Duration - ss.msec": (seg["offset_s"] - seg["onset_s"]).to_numpy(dtype=float),
            "Annotation": seg["label"].astype(str).to_numpy(),
        }
    ).sort_values(["Tier", "Begin Time - ss.msec"], kind="stable")
    path = Path(path)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, sep="\t", float_format="%.6f")
    return path


def write_segments_csv(segments: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write segments as a plain CSV (:data:`geoface.coding.SEGMENT_COLUMNS`).

    Parameters
    ----------
    segments : DataFrame
    path : path-like

    Returns
    -------
    Path
    """
    seg = _check(segments)
    cols = [c for c in SEGMENT_COLUMNS if c in seg.columns]
    path = Path(path)
    with atomic_path(path) as tmp:
        seg.loc[:, cols].to_csv(tmp, index=False, float_format="%.6g")
    return path
