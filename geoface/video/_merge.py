"""Merge: part files → one frame table, in row groups, with memory flat in the video's length.

The parts of a video are read in order, at most three at a time (the one being
written and its neighbours, which give the smoothing filter its context).
Segment-local track ids are stitched into ids that hold across the whole video
(:func:`stitch_tracks`: the last box of each track of the parts before against
the first box of each track of the part after). Landmarks are smoothed per
track when asked. Each part then becomes one chunk of rows; the caller turns it
into features and appends it to the output as a row group.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._convention import LANDMARK_COLUMNS, N_LANDMARKS

__all__ = ["FrameChunk", "RelativeReference", "TableWriter", "TrackStitcher", "video_chunks"]

_XY = list(LANDMARK_COLUMNS)

#: QC columns of video rows carried from the parts (``how`` becomes ``qc_how``).
VIDEO_QC_COLUMNS: tuple[str, ...] = (
    "qc_status",
    "qc_note",
    "qc_box_x",
    "qc_box_y",
    "qc_box_w",
    "qc_box_h",
    "qc_det_score",
    "qc_how",
)


@dataclass
class FrameChunk:
    """Rows of one part, ready for :func:`geoface.features.extract_table`.

    Attributes
    ----------
    landmarks : ndarray of shape (n_rows, 68, 2)
        Smoothed when smoothing was asked for (raw otherwise).
    meta : DataFrame
        ``id, path, <manifest columns>, video, frame, time_s, track_id``.
    qc : DataFrame
        :data:`VIDEO_QC_COLUMNS`.
    """

    landmarks: np.ndarray
    meta: pd.DataFrame
    qc: pd.DataFrame


def landmarks_of(frame: pd.DataFrame) -> np.ndarray:
    """``(n, 68, 2)`` landmarks from the ``x_i, y_i`` columns of a part."""
    xy = frame[_XY].to_numpy(dtype=float)
    return np.stack([xy[:, :N_LANDMARKS], xy[:, N_LANDMARKS:]], axis=-1)


def _faces_of(frame: pd.DataFrame, id_column: str, *, last: bool) -> list:
    """One :class:`TrackedFace` per track of ``frame``: its last (or first) appearance."""
    from ._track import TrackedFace

    rows = frame[frame[id_column].notna()]
    if rows.empty:
        return []
    pick = rows.groupby(id_column, sort=True).tail(1) if last else rows.groupby(id_column).head(1)
    out = []
    lm = landmarks_of(pick)
    for k, (_, row) in enumerate(pick.iterrows()):
        x, y, w, h = (float(row[c]) for c in ("qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h"))
        out.append(
            TrackedFace(
                track_id=int(row[id_column]),
                landmarks=lm[k],
                box=np.array([x, y, x + w, y + h]),
                score=float(row["qc_det_score"]),
                how=str(row["how"]),
            )
        )
    return out


class TrackStitcher:
    """Gives segment-local track ids the ids of the tracks they continue.

    The first part's ids are kept; each later part's tracks are matched
    (:func:`stitch_tracks`, box IoU) against the last appearance of the tracks
    seen in the part before; unmatched ones get the next free id.
    """

    def __init__(self, *, min_iou: float = 0.3):
        self.min_iou = float(min_iou)
        self.next_id = 0
        self.last: dict[int, Any] = {}
        self.n_matched = 0

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        """Global track ids of a part's rows (``<NA>`` where the row has no face)."""
        from ._track import stitch_tracks

        local = frame["track_id"]
        firsts = _faces_of(frame, "track_id", last=False)
        prev = list(self.last.values())
        mapping: dict[int, int] = {}
        if prev and firsts:
            mapping = {
                int(k): int(v) for k, v in stitch_tracks(prev, firsts, min_iou=self.min_iou).items()
            }
            self.n_matched += len(mapping)
        for face in firsts:
            if face.track_id not in mapping:
                mapping[face.track_id] = self.next_id
                self.next_id += 1
        self.next_id = max([self.next_id, *[v + 1 for v in mapping.values()]])
        ids = local.map(lambda v: mapping.get(int(v)) if pd.notna(v) else None)
        ids = pd.array(ids.tolist(), dtype="Int64")
        tagged = frame.assign(track_id=ids)
        lasts = _faces_of(tagged, "track_id", last=True)
        if lasts:  # tracks of a part without faces carry on from the part before
            self.last = {f.track_id: f for f in lasts}
        return pd.Series(ids, index=frame.index)


