"""``--layout affectnet``: AffectNet's annotation CSVs, or its folder-per-class release.

The annotation files (``training.csv``, ``validation.csv``) have the columns
:data:`AFFECTNET_COLUMNS`; ``subDirectory_filePath`` is relative to the
``Manually_Annotated_Images`` folder, ``facial_landmarks`` holds 68 points as
``x;y;x;y;…`` and ``expression`` one of :data:`AFFECTNET_EXPRESSIONS`.
The 68 points are written as a landmark CSV beside the manifest, so
``geoface extract OUT.landmarks.csv`` can skip landmark detection.

A folder without such a CSV is read as the folder-per-class release
(``[train/]CLASS/image``), where a class folder is either a name
(``happy``, ``Contempt``) or an AffectNet code (``0``–``10``).

AffectNet has no subject ids: each image is its own subject.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ._files import apply_label
from ._folders import parse_folders
from ._labels import LabelMap
from ._manifest import Manifest, make_frame, unique_ids

__all__ = ["AFFECTNET_COLUMNS", "AFFECTNET_EXPRESSIONS", "parse_affectnet"]

#: AffectNet expression codes → AffectNet's names.
AFFECTNET_EXPRESSIONS: dict[int, str] = {
    0: "neutral",
    1: "happy",
    2: "sad",
    3: "surprise",
    4: "fear",
    5: "disgust",
    6: "anger",
    7: "contempt",
    8: "none",
    9: "uncertain",
    10: "non-face",
}

#: The columns of AffectNet's annotation CSVs.
AFFECTNET_COLUMNS: tuple[str, ...] = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)

_EXTRA = ["split", "expression_code", "valence", "arousal", "box_x", "box_y", "box_w", "box_h"]

_IMAGE_DIRS = (
    "Manually_Annotated_Images",
    "Manually_Annotated/Manually_Annotated_Images",
    "Automatically_Annotated_Images",
    "Automatically_Annotated/Automatically_Annotated_Images",
)


def _annotation_csvs(folder: Path) -> list[Path]:
    """CSV files up to two levels below ``folder`` whose header names ``subDirectory_filePath``."""
    found = []
    for pattern in ("*.csv", "*/*.csv", "*/*/*.csv"):
        for f in sorted(folder.glob(pattern)):
            try:
                with open(f, encoding="utf-8-sig", errors="replace") as fh:
                    header = fh.readline()
            except OSError:
                continue
            if "subDirectory_filePath" in header:
                found.append(f)
    return found


def _image_root(csv_path: Path, base: Path, first: list[str]) -> Path:
    """The folder the CSV's paths are relative to: the first candidate where they exist."""
    candidates = [base / d for d in _IMAGE_DIRS] + [base, csv_path.parent]
    candidates += [csv_path.parent.parent / d for d in _IMAGE_DIRS]
    for c in candidates:
        if c.is_dir() and any((c / r).is_file() for r in first if r):
            return c
    return base / _IMAGE_DIRS[0]


