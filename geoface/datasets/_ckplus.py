"""``--layout ckplus``: the Extended Cohn-Kanade (CK+) distribution.

The distribution (README, Phase 1, 2010) holds::

    cohn-kanade-images/S005/001/S005_001_00000011.png     593 sequences, 123 subjects
    Emotion/S005/001/S005_001_00000011_emotion.txt        327 sequences only: one code 0–7
    FACS/S005/001/S005_001_00000011_facs.txt              every sequence: "AU intensity" lines
    Landmarks/S005/001/S005_001_00000011_landmarks.txt    68 AAM points per image

Each sequence runs from a neutral face to the peak; the Emotion and FACS
files belong to the peak (last) frame. Emotion codes: 0 neutral, 1 anger,
2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. A sequence
without an Emotion file has no emotion label (its peak row is
``unlabelled``; its Action Units are still there).

One row per sequence by default (the peak), plus the first frame labelled
``neutral`` with ``neutral_first=True``; ``frames="all"`` lists every frame
(frames other than those are ``unlabelled``). Action Units become columns
``AU1, AU2, …`` (1 present, 0 absent, empty when not coded); with
``au_intensity=True`` also ``AU1_intensity …`` (CK+'s 0–5: 0 = present with
no intensity coded, 1–5 = A–E).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._errors import GeofaceError
from ._files import apply_label, list_images, require_folder
from ._labels import LabelMap
from ._manifest import Manifest, make_frame, unique_ids

__all__ = ["CKPLUS_EMOTIONS", "parse_ckplus", "read_ckplus_emotion", "read_ckplus_facs"]

#: CK+ emotion codes → CK+'s own names.
CKPLUS_EMOTIONS: dict[int, str] = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sadness",
    7: "surprise",
}

_FRAME = re.compile(r"^(?P<subject>S\d+)_(?P<seq>\d+)_(?P<frame>\d+)$")


def _numbers(path: Path) -> list[float]:
    try:
        text = path.read_text(encoding="ascii", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path.name}: {exc}") from None
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        raise ValueError(f"{path.name} holds something other than numbers") from None


def read_ckplus_emotion(path: Path) -> int:
    """The emotion code of a CK+ ``*_emotion.txt`` file (a float such as ``3.0000000e+00``)."""
    values = _numbers(path)
    if len(values) != 1 or values[0] != int(values[0]):
        raise ValueError(f"{path.name} should hold one whole number, holds {values[:3]}")
    return int(values[0])


def read_ckplus_facs(path: Path) -> dict[int, float]:
    """Action Unit → intensity from a CK+ ``*_facs.txt`` file (pairs of floats per line)."""
    values = _numbers(path)
    if len(values) % 2:
        raise ValueError(f"{path.name} should hold 'AU intensity' pairs")
    pairs = np.asarray(values, dtype=float).reshape(-1, 2)
    return {int(au): float(v) for au, v in pairs}


def _find_dir(root: Path, name: str) -> Path | None:
    """``root/name`` or ``root/*/name`` (zips unpack to e.g. ``Emotion_labels/Emotion``)."""
    direct = root / name
    if direct.is_dir():
        return direct
    for child in sorted(root.iterdir()):
        if child.is_dir() and (child / name).is_dir():
            return child / name
    return None


def _read_landmarks(path: Path) -> np.ndarray:
    values = _numbers(path)
    if len(values) != 136:
        raise ValueError(f"{path.name} holds {len(values) // 2} points, not 68")
    return np.asarray(values, dtype=float).reshape(68, 2)


def parse_ckplus(
    source,
    *,
    labels: LabelMap,
    dataset: str = "CK+",
    neutral_first: bool = False,
    frames: str = "peak",
    au_intensity: bool = False,
    landmarks: bool = False,
) -> Manifest:
    """Read a CK+ distribution folder (see the module docstring).

    Parameters
    ----------
    source : path-like
        The folder holding ``cohn-kanade-images/`` (and ``Emotion/``,
        ``FACS/``, ``Landmarks/``), or the images folder itself.
    labels : LabelMap
    dataset : str, default="CK+"
    neutral_first : bool, default=False
        Add each sequence's first frame as a ``neutral`` row.
    frames : {"peak", "all"}, default="peak"
    au_intensity : bool, default=False
        Add ``AU<n>_intensity`` columns.
    landmarks : bool, default=False
        Read the 68 AAM points of every listed frame (a landmark CSV is then
        written beside the manifest; CK+'s 68-point order is taken to be the
        iBUG/Multi-PIE one geoface uses).

    Returns
    -------
    Manifest
    """
    if frames not in ("peak", "all"):
        raise GeofaceError(f"--frames {frames!r} is not one of 'peak', 'all'")
    root = require_folder(source, "ckplus")
    images_dir = root / "cohn-kanade-images"
    if not images_dir.is_dir():
        images_dir = root
    emotion_dir = _find_dir(root, "Emotion")
    facs_dir = _find_dir(root, "FACS")
    lm_dir = _find_dir(root, "Landmarks") if landmarks else None
    if landmarks and lm_dir is None:
        raise GeofaceError(f"--landmarks: no Landmarks/ folder under {root}")
    files = list_images(images_dir, layout="ckplus")

    sequences: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    rows: list[dict] = []
    for f in files:
        rel = f.relative_to(images_dir)
        m = _FRAME.match(f.stem)
        if (
            m is None
            or len(rel.parts) < 3
            or rel.parts[-3] != m["subject"]
            or rel.parts[-2] != m["seq"]
        ):
            rows.append(
                {
                    "id": rel.with_suffix("").as_posix(),
                    "path": str(f),
                    "status": "unparsed",
                    "note": "not S###/###/S###_###_########.png as CK+ names frames",
                    "dataset": dataset,
                }
            )
            continue
        sequences.setdefault((m["subject"], m["seq"]), []).append((int(m["frame"]), f))

    n_unlisted = 0
    au_rows: list[dict[int, float] | None] = []
    lm_list: list[np.ndarray | None] = [None] * len(rows)
    au_rows += [None] * len(rows)
    for (subject, seq), frame_list in sorted(sequences.items()):
        frame_list.sort()
        seq_dir = Path(subject) / seq
        # the labelled frame: the one the Emotion/FACS files name, else the last one
        peak_frame, peak_note = frame_list[-1][0], ""
        emotion_file = facs_file = None
        for d, suffix in ((emotion_dir, "emotion"), (facs_dir, "facs")):
            if d is None or not (d / seq_dir).is_dir():
                continue
            found = sorted((d / seq_dir).glob(f"{subject}_{seq}_*_{suffix}.txt"))
            if found:
                if suffix == "emotion":
                    emotion_file = found[-1]
                else:
                    facs_file = found[-1]
        named = emotion_file or facs_file
        if named is not None:
            number = int(named.stem.split("_")[2])
            if number in {fr for fr, _ in frame_list}:
                peak_frame = number
            else:
                peak_note = f"{named.name} names a frame the sequence lacks; last frame used"
        aus: dict[int, float] | None = None
        au_note = ""
        if facs_file is not None:
            try:
                aus = read_ckplus_facs(facs_file)
            except ValueError as exc:
                au_note = str(exc)
        first_frame = frame_list[0][0]
        for number, f in frame_list:
            is_peak = number == peak_frame
            is_first = neutral_first and number == first_frame and not is_peak
            if not (is_peak or is_first or frames == "all"):
                n_unlisted += 1
                continue
            row = {
                "id": f.relative_to(images_dir).with_suffix("").as_posix(),
                "path": str(f),
                "subject": subject,
                "status": "",
                "note": "",
                "dataset": dataset,
                "sequence": f"{subject}_{seq}",
                "frame": number,
                "frame_role": "peak" if is_peak else ("first" if is_first else "intermediate"),
            }
            row_aus: dict[int, float] | None = None
            if is_peak:
                row["note"] = "; ".join(n for n in (peak_note, au_note) if n)
                row_aus = aus
                if emotion_file is None:
                    row.update(status="unlabelled", label=None, source_label=None)
                    row["note"] = row["note"] or "no Emotion file: CK+ gives this sequence no label"
                else:
                    try:
                        code = read_ckplus_emotion(emotion_file)
                    except ValueError as exc:
                        row.update(status="unparsed", note=str(exc), source_label=None)
                    else:
                        name = CKPLUS_EMOTIONS.get(code, str(code))
                        row["emotion_code"] = code
                        apply_label(row, name, labels)
            elif is_first:
                row["emotion_code"] = 0
                apply_label(row, "neutral", labels)
                row["note"] = "first frame of the sequence, taken as neutral"
                row_aus = {} if aus is not None else None
            else:
                row.update(status="unlabelled", note="intermediate frame", source_label=None)
            lm = None
            if lm_dir is not None:
                lm_file = lm_dir / seq_dir / f"{f.stem}_landmarks.txt"
                try:
                    lm = _read_landmarks(lm_file)
                except ValueError as exc:
                    row["note"] = "; ".join(n for n in (row["note"], str(exc)) if n)
            rows.append(row)
            au_rows.append(row_aus)
            lm_list.append(lm)

    all_aus = sorted({au for a in au_rows if a for au in a})
    for row, a in zip(rows, au_rows, strict=True):
        for au in all_aus:
            row[f"AU{au}"] = None if a is None else int(au in a)
            if au_intensity:
                row[f"AU{au}_intensity"] = None if a is None or au not in a else a[au]
    extra = ["sequence", "frame", "frame_role", "emotion_code"]
    frame = make_frame(rows, extra=extra)
    frame["id"] = unique_ids(list(frame["id"]))
    for col in ["frame", "emotion_code"] + [c for c in frame.columns if c.startswith("AU")]:
        frame[col] = frame[col].astype("Float64" if col.endswith("_intensity") else "Int64")
    info = {
        "sequences": len(sequences),
        "frames_not_listed": n_unlisted,
        "emotion_dir": str(emotion_dir) if emotion_dir else None,
        "facs_dir": str(facs_dir) if facs_dir else None,
        "action_units": [f"AU{au}" for au in all_aus],
        "messages": [],
    }
    if emotion_dir is None:
        info["messages"].append(f"note: no Emotion/ folder under {root}; no sequence is labelled")
    if n_unlisted:
        info["messages"].append(
            f"{n_unlisted} intermediate frames not listed (--frames all lists them as unlabelled)"
        )
    landmarks_arr = None
    if lm_dir is not None:
        landmarks_arr = np.full((len(rows), 68, 2), np.nan)
        for i, lm in enumerate(lm_list):
            if lm is not None:
                landmarks_arr[i] = lm
    return Manifest(
        frame=frame,
        layout="ckplus",
        source=Path(root),
        labels=labels,
        landmarks=landmarks_arr,
        info=info,
    )
