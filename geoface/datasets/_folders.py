"""``--layout folders``: one sub-folder per class, optionally a subject level below it."""

from __future__ import annotations

import re
from pathlib import Path

from .._errors import GeofaceError
from ._files import SPLIT_NAMES, apply_label, list_images, require_folder
from ._labels import LabelMap
from ._manifest import Manifest, make_frame, unique_ids

__all__ = ["compile_subject_regex", "parse_folders"]


def compile_subject_regex(pattern: str | None) -> re.Pattern | None:
    """Compile ``--subject-regex``; the subject is its ``subject`` group, else group 1, else all."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        msg = f"--subject-regex {pattern!r} is not a valid regular expression: {exc}"
        raise GeofaceError(msg) from None


def _subject_from(rx: re.Pattern, text: str) -> str | None:
    m = rx.search(text)
    if m is None:
        return None
    if "subject" in rx.groupindex:
        return m.group("subject")
    return m.group(1) if rx.groups else m.group(0)


def parse_folders(
    source,
    *,
    labels: LabelMap,
    dataset: str = "",
    subject_regex: str | None = None,
    subject_folders: bool = False,
    layout: str = "folders",
) -> Manifest:
    """Read ``DIR/[split/]CLASS/[SUBJECT/]image``: labels from the class folder names.

    Parameters
    ----------
    source : path-like
        The folder. A first level named ``train``, ``val``, ``test`` … is read
        as a ``split`` column, not as a class.
    labels : LabelMap
        Maps the class folder names (``happiness`` → ``happy``).
    dataset : str, default=""
        Written to the ``dataset`` column.
    subject_regex : str, optional
        Searched in the image's path relative to ``source`` (POSIX
        separators); the subject is the ``subject`` group, else group 1, else
        the whole match. Rows that do not match are ``unparsed``.
    subject_folders : bool, default=False
        The folder level below the class folder names the subject.

    Returns
    -------
    Manifest
        Images directly in ``source`` (no class folder) are ``unlabelled``.
    """
    root = require_folder(source, layout)
    rx = compile_subject_regex(subject_regex)
    files = list_images(root, layout=layout)
    rows = []
    for f in files:
        rel = f.relative_to(root)
        parts = list(rel.parts[:-1])
        split = None
        if len(parts) > 1 and parts[0].lower() in SPLIT_NAMES:
            split = parts.pop(0)
        row = {"path": str(f), "subject": None, "status": "", "note": "", "dataset": dataset}
        row["split"] = split
        subject = None
        if subject_folders:
            if len(parts) >= 2:
                subject = parts[1]
            else:
                row["status"], row["note"] = "unparsed", "no subject folder below the class folder"
        if rx is not None:
            subject = _subject_from(rx, rel.as_posix())
            if subject is None:
                row["status"] = "unparsed"
                row["note"] = f"path does not match --subject-regex {rx.pattern!r}"
        row["subject"] = subject
        row["id"] = rel.with_suffix("").as_posix()
        if parts:
            apply_label(row, parts[0], labels)
        elif row["status"] != "unparsed":
            row.update(status="unlabelled", note="not inside a class folder", label=None)
        rows.append(row)
    frame = make_frame(rows, extra=["split"])
    frame["id"] = unique_ids(list(frame["id"]))
    if frame["split"].isna().all():
        frame = frame.drop(columns="split")
    info: dict = {"subject_regex": subject_regex, "subject_folders": subject_folders}
    if rx is None and not subject_folders and frame["subject"].isna().all():
        info["messages"] = [
            "note: no subject ids (give --subject-regex or --subject-folders); 'geoface split' "
            "needs a subject per face to keep each person's images in one fold"
        ]
    return Manifest(frame=frame, layout=layout, source=Path(root), labels=labels, info=info)