def _float(value: str) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _landmarks(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``x;y;…`` strings: ``(points of shape (n, 68, 2), NaN where malformed; bad mask)``."""
    text = column.astype(str).str.strip().str.strip(";")
    n = len(text)
    out = np.full((n, 68, 2), np.nan)
    good = (text.str.count(";") == 135).to_numpy()
    if good.any():
        flat = ";".join(text[good]).split(";")
        try:
            values = np.asarray(flat, dtype=float).reshape(-1, 68, 2)
        except ValueError:  # a stray non-number: parse row by row
            values = np.stack([_one(t) for t in text[good]])
        out[good] = values
    finite = np.isfinite(out).all(axis=(1, 2))
    out[~finite] = np.nan
    bad = ~finite & (text != "").to_numpy()
    return out, bad


def _one(text: str) -> np.ndarray:
    try:
        return np.asarray(text.split(";"), dtype=float).reshape(68, 2)
    except ValueError:
        return np.full((68, 2), np.nan)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GeofaceError(f"cannot parse {path} as CSV: {msg}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("subDirectory_filePath", "expression") if c not in frame.columns]
    if missing:
        raise GeofaceError(
            f"{path} lacks AffectNet column(s) {missing}; expected {', '.join(AFFECTNET_COLUMNS)}"
        )
    return frame


def _from_csvs(
    csvs: list[Path], base: Path, *, labels: LabelMap, dataset: str, image_root: Path | None
) -> Manifest:
    rows: list[dict] = []
    lms: list[np.ndarray] = []
    roots = {}
    for csv_path in csvs:
        table = _read_csv(csv_path)
        rels = table["subDirectory_filePath"].str.strip().str.replace("\\", "/").tolist()
        root = image_root or _image_root(csv_path, base, rels[:50])
        roots[csv_path.name] = root_s = str(root)
        if "facial_landmarks" in table.columns:
            points, bad_lm = _landmarks(table["facial_landmarks"])
            lms.append(points)
        else:
            bad_lm = np.zeros(len(table), dtype=bool)
            lms.append(np.full((len(table), 68, 2), np.nan))
        for i, (rel, rec) in enumerate(zip(rels, table.to_dict("records"), strict=True)):
            row = {
                "id": Path(rel).with_suffix("").as_posix() if rel else f"{csv_path.stem}_row{i}",
                "path": os.path.join(root_s, rel) if rel else None,
                "subject": None,
                "status": "",
                "note": "",
                "dataset": dataset,
                "split": csv_path.stem,
            }
            for src, dst in (
                ("face_x", "box_x"),
                ("face_y", "box_y"),
                ("face_width", "box_w"),
                ("face_height", "box_h"),
                ("valence", "valence"),
                ("arousal", "arousal"),
            ):
                row[dst] = _float(rec[src]) if src in table.columns else None
            if not rel:
                row.update(status="unparsed", note=f"{csv_path.name} row {i + 2}: empty path")
            elif not os.path.isfile(row["path"]):
                row.update(status="missing_file", note=f"no file {rel} under {root}")
            code_text = str(rec["expression"]).strip()
            code = _float(code_text)
            if code is None or code != int(code) or int(code) not in AFFECTNET_EXPRESSIONS:
                row.update(
                    status="unparsed",
                    note=f"expression {code_text!r} is not an AffectNet code 0–10",
                    source_label=code_text,
                    label=None,
                )
                row["expression_code"] = None
            else:
                row["expression_code"] = int(code)
                apply_label(row, AFFECTNET_EXPRESSIONS[int(code)], labels)
            if bad_lm[i]:
                row["note"] = "; ".join(
                    n for n in (row["note"], "facial_landmarks is not 68 x;y pairs") if n
                )
            rows.append(row)
    frame = make_frame(
        rows,
        extra=_EXTRA,
    )
    frame["id"] = unique_ids(list(frame["id"]))
    frame["subject"] = frame["id"]
    frame["expression_code"] = frame["expression_code"].astype("Int64")
    landmarks = np.concatenate(lms)
    info = {
        "annotation_files": [str(c) for c in csvs],
        "image_roots": roots,
        "messages": ["note: AffectNet has no subject ids; each image is its own subject"],
    }
    missing = int((frame["status"] == "missing_file").sum())
    if missing == len(frame):
        info["messages"].append(
            f"no listed image was found (looked under {sorted(set(roots.values()))}); "
            "give the images folder with --image-root"
        )
    return Manifest(
        frame=frame,
        layout="affectnet",
        source=base,
        labels=labels,
        landmarks=landmarks if np.isfinite(landmarks).any() else None,
        info=info,
    )


def parse_affectnet(
    source,
    *,
    labels: LabelMap,
    dataset: str = "AffectNet",
    image_root: str | os.PathLike | None = None,
) -> Manifest:
    """Read AffectNet from its annotation CSV(s) or its folder-per-class release.

    Parameters
    ----------
    source : path-like
        An annotation CSV (``training.csv``), a folder holding them (searched
        two levels deep), or a folder of class folders.
    labels : LabelMap
        Should carry the AffectNet codes (``"3" → "surprise"``) for numeric
        class folders; see :func:`geoface.datasets.label_map_for`.
    dataset : str, default="AffectNet"
    image_root : path-like, optional
        The folder ``subDirectory_filePath`` is relative to (default: the
        first of ``Manually_Annotated_Images``, … beside the CSV where the
        listed files exist).

    Returns
    -------
    Manifest
        With landmarks when the CSV holds them. Codes 8–10 (none, uncertain,
        non-face) and 7 (contempt) are ``excluded`` unless kept.
    """
    p = Path(source)
    if not p.exists():
        raise GeofaceError(f"{p} does not exist; give AffectNet's annotation CSV or its folder")
    root = Path(image_root) if image_root is not None else None
    if root is not None and not root.is_dir():
        raise GeofaceError(f"--image-root {root} is not a folder")
    if p.is_file():
        if p.suffix.lower() != ".csv":
            raise GeofaceError(f"{p} is not a CSV; give AffectNet's training.csv or its folder")
        return _from_csvs([p], p.parent, labels=labels, dataset=dataset, image_root=root)
    csvs = _annotation_csvs(p)
    if csvs:
        return _from_csvs(csvs, p, labels=labels, dataset=dataset, image_root=root)
    manifest = parse_folders(p, labels=labels, dataset=dataset, layout="affectnet")
    manifest.frame["subject"] = manifest.frame["id"]
    manifest.info["messages"] = [
        "note: no AffectNet annotation CSV found; read as class folders",
        "note: AffectNet has no subject ids; each image is its own subject",
    ]
    return manifest