class _Smoother:
    """Per-track smoothing of consecutive parts, with the state carried across them.

    ``one-euro`` is causal: one :class:`OneEuro` per track, fed the track's rows
    in order, part after part (exactly what filtering the whole track at once
    gives). ``savgol`` is centred: each part is filtered with the rows of the
    same track in the parts before and after it as context (at least one
    window on each side), and only its own rows are kept.
    """

    def __init__(self, method: str, params: dict):
        from ._smooth import smooth_landmarks

        self.method = method or "none"
        self.params = dict(params)
        # check the method and its parameters once, before any part is read
        _, self.applied = smooth_landmarks(
            np.zeros((0, N_LANDMARKS, 2)), np.zeros(0), self.method, **self.params
        )
        self.filters: dict[int, Any] = {}
        self.windows: set[int] = set()

    def describe(self) -> dict:
        out = dict(self.applied)
        if self.windows:
            out["window_frames"] = sorted(self.windows)
        return out

    def __call__(self, cur: pd.DataFrame, prev, nxt) -> np.ndarray:
        lm = landmarks_of(cur)
        if self.method == "none":
            return lm
        out = lm.copy()
        tracks = cur["track_id"]
        times = cur["time_s"].to_numpy(float)
        for track in pd.unique(tracks.dropna()):
            rows = np.flatnonzero((tracks == track).fillna(False).to_numpy())
            if self.method == "one-euro":
                from ._smooth import OneEuro

                f = self.filters.get(int(track))
                if f is None:
                    f = self.filters[int(track)] = OneEuro(**self.params)
                for r in rows:
                    out[r] = f.filter(lm[r], times[r])
                continue
            out[rows] = self._centred(track, lm[rows], times[rows], prev, nxt)
        return out

    def _centred(self, track, lm, times, prev, nxt) -> np.ndarray:
        from ._smooth import smooth_landmarks

        dt = np.diff(times)
        dt = dt[dt > 0]
        fps = 1.0 / float(np.median(dt)) if len(dt) else 30.0
        context = int(float(self.params.get("window_s", 0.25)) * fps * 2) + 4
        pieces_lm, pieces_t, n_before = [], [], 0
        if prev is not None:
            p = prev[(prev["track_id"] == track).fillna(False).to_numpy()].tail(context)
            n_before = len(p)
            pieces_lm.append(landmarks_of(p))
            pieces_t.append(p["time_s"].to_numpy(float))
        pieces_lm.append(lm)
        pieces_t.append(times)
        if nxt is not None:
            q = nxt[(nxt["track_id"] == track).fillna(False).to_numpy()].head(context)
            pieces_lm.append(landmarks_of(q))
            pieces_t.append(q["time_s"].to_numpy(float))
        smoothed, applied = smooth_landmarks(
            np.concatenate(pieces_lm), np.concatenate(pieces_t), self.method, **self.params
        )
        self.windows.update(applied.get("window_frames", []))
        return smoothed[n_before : n_before + len(lm)]


