"""What a user points ``geoface extract`` at when it holds videos: one video, a folder, a manifest.

A folder is searched recursively for images and videos together (hidden files and
folders skipped); a manifest's ``path`` column may name both. Every item keeps its
row: the extraction gives image rows and frame rows in one table.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .._errors import GeofaceError

__all__ = ["MediaSources", "find_media", "holds_videos"]

_LANDMARK_COLUMN = re.compile(r"^[xy]_\d+$")

#: Container suffixes read as videos (checked before the decode module is imported).
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")


def _video_suffixes() -> tuple[str, ...]:
    try:
        from ._probe import VIDEO_SUFFIXES

        return tuple(s.lower() for s in VIDEO_SUFFIXES)
    except ImportError:  # pragma: no cover - the probe module is part of the package
        return _VIDEO_SUFFIXES


def _image_suffixes() -> tuple[str, ...]:
    from ..landmarks import IMAGE_SUFFIXES

    return tuple(IMAGE_SUFFIXES)


def _is_video(p: str | os.PathLike) -> bool:
    return Path(str(p)).suffix.lower() in _video_suffixes()


@dataclass(frozen=True)
class MediaSources:
    """The images and videos of one input, one row each, in a stable order.

    Attributes
    ----------
    meta : DataFrame
        ``id, path`` then ``label`` (folders whose files all lie in class
        sub-folders) or every column of a manifest.
    files : list of Path or None
        The file of each row (it may not exist; such rows get a status).
    is_video : list of bool
        Whether each row is a video (by suffix).
    root : Path
    kind : {"video", "folder", "manifest"}
    """

    meta: pd.DataFrame
    files: list[Path | None]
    is_video: list[bool]
    root: Path
    kind: str

    def __len__(self) -> int:
        return len(self.files)

    @property
    def n_videos(self) -> int:
        return int(sum(self.is_video))


def holds_videos(path: str | os.PathLike) -> bool:
    """Whether an ``extract`` input is (or lists, or holds) at least one video.

    A video file; a folder with a video anywhere below it; a CSV with a ``path``
    column naming a video and no landmark columns (a landmark table written by
    ``extract`` on a video is read as landmarks).
    """
    p = Path(path)
    if not p.exists():
        return False
    if p.is_dir():
        from ..landmarks import walk_files

        return bool(walk_files(p, _video_suffixes()))
    if _is_video(p):
        return True
    if p.suffix.lower() == ".csv":
        try:
            columns = [str(c).strip() for c in pd.read_csv(p, nrows=0).columns]
            if any(_LANDMARK_COLUMN.match(c) for c in columns):
                return False  # a landmark table (written by extract on a video): read as landmarks
            head = pd.read_csv(p, dtype=str, usecols=lambda c: str(c).strip() == "path")
        except (ValueError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            return False
        if head.shape[1] == 0:
            return False
        return bool(head.iloc[:, 0].dropna().map(_is_video).any())
    return False


def find_media(path: str | os.PathLike) -> MediaSources:
    """List the videos (and images) of one video file, a folder or a manifest CSV.

    Parameters
    ----------
    path : str or path-like
        * one video file;
        * a folder: every image and video below it, ordered by relative path;
          ``id`` is the relative path without extension; when every file lies
          in a sub-folder, ``label`` is its first-level sub-folder's name;
        * a manifest CSV with a ``path`` column (relative to the manifest, or
          absolute) naming videos or images, and any other columns (subject,
          age, session, condition …), carried to every frame.

    Returns
    -------
    MediaSources
    """
    p = Path(path)
    if not p.exists():
        raise GeofaceError(f"input {p} does not exist")
    if p.is_dir():
        from ..landmarks import ids_from_paths, walk_files

        files = walk_files(p, _video_suffixes() + _image_suffixes())
        if not files:
            raise GeofaceError(f"folder {p} holds no videos or images")
        rel = [f.relative_to(p).as_posix() for f in files]
        meta = pd.DataFrame({"id": ids_from_paths(rel), "path": rel})
        parts = [PurePosixPath(r).parts for r in rel]
        if all(len(pt) > 1 for pt in parts):
            meta["label"] = [pt[0] for pt in parts]
        return MediaSources(meta, list(files), [_is_video(f) for f in files], p, "folder")
    if _is_video(p):
        meta = pd.DataFrame({"id": [p.stem], "path": [p.name]})
        return MediaSources(meta, [p], [True], p.parent, "video")
    if p.suffix.lower() == ".csv":
        return _read_manifest(p)
    raise GeofaceError(
        f"input {p.name} is not a video ({', '.join(_video_suffixes()[:5])}, …), a folder "
        "or a manifest CSV"
    )


def _read_manifest(path: Path) -> MediaSources:
    from ..landmarks import read_manifest_table

    frame, files, root = read_manifest_table(path, "video")
    reserved = {"video", "frame", "time_s", "track_id"} & set(frame.columns)
    if reserved:
        raise GeofaceError(
            f"manifest {path} has column(s) {sorted(reserved)} that frame tables write; rename them"
        )
    raw = frame["path"]
    is_video = [_is_video(r) for r in raw]
    return MediaSources(frame, files, is_video, root, "manifest")
