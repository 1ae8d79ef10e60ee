"""The names of a run directory's files, its schema version, and which folders geoface wrote.

Every module that reads or writes a run directory takes its file names from
here; nothing else spells them. ``run.json`` carries ``schema_version``
(:data:`SCHEMA_VERSION`); a run directory written before the version was
recorded reads as version 0, one written by a newer geoface is refused with
the fix (upgrade geoface).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .._errors import GeofaceError

__all__ = [
    "EMBEDDINGS_NPZ",
    "EMBEDDING_PCA_NPZ",
    "FIGURES_DIR",
    "METRICS_JSON",
    "MODEL_DIR",
    "MODEL_JSON",
    "OOF_CSV",
    "OUTPUT_HEADERS",
    "RUN_JSON",
    "SCHEMA_VERSION",
    "SPLITS_CSV",
    "check_output_dir",
    "check_schema",
    "written_by_geoface",
]

#: Version of the run-directory format, recorded in ``run.json``.
SCHEMA_VERSION = 1

#: The run's header: command, versions, seed, timings, ``schema_version``.
RUN_JSON = "run.json"
#: Scores, intervals, chance levels and the overfitting report.
METRICS_JSON = "metrics.json"
#: One row per input row: ``id, fold, <group>, status, y_true, y_pred, proba_<class>…``.
OOF_CSV = "oof_predictions.csv"
#: The folds the run used (``id, fold, <group>``).
SPLITS_CSV = "splits.csv"
#: Folder of the saved models, described by :data:`MODEL_JSON` inside it.
MODEL_DIR = "model"
#: What the saved models are: classes, files, features, mesh.
MODEL_JSON = "model.json"
#: Folder of the run's figures.
FIGURES_DIR = "figures"
#: The CNN baseline's per-fold penultimate-layer embeddings.
EMBEDDINGS_NPZ = "embeddings.npz"
#: An early-fusion run's per-fold PCA of the CNN embeddings (inside :data:`MODEL_DIR`).
EMBEDDING_PCA_NPZ = "embedding_pca.npz"

#: The header file of every folder geoface writes: a run (``fit``, ``fuse``,
#: ``baseline train``), an explanation, a comparison, an evaluation.
OUTPUT_HEADERS = (RUN_JSON, "explain.json", "comparison.json", "evaluate.json")


def check_schema(info: dict, path: str | os.PathLike) -> int:
    """The ``schema_version`` of a ``run.json`` (0 when absent); refuse a newer or a bad one."""
    version = info.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise GeofaceError(
            f"{path} has schema_version {version!r}; it must be a whole number ≥ 0 "
            "(the file was edited or not written by geoface)"
        )
    if version > SCHEMA_VERSION:
        raise GeofaceError(
            f"{path} was written with run-directory schema {version}, newer than this geoface "
            f"reads ({SCHEMA_VERSION}); upgrade geoface (pip install -U geoface)"
        )
    return version


def written_by_geoface(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder geoface wrote: one of its :data:`OUTPUT_HEADERS` is a header."""
    folder = Path(path)
    for name in OUTPUT_HEADERS:
        try:
            doc = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc:
            return True
    return False


def check_output_dir(out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse, before any work, an output folder that geoface may not write or replace.

    ``out`` may not exist yet; with ``overwrite`` it may be an empty folder or
    one geoface wrote (:func:`written_by_geoface`). The working folder and
    the folders that hold it are never replaced.

    Raises
    ------
    GeofaceError
        Naming the folder and the fix.
    """
    out = Path(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise GeofaceError(f"--out {out} exists and is not a folder; choose another --out")
    if not overwrite:
        raise GeofaceError(f"run directory {out} exists; choose another --out or add --overwrite")
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or resolved.parent == resolved:
        raise GeofaceError(
            f"--out {out} is the working folder or holds it, which cannot be replaced; "
            "give a new folder, e.g. --out runs/NAME"
        )
    if any(out.iterdir()) and not written_by_geoface(out):
        raise GeofaceError(
            f"--out {out} holds files geoface did not write (no {' / '.join(OUTPUT_HEADERS)}), "
            "and --overwrite replaces only a folder geoface wrote; choose another --out or "
            "empty the folder yourself"
        )
    return out