def _read_part(path: str | Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    frame["track_id"] = frame["track_id"].astype("Int64")
    return frame


def video_chunks(
    parts: list[str | Path],
    *,
    video_id: str,
    base: dict[str, Any],
    faces: str = "largest",
    smooth: str = "none",
    smooth_params: dict | None = None,
    min_iou: float = 0.3,
    stats: dict | None = None,
) -> Iterator[FrameChunk]:
    """The rows of one video's parts, in order: stitched, smoothed, one chunk per part.

    Parameters
    ----------
    parts : list of path
        The video's part files, in segment order.
    video_id : str
        The ``video`` column (the relative path without extension).
    base : dict
        Columns copied to every row (``path`` and the manifest's columns).
    faces : {"largest", "all"}
        With ``"all"``, ids get ``#t<track>``.
    smooth, smooth_params
        The landmark filter (:func:`smooth_landmarks`); ``"none"`` keeps them raw.
    min_iou : float
        Stitching threshold.
    stats : dict, optional
        Receives ``n_tracks``, ``n_stitched`` and the ``smoothing`` applied.

    Yields
    ------
    FrameChunk
    """
    stitch = TrackStitcher(min_iou=min_iou)
    smoother = _Smoother(smooth, dict(smooth_params or {}))
    window: list[pd.DataFrame | None] = [None]

    def load(path) -> pd.DataFrame:
        frame = _read_part(path)
        frame["track_id"] = stitch(frame)
        return frame

    def emit(prev, cur, nxt) -> FrameChunk:
        lm = smoother(cur, prev, nxt)
        n = len(cur)
        ordinals = cur["ordinal"].to_numpy(np.int64)
        track = cur["track_id"]
        ids = [f"{video_id}#{o}" for o in ordinals]
        if faces == "all":
            ids = [
                f"{i}#t{int(t)}" if pd.notna(t) else i
                for i, t in zip(ids, track.tolist(), strict=True)
            ]
        meta = pd.DataFrame({"id": ids})
        for key, value in base.items():
            meta[key] = [value] * n
        meta["video"] = video_id
        meta["frame"] = ordinals
        meta["time_s"] = cur["time_s"].to_numpy(float)
        meta["track_id"] = track.to_numpy()
        meta["track_id"] = meta["track_id"].astype("Int64")
        qc = cur[list(VIDEO_QC_COLUMNS[:-1])].reset_index(drop=True).copy()
        qc["qc_how"] = cur["how"].to_numpy()
        return FrameChunk(landmarks=lm, meta=meta, qc=qc)

    for path in parts:
        window.append(load(path))
        if len(window) == 3:
            yield emit(window[0], window[1], window[2])
            window.pop(0)
    if len(window) == 2 and window[1] is not None:
        yield emit(window[0], window[1], None)
    if stats is not None:
        stats["n_tracks"] = stitch.next_id
        stats["n_stitched"] = stitch.n_matched
        stats["smoothing"] = smoother.describe()


def failed_video_chunk(video_id: str, base: dict[str, Any], status: str, note: str) -> FrameChunk:
    """The one row of a video without any frame (unreadable, no video stream, empty …)."""
    meta = pd.DataFrame({"id": [video_id]})
    for key, value in base.items():
        meta[key] = [value]
    meta["video"] = video_id
    meta["frame"] = -1
    meta["time_s"] = np.nan
    meta["track_id"] = pd.array([None], dtype="Int64")
    qc = pd.DataFrame({c: [np.nan] for c in VIDEO_QC_COLUMNS})
    qc["qc_status"] = status
    qc["qc_note"] = note
    qc["qc_how"] = ""
    return FrameChunk(landmarks=np.full((1, N_LANDMARKS, 2), np.nan), meta=meta, qc=qc)


# ------------------------------------------------------------- relative features
class RelativeReference:
    """Person-specific features over a table written in chunks: two passes, memory flat.

    The first pass (:meth:`add`, on every chunk as it is written) sums, per
    ``by`` group, the features of its reference rows: every usable row
    (``rule="mean"``) or the usable rows ``mark`` marks (``"marked"``). The
    second pass (:meth:`apply`, through :meth:`TableWriter.rewrite`) subtracts
    from each usable row the mean of its group's reference rows other than
    itself — exactly what :func:`geoface.features.extract_table` does on a whole
    table — or, when the group offers none, the mesh template's features
    (``qc_relative_fallback``).
    """

    def __init__(self, rule: str, by: str, mark: str | None, feature_names, fallback):
        self.rule, self.by, self.mark = rule, by, mark
        self.names = list(feature_names)
        self.fallback = np.asarray(fallback, dtype=float)
        self.sums: dict[str, np.ndarray] = {}
        self.counts: dict[str, int] = {}
        self.n_fallback = 0

    def _masks(self, frame: pd.DataFrame):
        from ..features import marked_rows
        from ..statuses import USABLE_STATUSES

        X = frame[self.names].to_numpy(dtype=float)
        usable = frame["qc_status"].isin(USABLE_STATUSES).to_numpy() & np.isfinite(X).all(1)
        ref = usable & (marked_rows(frame[self.mark]) if self.rule == "marked" else True)
        groups = frame[self.by]
        missing = groups.isna().to_numpy()
        return X, usable, ref & ~missing, groups.astype(str).to_numpy(), missing

    def add(self, frame: pd.DataFrame) -> None:
        X, _, ref, keys, _ = self._masks(frame)
        if not ref.any():
            return
        sums = pd.DataFrame(X[ref]).groupby(keys[ref]).sum()
        for key, row in zip(sums.index, sums.to_numpy(), strict=True):
            self.sums[key] = self.sums.get(key, 0.0) + row
            self.counts[key] = self.counts.get(key, 0) + int((keys[ref] == key).sum())

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        X, usable, ref, keys, missing = self._masks(frame)
        zero = np.zeros(len(self.names))
        S = np.stack([self.sums.get(k, zero) for k in keys]) if len(keys) else X * 0
        C = np.array([self.counts.get(k, 0) for k in keys], dtype=float)
        own_sum = S - np.where(ref[:, None], X, 0.0)
        own_count = C - ref
        has = (own_count > 0) & ~missing
        out = X.copy()
        rows = usable & has
        out[rows] = X[rows] - own_sum[rows] / own_count[rows, None]
        fb = usable & ~has
        out[fb] = X[fb] - self.fallback
        self.n_fallback += int(fb.sum())
        features = pd.DataFrame(out, columns=self.names, index=frame.index)
        flag = pd.DataFrame({"qc_relative_fallback": fb}, index=frame.index)
        return pd.concat([frame.drop(columns=self.names), flag, features], axis=1)


# ------------------------------------------------------------------ writing
_STR = {
    "id",
    "path",
    "subject",
    "label",
    "video",
    "qc_status",
    "qc_note",
    "qc_how",
    "qc_image_sha1",
}
_INT = {"frame", "track_id", "face_index", "qc_n_faces", "qc_image_w", "qc_image_h"}
_BOOL = {"qc_folded", "qc_reference_fallback", "qc_relative_fallback"}


def arrow_type(column: str, dtype=None):
    """The Arrow type of a frame-table column (``dtype``: the manifest's, for its columns)."""
    import pyarrow as pa

    if column in _STR:
        return pa.string()
    if column in _INT:
        return pa.int64()
    if column in _BOOL:
        return pa.bool_()
    if dtype is not None:
        if pd.api.types.is_bool_dtype(dtype):
            return pa.bool_()
        if pd.api.types.is_integer_dtype(dtype):
            return pa.int64()
        if pd.api.types.is_float_dtype(dtype):
            return pa.float64()
        return pa.string()
    return pa.float64()


def _to_array(series: pd.Series, typ):
    import pyarrow as pa

    if typ == pa.string():
        values = [None if _isna(v) else str(v) for v in series.tolist()]
        return pa.array(values, pa.string())
    if typ == pa.int64():
        values = [None if _isna(v) else int(v) for v in series.tolist()]
        return pa.array(values, pa.int64())
    if typ == pa.bool_():
        values = [None if _isna(v) else bool(v) for v in series.tolist()]
        return pa.array(values, pa.bool_())
    return pa.array(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), pa.float64())


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@dataclass
class _Stream:
    final: Path
    tmp: Path
    fmt: str
    columns: list[str]
    types: dict[str, Any]
    writer: Any = None
    handle: Any = None
    n_rows: int = 0

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame.reindex(columns=self.columns)
        if self.fmt == "csv":
            if self.handle is None:
                self.handle = open(self.tmp, "w", encoding="utf-8", newline="")
            frame.to_csv(self.handle, index=False, header=self.n_rows == 0, float_format="%.10g")
            if self.n_rows == 0 and frame.empty:
                self.n_rows = 0
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(c, self.types[c]) for c in self.columns])
            floats = [c for c in self.columns if self.types[c] == pa.float64()]
            try:  # the features and other numbers in one step
                block = frame[floats].to_numpy(dtype=float)
                by_name = {c: pa.array(block[:, k]) for k, c in enumerate(floats)}
            except (TypeError, ValueError):
                by_name = {}
            arrays = [
                by_name[c] if c in by_name else _to_array(frame[c], self.types[c])
                for c in self.columns
            ]
            table = pa.Table.from_arrays(arrays, schema=schema)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.tmp, schema)
            self.writer.write_table(table)
        self.n_rows += len(frame)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        elif self.fmt == "parquet" and self.n_rows == 0:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(c, self.types[c]) for c in self.columns])
            pq.write_table(schema.empty_table(), self.tmp)
        elif self.fmt == "csv" and self.n_rows == 0:
            pd.DataFrame(columns=self.columns).to_csv(self.tmp, index=False)


