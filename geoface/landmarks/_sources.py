"""What a user points ``geoface extract`` at: images (folder, manifest, one file) or landmarks."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .._errors import GeofaceError
from ._images import IMAGE_SUFFIXES

__all__ = [
    "ImageSources",
    "find_images",
    "ids_from_paths",
    "input_kind",
    "read_manifest_table",
    "walk_files",
]

_LANDMARK_COLUMN = re.compile(r"^[xy]_\d+$")


@dataclass(frozen=True)
class ImageSources:
    """The images of one input, one row each, in a stable order.

    Attributes
    ----------
    meta : DataFrame
        ``id, path`` (as the user wrote it, or relative to the folder), then
        ``label`` for folders with class sub-folders, or every column of a
        manifest, in its order.
    files : list of Path or None
        The file each row points at (it may not exist, and a manifest row may
        give none: such rows are reported ``unreadable``, never dropped).
    root : Path
        The folder that relative ``path`` values refer to.
    kind : {"folder", "manifest", "image"}
    """

    meta: pd.DataFrame
    files: list[Path | None]
    root: Path
    kind: str

    def __len__(self) -> int:
        return len(self.files)


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES


def walk_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` with one of ``suffixes``, skipping hidden files and folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def ids_from_paths(rel: list[str]) -> list[str]:
    """Relative path without extension; with extension where two files would clash, and
    ``~2``, ``~3``… where a manifest lists the same file again."""
    stems = [str(PurePosixPath(r).with_suffix("")) for r in rel]
    distinct = pd.DataFrame({"stem": stems, "rel": rel}).groupby("stem")["rel"].nunique()
    ids = [r if distinct[s] > 1 else s for r, s in zip(rel, stems, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
        out.append(i if seen[i] == 1 else f"{i}~{seen[i]}")
    return out


def input_kind(path: str | os.PathLike, *, images_requested: bool = False) -> str:
    """Classify an ``extract`` input.

    Parameters
    ----------
    path : str or path-like
    images_requested : bool, default=False
        The user chose a landmarker explicitly: a folder holding both images
        and ``.pts`` files is then read as images.

    Returns
    -------
    kind : {"landmarks", "folder", "manifest", "image"}
        ``"landmarks"`` for a landmark CSV (any ``x_N``/``y_N`` column, with
        or without a ``path`` column), ``.npz``, ``.pts`` or a folder of
        ``.pts`` files without images (or with images, unless
        ``images_requested``); ``"manifest"`` for a CSV with a ``path`` column
        and no landmark columns; ``"folder"`` for a folder of images;
        ``"image"`` for one image file.
    """
    p = Path(path)
    if not p.exists():
        raise GeofaceError(f"input {p} does not exist")
    if p.is_dir():
        has_images = bool(walk_files(p, IMAGE_SUFFIXES))
        has_pts = bool(walk_files(p, (".pts",)))
        if has_images and (images_requested or not has_pts):
            return "folder"
        if has_pts:
            return "landmarks"
        raise GeofaceError(
            f"folder {p} holds no images ({', '.join(IMAGE_SUFFIXES[:5])}, …) and no .pts "
            "landmark files; give a folder of photographs, a manifest CSV with a 'path' "
            "column, a landmark CSV, an .npz, or a folder of .pts files"
        )
    if _is_image(p):
        return "image"
    if p.suffix.lower() == ".csv":
        try:
            columns = [str(c).strip() for c in pd.read_csv(p, nrows=0).columns]
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError):
            return "landmarks"  # the landmark reader reports the problem
        if "path" in columns and not any(_LANDMARK_COLUMN.match(c) for c in columns):
            return "manifest"
    return "landmarks"


def read_manifest_table(path: Path, what: str = "image") -> tuple[pd.DataFrame, list, Path]:
    """Read a manifest CSV: its rows, the file each names, and the folder paths are relative to.

    The ``path`` column is required (relative to the manifest, or absolute);
    ``id`` is kept when given (unique, non-empty), else made from the paths as
    for folders. Errors are one line and name ``what`` the rows list.

    Returns
    -------
    frame : DataFrame
        The manifest with ``id`` first and ``path`` stripped.
    files : list of Path or None
        The file of each row (None where ``path`` is empty).
    root : Path
        The manifest's folder.
    """
    try:
        frame = pd.read_csv(path, dtype={"id": str, "path": str, "subject": str, "label": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        raise GeofaceError(f"cannot parse manifest {path} as CSV: {msg}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if "path" not in frame.columns:
        raise GeofaceError(f"manifest {path} has no 'path' column; list one {what} per row")
    if frame.empty:
        raise GeofaceError(f"manifest {path} lists no {what}s")
    root = path.parent
    raw = frame["path"].fillna("").astype(str).str.strip()
    files = [(root / r) if r else None for r in raw]
    frame["path"] = raw
    if "id" in frame.columns:
        ids = frame["id"].fillna("").astype(str).str.strip()
        dup = ids[ids.duplicated()].unique()
        if (ids == "").any() or len(dup):
            what_ids = f"repeats {list(dup[:3])}" if len(dup) else "has empty values"
            raise GeofaceError(f"manifest {path}: the id column {what_ids}; ids must be unique")
    else:
        rel = [r.replace("\\", "/") if r else f"row_{i}" for i, r in enumerate(raw)]
        frame.insert(0, "id", ids_from_paths(rel))
    return frame.reset_index(drop=True), files, root


def _read_manifest(path: Path) -> ImageSources:
    frame, files, root = read_manifest_table(path, "image")
    return ImageSources(meta=frame, files=files, root=root, kind="manifest")


def find_images(path: str | os.PathLike) -> ImageSources:
    """List the images of a folder (recursively), a manifest CSV or a single image.

    Parameters
    ----------
    path : str or path-like
        * a folder: every image below it (hidden files and folders skipped),
          ordered by relative path; ``id`` is the relative path without
          extension; when every image lies in a sub-folder, ``label`` is the
          name of its first-level sub-folder (``happy/b01.jpg`` → ``happy``);
        * a manifest CSV with a ``path`` column (relative to the manifest's
          folder, or absolute) and any other columns (``id, subject, label,
          age_months, …``), all carried to the output;
        * one image file.

    Returns
    -------
    ImageSources
    """
    p = Path(path)
    if not p.exists():
        raise GeofaceError(f"input {p} does not exist")
    if p.is_dir():
        files = walk_files(p, IMAGE_SUFFIXES)
        if not files:
            raise GeofaceError(f"folder {p} holds no images ({', '.join(IMAGE_SUFFIXES[:5])}, …)")
        rel = [f.relative_to(p).as_posix() for f in files]
        meta = pd.DataFrame({"id": ids_from_paths(rel), "path": rel})
        parts = [PurePosixPath(r).parts for r in rel]
        if all(len(pt) > 1 for pt in parts):
            meta["label"] = [pt[0] for pt in parts]
        return ImageSources(meta=meta, files=files, root=p, kind="folder")
    if _is_image(p):
        meta = pd.DataFrame({"id": [p.stem], "path": [p.name]})
        return ImageSources(meta=meta, files=[p], root=p.parent, kind="image")
    if p.suffix.lower() == ".csv":
        return _read_manifest(p)
    raise GeofaceError(
        f"input {p.name} is not an image ({', '.join(IMAGE_SUFFIXES[:5])}, …), a folder "
        "or a manifest CSV"
    )
