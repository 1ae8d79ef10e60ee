"""Re-reference a frame table to each track's own baseline, streaming, whatever its length.

:func:`rebase_frames` reads a frame table (Parquet: by row groups; CSV: by
chunks) and writes a new one whose features are differences from each
group's reference (:mod:`geoface.features._reference`), with the memory of a
few thousand rows whatever the table's length:

* **pass 1 — the reference of every group.** A read of the small columns
  (groups, time, ``qc_status``, a mark) chooses the reference rows of
  ``first``, ``mean`` and ``marked``; ``quiet`` reads the features twice more,
  once for each group's median and spread (from at most
  :data:`~geoface.features._reference.QUIET_SAMPLE` frames) and once for each
  frame's speed and distance. A last read sums the reference rows per group.
* **pass 2 — the rewrite.** Every row group is read again, its features
  replaced by ``x - reference`` (a reference row's reference leaves the row
  itself out), and appended to the output under a temporary name; the table
  and its two sidecars are renamed into place together.

The result equals :func:`geoface.features.extract_table` with the same
``relative`` rule on the whole table at once (tested). Rows that are not
usable keep empty features; rows whose group offers no reference but
themselves use the mesh template's features and get ``qc_relative_fallback``;
``qc_relative_reference`` marks the rows chosen as references.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import replace_together, temp_sibling_file
from .._errors import GeofaceError
from ..mesh import Mesh
from ..statuses import USABLE_STATUSES
from ._names import feature_map
from ._reference import (
    QUIET_FRACTION,
    QUIET_MIN_FRAMES,
    RELATIVE_RULES,
    _check_quiet,
    _sample_rows,
    group_centre,
    pick_quiet,
    quiet_scores,
    reference_mask,
    step_speed,
)
from ._table import _check_content, _format_of, _sha256, sidecar_paths
from ._transformer import MeshFeatures

__all__ = ["REBASE_COLUMNS", "rebase_frames"]

#: Columns :func:`rebase_frames` adds (after the table's other ``qc_`` columns).
REBASE_COLUMNS = ("qc_relative_fallback", "qc_relative_reference")

_TEXT = {"id": str, "path": str, "subject": str, "label": str, "video": str}


class _Source:
    """A frame table read in batches of rows (Parquet row groups or CSV chunks)."""

    def __init__(self, path: Path, batch_rows: int):
        self.path = path
        self.format = _format_of(path)
        self.batch_rows = batch_rows
        if self.format == "parquet":
            import pyarrow.parquet as pq

            self.file = pq.ParquetFile(path)
            self.columns = list(self.file.schema_arrow.names)
            self.n_rows = self.file.metadata.num_rows
        else:
            head = pd.read_csv(path, nrows=0)
            self.columns = list(head.columns)
            self.n_rows = None

    def frames(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        if self.format == "parquet":
            for batch in self.file.iter_batches(batch_size=self.batch_rows, columns=columns):
                yield batch.to_pandas()
        else:
            dtype = {c: t for c, t in _TEXT.items() if c in self.columns}
            yield from pd.read_csv(
                self.path, usecols=columns, dtype=dtype, chunksize=self.batch_rows
            )

    def features(self, names: Sequence[str]) -> Iterator[tuple[int, np.ndarray]]:
        start = 0
        if self.format == "parquet":
            batches = self.file.iter_batches(batch_size=self.batch_rows, columns=list(names))
            for batch in batches:
                X = np.empty((batch.num_rows, len(names)))
                for j, column in enumerate(batch.columns):
                    X[:, j] = column.to_numpy(zero_copy_only=False)
                yield start, X
                start += len(X)
            return
        for frame in self.frames(names):
            X = frame[list(names)].to_numpy(dtype=float)
            yield start, X
            start += len(X)


def _read_info(path: Path) -> dict:
    meta_path, _ = sidecar_paths(path)
    if not path.exists():
        raise GeofaceError(f"frame table {path} does not exist")
    if not meta_path.exists():
        raise GeofaceError(f"{path} has no sidecar {meta_path.name}; it is not a geoface table")
    try:
        info = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GeofaceError(f"cannot read {meta_path}: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("mesh"), dict):
        raise GeofaceError(f"{meta_path} has no mesh entry; the sidecar is damaged")
    _check_content(path, info)
    return info


def _group_codes(index: pd.DataFrame, by: Sequence[str]) -> np.ndarray:
    """One code per row for the combination of ``by`` values; -1 where one is missing."""
    keys = index[list(by)].astype(object).where(index[list(by)].notna(), None)
    codes = keys.groupby(list(by), sort=False, dropna=True).ngroup()
    return codes.fillna(-1).to_numpy(dtype=np.int64)


def _check_time_order(codes: np.ndarray, t: np.ndarray, usable: np.ndarray, order: str) -> None:
    rows = np.flatnonzero(usable & (codes >= 0))
    if len(rows) < 2:
        return
    g, tt = codes[rows], t[rows]
    frame = pd.DataFrame({"g": g, "t": tt})
    back = frame.groupby("g")["t"].diff().to_numpy()
    if (back < 0).any():
        raise GeofaceError(
            f"the rows of a group are not in {order} order; the streaming 'quiet' rule reads "
            f"each track in table order: sort the table by its groups and {order} first"
        )


def _fallback(mesh: Mesh, info: dict) -> np.ndarray:
    iod = (info.get("options") or {}).get("iod", "centres")
    template = mesh.template[None]
    return MeshFeatures(mesh=mesh, iod=iod).fit(template).transform(template)[0]


def _quiet_mask(src, names, codes, t, usable, fraction, min_frames, say) -> np.ndarray:
    """The ``quiet`` rule over a table read twice (median and spread; speed and distance)."""
    n = len(codes)
    groups = pd.Series(np.flatnonzero(usable)).groupby(codes[usable]).indices
    rows_of = {g: np.flatnonzero(usable)[pos] for g, pos in groups.items()}
    # read 1: each group's sample rows (evenly spaced in table = time order)
    wanted = np.zeros(n, dtype=bool)
    for rows in rows_of.values():
        wanted[rows[_sample_rows(len(rows))]] = True
    sample_codes, sample_rows = [], []
    for start, X in src.features(names):
        pick = np.flatnonzero(wanted[start : start + len(X)])
        sample_rows.append(X[pick])
        sample_codes.append(codes[start + pick])
    if sample_rows:
        S, sc = np.vstack(sample_rows), np.concatenate(sample_codes)
    else:
        S, sc = np.empty((0, len(names))), np.empty(0, dtype=np.int64)
    n_groups = int(codes.max()) + 1 if n else 0
    median = np.zeros((n_groups, len(names)))
    scale = np.ones((n_groups, len(names)))
    for g, pos in pd.Series(np.arange(len(sc))).groupby(sc).indices.items():
        median[g], scale[g] = group_centre(S[pos])
    say(f"quiet frames: median and spread of {len(rows_of)} group(s) from {len(S)} frames")
    # read 2: distance of every usable row, and its speed from the group's previous row
    distance = np.full(n, np.nan)
    back = np.full(n, np.nan)
    last_z: dict[int, np.ndarray] = {}
    last_t: dict[int, float] = {}
    for start, X in src.features(names):
        rows = start + np.flatnonzero(usable[start : start + len(X)])
        if len(rows) == 0:
            continue
        g = codes[rows]
        z = (X[rows - start] - median[g]) / scale[g]
        distance[rows] = np.sqrt(np.mean(z**2, axis=1))
        # previous row of the same group: inside the batch, else the one kept from before
        prev = np.full(len(rows), -1)
        order = np.lexsort((np.arange(len(rows)), g))
        same = np.r_[False, g[order][1:] == g[order][:-1]]
        prev[order[same]] = order[np.flatnonzero(same) - 1]
        zp = np.full_like(z, np.nan)
        tp = np.full(len(rows), np.nan)
        inside = prev >= 0
        zp[inside], tp[inside] = z[prev[inside]], t[rows[prev[inside]]]
        for i in np.flatnonzero(~inside):
            if int(g[i]) in last_z:
                zp[i], tp[i] = last_z[int(g[i])], last_t[int(g[i])]
        has = np.isfinite(zp).all(axis=1)
        back[rows[has]] = step_speed(z[has], zp[has], t[rows[has]] - tp[has])
        last = order[np.r_[~same[1:], True]]  # the last row of each group in the batch
        for i in last:
            last_z[int(g[i])], last_t[int(g[i])] = z[i], float(t[rows[i]])
    mask = np.zeros(n, dtype=bool)
    for rows in rows_of.values():
        b = back[rows]
        both = np.column_stack([b, np.r_[b[1:], np.nan]])
        speed = np.full(len(rows), np.nan)
        some = np.isfinite(both).any(axis=1)
        speed[some] = np.nanmean(both[some], axis=1)
        mask[rows[pick_quiet(quiet_scores(speed, distance[rows]), fraction, min_frames)]] = True
    return mask


def rebase_frames(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    by: Sequence[str] = ("video", "track_id"),
    rule: str = "quiet",
    order: str | None = "time_s",
    mark: str | np.ndarray | None = None,
    fraction: float = QUIET_FRACTION,
    min_frames: int = QUIET_MIN_FRAMES,
    batch_rows: int = 16384,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write a frame table whose features are relative to each group's own reference.

    Parameters
    ----------
    source : path-like
        A frame table (``.parquet`` or ``.csv`` with its sidecars) with
        absolute features (``relative`` none when it was extracted).
    out : path-like
        The new table (``.parquet`` or ``.csv``); it must differ from ``source``.
    by : sequence of str, default=("video", "track_id")
        Columns whose combination is a group (a face track of one video;
        ``("subject",)`` for a person across videos). Rows missing one use
        the fallback.
    rule : {"quiet", "marked", "first", "mean"}
        See :mod:`geoface.features._reference`.
    order : str or None, default="time_s"
        Column ordering a group's rows (``first``; the speeds of ``quiet``,
        which reads each group in table order and refuses a table whose groups
        are not sorted by it).
    mark : str or ndarray of bool, shape (n_rows,), optional
        For ``marked``: a column of the table (1/true/yes) or one flag per row
        (e.g. the frames a coding file codes as neutral).
    fraction, min_frames
        For ``quiet``.
    batch_rows : int, default=16384
        Rows read at a time.
    progress : callable, optional
        Receives one-line messages.

    Returns
    -------
    dict
        What was done: ``rule``, ``by``, ``n_rows``, ``n_groups``,
        ``n_reference``, ``n_fallback`` (also recorded in the sidecar under
        ``options.relative``).
    """
    say = progress or (lambda msg: None)
    source, out = Path(source), Path(out)
    if rule not in RELATIVE_RULES:
        raise GeofaceError(f"rule={rule!r} is not one of {sorted(RELATIVE_RULES)}; pick one")
    if rule == "quiet":
        _check_quiet(fraction, min_frames)
    if int(batch_rows) < 1:
        raise GeofaceError(f"batch_rows={batch_rows!r} must be ≥ 1")
    if out.resolve() == source.resolve():
        raise GeofaceError(f"--out {out} is the input table; write the new table elsewhere")
    out_format = _format_of(out)
    info = _read_info(source)
    previous = (info.get("options") or {}).get("relative") or {}
    if previous.get("rule") not in (None, "none"):
        raise GeofaceError(
            f"{source} is already relative ({previous.get('rule')} by {previous.get('by')}); "
            "rebase a table extracted with --relative none"
        )
    names = list(info.get("feature_names") or [])
    mesh = Mesh.from_dict(info["mesh"])
    src = _Source(source, int(batch_rows))
    by = list(by)
    if not by:
        raise GeofaceError("give at least one grouping column (--by)")
    clash = [c for c in REBASE_COLUMNS if c in src.columns]
    if clash:
        raise GeofaceError(f"{source} already has {clash}: it was rebased before")
    needed = [*by, "qc_status", *([order] if order else [])]
    if isinstance(mark, str):
        needed.append(mark)
    missing = [c for c in dict.fromkeys(needed) if c not in src.columns]
    missing += [c for c in names if c not in src.columns][:3]
    if missing:
        raise GeofaceError(
            f"{source} has no column(s) {missing}; choose from {src.columns[:12]} (--by, --order, "
            "--mark)"
        )

    # pass 1: the index (small columns), then the reference rows
    index = pd.concat(list(src.frames(list(dict.fromkeys(needed)))), ignore_index=True)
    n = len(index)
    codes = _group_codes(index, by)
    usable = index["qc_status"].isin(USABLE_STATUSES).to_numpy() & (codes >= 0)
    t = (
        pd.to_numeric(index[order], errors="coerce").to_numpy(dtype=float)
        if order
        else np.full(n, np.nan)
    )
    if rule == "marked":
        if mark is None:
            raise GeofaceError("rule 'marked' needs the frames of the baseline (--mark COLUMN)")
        if isinstance(mark, str):
            flags = reference_mask(index, "marked", group=by[0], mark=mark)
        else:
            flags = np.asarray(mark, dtype=bool)
            if flags.shape != (n,):
                raise GeofaceError(f"mark has {flags.shape} flags for {n} rows")
        is_ref = flags & usable
    elif rule == "quiet":
        if order:
            _check_time_order(codes, t, usable, order)
        is_ref = _quiet_mask(src, names, codes, t, usable, fraction, min_frames, say)
    else:
        frame = pd.DataFrame({"g": codes, "o": t})
        is_ref = reference_mask(frame, rule, group="g", order="o" if order else None, usable=usable)
        is_ref &= usable
    n_groups = int(codes.max()) + 1 if n else 0
    sums = np.zeros((n_groups, len(names)))
    counts = np.zeros(n_groups)
    for start, X in src.features(names):
        rows = start + np.flatnonzero(is_ref[start : start + len(X)])
        bad = ~np.isfinite(X[rows - start]).all(axis=1)
        if bad.any():  # a usable status with a non-finite feature is never a reference
            is_ref[rows[bad]] = False
            rows = rows[~bad]
        np.add.at(sums, codes[rows], X[rows - start])
        counts += np.bincount(codes[rows], minlength=n_groups)
    fallback = _fallback(mesh, info)
    say(f"references: {int(is_ref.sum())} rows of {int((counts > 0).sum())} group(s)")

    # pass 2: the rewrite
    meta_path, map_path = sidecar_paths(out)
    tmps: list[Path] = []
    n_fallback = 0
    try:
        for final in (map_path, out, meta_path):
            tmps.append(temp_sibling_file(final))
        tmp_map, tmp_table, tmp_meta = tmps
        feature_map(mesh).to_csv(tmp_map, index=False)
        writer = None
        schema = None
        first = True
        start = 0
        for frame in src.frames(None):
            rows = np.arange(start, start + len(frame))
            start += len(frame)
            X = frame[names].to_numpy(dtype=float)
            ok = usable[rows] & np.isfinite(X).all(axis=1)
            ref = is_ref[rows]
            g = np.where(codes[rows] >= 0, codes[rows], 0)
            own_count = np.where(codes[rows] >= 0, counts[g], 0) - ref
            own_sum = sums[g] - np.where(ref[:, None], X, 0.0)
            has = ok & (own_count > 0)
            fb = ok & ~has
            new = X.copy()
            new[has] = X[has] - own_sum[has] / own_count[has, None]
            new[fb] = X[fb] - fallback
            n_fallback += int(fb.sum())
            columns = list(frame.columns)
            qc_cols = [c for c in columns if str(c).startswith("qc_")]
            where = columns.index(qc_cols[-1]) + 1 if qc_cols else len(columns)
            columns[where:where] = list(REBASE_COLUMNS)
            added = pd.DataFrame(
                {
                    REBASE_COLUMNS[0]: fb,
                    REBASE_COLUMNS[1]: ref,
                    **dict(zip(names, new.T, strict=True)),
                },
                index=frame.index,
            )
            frame = pd.concat([frame.drop(columns=names), added], axis=1)[columns]
            if out_format == "csv":
                frame.to_csv(
                    tmp_table,
                    mode="w" if first else "a",
                    header=first,
                    index=False,
                    float_format="%.10g",
                )
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                if schema is None:
                    schema = pa.Schema.from_pandas(frame, preserve_index=False).remove_metadata()
                    if src.format == "parquet":  # the source's own types where it has them
                        given = src.file.schema_arrow
                        schema = pa.schema(
                            [given.field(f.name) if f.name in given.names else f for f in schema]
                        ).remove_metadata()
                    writer = pq.ParquetWriter(tmp_table, schema)
                writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            first = False
        if writer is not None:
            writer.close()
        elif out_format == "parquet":  # an empty table
            raise GeofaceError(f"{source} has no rows to rebase")
        relative = {
            "asked": rule,
            "rule": rule,
            "by": by if len(by) > 1 else by[0],
            "order": order,
            "mark": mark if isinstance(mark, str) else (None if mark is None else "given"),
            "n_reference": int(is_ref.sum()),
            "n_fallback": n_fallback,
            "streamed": True,
            "rebased_from": str(source),
            "rebased": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if rule == "quiet":
            relative.update({"fraction": fraction, "min_frames": int(min_frames)})
        new_info = dict(info)
        new_info["options"] = {**(info.get("options") or {}), "relative": relative}
        new_info.update(
            {
                "source": str(source),
                "table": out.name,
                "format": out_format,
                "feature_map": map_path.name,
                "n_rows": n,
                "mesh_hash": mesh.hash,
                "mesh": mesh.to_dict(),
                "content_sha256": {"table": _sha256(tmp_table), "feature_map": _sha256(tmp_map)},
                "replaces_sha256": {
                    "table": _sha256(out) if out.is_file() else None,
                    "feature_map": _sha256(map_path) if map_path.is_file() else None,
                },
            }
        )
        tmp_meta.write_text(json.dumps(new_info, indent=1, default=str) + "\n", encoding="utf-8")
        replace_together([(tmp_meta, meta_path), (tmp_map, map_path), (tmp_table, out)])
    except BaseException:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        raise
    return {
        "rule": rule,
        "by": by,
        "n_rows": n,
        "n_groups": n_groups,
        "n_reference": int(is_ref.sum()),
        "n_fallback": n_fallback,
    }