@dataclass
class TableWriter:
    """The frame table and its landmark table, written chunk by chunk under temporary names.

    :meth:`finish` writes the feature map and the sidecar (with the content
    hashes :meth:`FeatureTable.read` checks) and renames all four files into
    place together; :meth:`abort` removes the temporaries.
    """

    out: Path
    landmarks_out: Path
    columns: list[str]
    landmark_columns: list[str]
    types: dict[str, Any]
    qc_counts: dict[str, int] = field(default_factory=dict)
    _streams: list[_Stream] = field(default_factory=list)

    def __post_init__(self):
        from .._atomic import temp_sibling_file

        for final, cols in ((self.out, self.columns), (self.landmarks_out, self.landmark_columns)):
            fmt = "csv" if final.suffix.lower() == ".csv" else "parquet"
            self._streams.append(_Stream(final, temp_sibling_file(final), fmt, cols, self.types))

    @property
    def n_rows(self) -> int:
        return self._streams[0].n_rows

    def write(self, features: pd.DataFrame, landmarks: pd.DataFrame) -> None:
        """Append one chunk: its feature-table rows and its landmark rows."""
        self._streams[0].write(features)
        self._streams[1].write(landmarks)
        for k, v in features["qc_status"].value_counts().items():
            self.qc_counts[str(k)] = self.qc_counts.get(str(k), 0) + int(v)

    def rewrite(self, fn, columns: list[str], chunk_rows: int = 4096) -> None:
        """A second pass over the table written so far: ``fn(chunk) -> chunk``, chunk by chunk.

        The table's temporary file is read back one row group (or CSV chunk) at a
        time, ``fn`` applied, and the result written to a new temporary file with
        ``columns``; memory stays that of one chunk.
        """
        import pyarrow.parquet as pq

        from .._atomic import temp_sibling_file

        old = self._streams[0]
        old.close()
        new = _Stream(old.final, temp_sibling_file(old.final), old.fmt, columns, self.types)
        try:
            if old.fmt == "csv":
                text = {c: str for c in columns if c in _STR}
                chunks = pd.read_csv(old.tmp, chunksize=chunk_rows, dtype=text)
            else:
                reader = pq.ParquetFile(old.tmp)
                chunks = (
                    reader.read_row_group(k).to_pandas() for k in range(reader.num_row_groups)
                )
            for chunk in chunks:
                new.write(fn(chunk))
        except BaseException:
            new.close()
            new.tmp.unlink(missing_ok=True)
            raise
        old.tmp.unlink(missing_ok=True)
        self._streams[0] = new
        self.columns = columns

    def finish(self, info: dict, mesh) -> Path:
        """Close the streams, write feature map and sidecar, rename everything into place."""
        from .._atomic import replace_together, temp_sibling_file
        from ..features import feature_map, sidecar_paths

        for s in self._streams:
            s.close()
        meta_path, map_path = sidecar_paths(self.out)
        tmp_map = temp_sibling_file(map_path)
        tmp_meta = temp_sibling_file(meta_path)
        try:
            feature_map(mesh).to_csv(tmp_map, index=False)
            table, lms = self._streams
            info = dict(info)
            info.update(
                {
                    "table": self.out.name,
                    "format": table.fmt,
                    "feature_map": map_path.name,
                    "n_rows": table.n_rows,
                    "qc_counts": dict(sorted(self.qc_counts.items())),
                    "mesh_hash": mesh.hash,
                    "mesh": mesh.to_dict(),
                    "landmarks_table": str(self.landmarks_out),
                    "content_sha256": {
                        "table": _sha256(table.tmp),
                        "feature_map": _sha256(tmp_map),
                    },
                    "replaces_sha256": {
                        "table": _sha256(self.out) if self.out.is_file() else None,
                        "feature_map": _sha256(map_path) if map_path.is_file() else None,
                    },
                }
            )
            tmp_meta.write_text(json.dumps(info, indent=1, default=str) + "\n", encoding="utf-8")
            replace_together(
                [
                    (tmp_meta, meta_path),
                    (tmp_map, map_path),
                    (table.tmp, self.out),
                    (lms.tmp, self.landmarks_out),
                ]
            )
        except BaseException:
            for tmp in (tmp_map, tmp_meta):
                tmp.unlink(missing_ok=True)
            self.abort()
            raise
        return self.out

    def abort(self) -> None:
        for s in self._streams:
            try:
                s.close()
            except Exception:
                pass
            s.tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
