"""The per-image manifest every layout parser produces, and how it is written.

A manifest has one row per image the parser found (or per row of an
annotation file), in a stable order, with the columns :data:`BASE_COLUMNS`
first and the layout's own columns after them. No row is ever dropped: an
image whose name cannot be parsed, whose label is unknown or excluded, or
whose file is missing keeps its row with a ``status`` and a ``note``; only
``ok`` rows have a ``label``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._errors import GeofaceError
from ..age_groups import AGE_GROUPS as _AGE_GROUP_NAMES
from ..age_groups import DEFAULT_AGE_BINS, assign_age_groups
from ..statuses import DATASET_STATUSES
from ._labels import LabelMap

__all__ = [
    "AGE_GROUPS",
    "BASE_COLUMNS",
    "STATUSES",
    "Manifest",
    "age_group",
    "unique_ids",
    "write_manifest",
]

#: Columns every manifest starts with, in this order.
BASE_COLUMNS: tuple[str, ...] = (
    "id",
    "path",
    "subject",
    "label",
    "source_label",
    "status",
    "note",
    "dataset",
)

#: Row statuses and what they mean.
STATUSES = DATASET_STATUSES  # declared with every other status in geoface.statuses

#: Age groups (name, lower bound in months inclusive, upper bound exclusive): the
#: five developmental groups of :mod:`geoface.age_groups`, in months.
AGE_GROUPS: tuple[tuple[str, float, float], ...] = tuple(
    (name, 12 * lo, 12 * hi)
    for name, lo, hi in zip(
        _AGE_GROUP_NAMES, DEFAULT_AGE_BINS, (*DEFAULT_AGE_BINS[1:], float("inf")), strict=True
    )
)


def age_group(months: float | None) -> str | None:
    """The :data:`AGE_GROUPS` name of an age in months (None when unknown)."""
    if months is None or not np.isfinite(months) or months < 0:
        return None
    return assign_age_groups([months / 12.0])[0]


def unique_ids(stems: list[str]) -> list[str]:
    """Make ids unique by appending ``~2``, ``~3`` … to repeats, keeping the first as is."""
    seen: Counter = Counter()
    out = []
    for s in stems:
        seen[s] += 1
        out.append(s if seen[s] == 1 else f"{s}~{seen[s]}")
    return out


@dataclass
class Manifest:
    """What a layout parser found.

    Attributes
    ----------
    frame : DataFrame
        One row per image: :data:`BASE_COLUMNS`, then the layout's columns.
        ``path`` holds absolute paths until :func:`write_manifest` makes them
        relative to the output.
    layout : str
    source : Path
        The folder or file the manifest was built from.
    labels : LabelMap
        The mapping used (its :meth:`~LabelMap.lines` are printed).
    landmarks : ndarray of shape (n_rows, 68, 2), optional
        Landmarks the dataset ships (AffectNet, CK+), NaN where a row has none.
    info : dict
        Layout-specific facts for the sidecar and the printout (counts of
        frames not listed, what was inferred, …).
    """

    frame: pd.DataFrame
    layout: str
    source: Path
    labels: LabelMap
    landmarks: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def counts(self) -> dict[str, int]:
        """Rows per status, in :data:`STATUSES` order."""
        vc = self.frame["status"].value_counts()
        return {s: int(vc[s]) for s in STATUSES if s in vc}

    def examples(self, status: str, n: int = 3) -> list[str]:
        """Up to ``n`` ``'name: note'`` examples of rows with ``status``."""
        rows = self.frame[self.frame["status"] == status].head(n)
        pairs = zip(rows["path"], rows["note"], strict=True)
        return [f"{Path(str(p)).name}: {note}" for p, note in pairs]

    def summary(self) -> list[str]:
        """Lines to print: counts per status, examples of problems, the label mapping."""
        counts = self.counts()
        parts = ", ".join(f"{k} {v}" for k, v in counts.items())
        lines = [f"{len(self)} rows ({parts})"]
        for status in ("unparsed", "unknown_label", "missing_file", "excluded"):
            if counts.get(status):
                lines.append(f"  {status} ({counts[status]}), e.g.:")
                lines += [f"    {e}" for e in self.examples(status)]
        if self.labels.seen:
            lines.append("label mapping (source label → class  [rows]):")
            lines += [f"  {line}" for line in self.labels.lines()]
        for note in self.info.get("messages", []):
            lines.append(note)
        return lines


def make_frame(rows: list[dict], extra: list[str] | None = None) -> pd.DataFrame:
    """Rows (dicts) → a frame with :data:`BASE_COLUMNS` first, then ``extra`` in order."""
    columns = list(BASE_COLUMNS)
    for col in extra or []:
        if col not in columns:
            columns.append(col)
    for row in rows:
        for col in row:
            if col not in columns:
                columns.append(col)
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("id", "path", "subject", "label", "source_label", "status", "note", "dataset"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _relative(path: str | None, base: Path) -> str:
    if not path:
        return ""
    p = Path(path)
    try:
        return PurePosixPath(Path(os.path.relpath(p, base))).as_posix()
    except ValueError:  # another drive (Windows)
        return p.as_posix()


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.with_suffix("").name + ".manifest.json")


def landmarks_path(out: Path) -> Path:
    return out.with_name(out.with_suffix("").name + ".landmarks.csv")


def write_manifest(manifest: Manifest, out: str | os.PathLike) -> dict[str, Path]:
    """Write the manifest CSV, its JSON sidecar and (when present) the landmark CSV.

    Paths are written relative to the folder of ``out``, which is what
    ``geoface extract`` and ``geoface baseline train`` expect. Each file is
    written atomically.

    Parameters
    ----------
    manifest : Manifest
    out : path-like
        The manifest CSV. ``OUT_STEM.manifest.json`` records the layout, the
        options, the label mapping and the counts; ``OUT_STEM.landmarks.csv``
        (the ``x_0..x_67, y_0..y_67`` landmark table ``geoface extract`` reads)
        is written when the dataset ships landmarks.

    Returns
    -------
    dict
        ``{"manifest": Path, "sidecar": Path, "landmarks": Path}`` (the last
        only when written).
    """
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise GeofaceError(f"--out {out} must be a .csv file")
    if out.exists() and out.is_dir():
        raise GeofaceError(f"--out {out} is a folder; give a .csv file name")
    base = out.resolve().parent
    frame = manifest.frame.copy()
    frame["path"] = [_relative(p, base) for p in frame["path"]]
    written: dict[str, Path] = {}
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    written["manifest"] = out
    if manifest.landmarks is not None:
        from ..landmarks import write_landmark_csv

        meta = frame[["id", "path", "subject", "label", "status", "dataset"]]
        lm = landmarks_path(out)
        write_landmark_csv(lm, manifest.landmarks, meta)
        written["landmarks"] = lm
    from .. import __version__

    side = {
        "geoface_version": __version__,
        "layout": manifest.layout,
        "source": str(manifest.source),
        "n_rows": len(frame),
        "counts": manifest.counts(),
        "label_mapping": manifest.labels.as_dict(),
        "label_counts": dict(manifest.labels.seen),
        "statuses": STATUSES,
        "age_groups": [[n, lo, None if hi == float("inf") else hi] for n, lo, hi in AGE_GROUPS],
        "info": {k: v for k, v in manifest.info.items() if k != "messages"},
        "landmarks": str(written["landmarks"].name) if "landmarks" in written else None,
    }
    sc = sidecar_path(out)
    with atomic_path(sc) as tmp:
        tmp.write_text(json.dumps(side, indent=2, ensure_ascii=False, default=str) + "\n")
    written["sidecar"] = sc
    return written
