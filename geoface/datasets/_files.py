"""Finding image files and filling the label columns of a manifest row."""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import GeofaceError
from ..landmarks import IMAGE_SUFFIXES
from ._labels import LabelMap

__all__ = ["SPLIT_NAMES", "apply_label", "list_images", "require_folder"]

#: First-level folder names read as a dataset split rather than a class.
SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "test", "testing"})


def require_folder(source: str | os.PathLike, layout: str) -> Path:
    """``source`` as a Path, or a one-line error when it is not an existing folder."""
    p = Path(source)
    if not p.exists():
        raise GeofaceError(f"{p} does not exist; give the folder the {layout} dataset unpacked to")
    if not p.is_dir():
        raise GeofaceError(f"{p} is not a folder; --layout {layout} reads a folder of images")
    return p


def list_images(folder: Path, *, layout: str) -> list[Path]:
    """Every image below ``folder`` (hidden files and folders skipped), sorted by relative path.

    Raises a one-line :class:`GeofaceError` when there is none.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                found.append(Path(dirpath) / name)
    if not found:
        raise GeofaceError(
            f"no images ({', '.join(IMAGE_SUFFIXES[:5])}, …) found under {folder} for "
            f"--layout {layout}; check the folder"
        )
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def apply_label(row: dict, token: object, labels: LabelMap) -> dict:
    """Set ``source_label``, ``label``, ``status`` and ``note`` of ``row`` from ``token``.

    A row that is already ``unparsed`` (or ``missing_file``) keeps that status
    and gets no label; its source label is still recorded and counted. An
    empty label makes the row ``unlabelled``.
    """
    text = "" if token is None else str(token).strip()
    row["source_label"] = text or None
    if not text:  # no label given: nothing to map
        row["label"] = None
        if row.get("status") not in ("unparsed", "missing_file"):
            row["status"], row["note"] = "unlabelled", row.get("note") or "no label given"
        return row
    label, status, note = labels.resolve(text)
    if row.get("status") in ("unparsed", "missing_file"):
        row["label"] = None
        return row
    row["label"] = label
    row["status"] = status
    row["note"] = note or row.get("note") or ""
    return row
