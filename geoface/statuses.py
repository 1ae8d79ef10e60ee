"""Every status word geoface writes: which step gives it, and whether the row is usable.

A row is never dropped: where a step cannot use it, the row keeps a status
that says why. Six steps give statuses:

* ``manifest`` — ``geoface manifest`` / :mod:`geoface.datasets` (column ``status``);
* ``landmarks`` — the landmark stage on images (column ``qc_status``);
* ``video`` — the frames of a video (column ``qc_status``, one row per sampled
  frame and kept face);
* ``events`` — coding-file events joined to frames (column ``status`` of the
  event table, ``label_status`` of frames);
* ``features`` — the geometry checks of feature extraction (column ``qc_status``);
* ``run`` — the rows of a run's ``oof_predictions.csv`` and of ``geoface
  predict``, ``explain`` and ``evaluate`` (column ``status``; a row whose
  table ``qc_status`` is not usable gets ``qc_<qc_status>``).

:data:`STATUSES` maps each word to its step(s), whether the row is usable
there, and what it means; the per-step tuples are what each step declares.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "DATASET_STATUSES",
    "EVENT_STATUSES",
    "FAILURE_STATUSES",
    "IMAGE_STATUSES",
    "QC_PREFIX",
    "QC_STATUSES",
    "RUN_STATUSES",
    "STATUSES",
    "USABLE_STATUSES",
    "VIDEO_STATUSES",
    "Status",
    "describe_status",
    "is_usable",
]


class Status(NamedTuple):
    """One status word: the steps that give it, whether the row is usable, what it means."""

    steps: tuple[str, ...]
    usable: bool
    meaning: str


#: ``geoface manifest``: what parsing a dataset's files made of each image.
DATASET_STATUSES: dict[str, str] = {
    "ok": "parsed, labelled with one of the classes",
    "unlabelled": "parsed, but the dataset gives this image no expression label",
    "excluded": "a known category left out (contempt unless --keep contempt, none, …)",
    "unknown_label": "a label the mapping does not know (add it with --label-map)",
    "unparsed": "the file name or annotation row does not follow the layout",
    "missing_file": "listed by an annotation file, but the image is not there",
}

#: The landmark stage: the ``qc_status`` of each image (or face).
IMAGE_STATUSES: tuple[str, ...] = (
    "ok",
    "multiple_faces",
    "fallback_box",
    "no_face",
    "unreadable",
    "too_large",
    "too_small",
    "error",
)

#: The frames of a video: the ``qc_status`` of each sampled frame (and kept face).
VIDEO_STATUSES: tuple[str, ...] = (
    "ok",
    "multiple_faces",
    "no_face",
    "lost_track",
    "unreadable_frame",
    "missing_frames",
    "unreadable_video",
    "no_video_stream",
    "empty_video",
    "too_large",
    "error",
)

#: Coding-file events (BORIS, ELAN, plain event CSV) and the frames they label.
EVENT_STATUSES: dict[str, str] = {
    "ok": "an event with onset < offset inside its video, or a frame inside one event",
    "point_event": "an event without duration (onset == offset); labels no frame",
    "overlapping": "a frame inside several events with different labels; left unlabelled",
    "outside_video": "an event wholly outside the video's time span",
    "unknown_video": "an event naming a video the frame table does not have",
    "bad_times": "onset or offset missing, not a number, or offset < onset",
    "unlabelled": "a frame inside no event",
}

#: Feature extraction's geometry checks on rows that have landmarks.
QC_STATUSES: tuple[str, ...] = ("ok", "nonfinite_landmarks", "degenerate")

#: Table ``qc_status`` values whose row has features a model may use.
USABLE_STATUSES: tuple[str, ...] = ("ok", "multiple_faces", "fallback_box")

#: Prefix of a run row's status when its table row was not usable (``qc_no_face``).
QC_PREFIX = "qc_"

#: The rows of a run, a prediction file or an evaluation (column ``status``).
RUN_STATUSES: dict[str, str] = {
    "ok": "predicted (and, in a run or an evaluation, scored)",
    "missing_target": "no value in the target column",
    "missing_group": "no value in the grouping column",
    "nonfinite_features": "a feature is NaN or infinite",
    "not_in_splits": "the splits file gives the row no fold",
    "missing_file": "the image file is not there (CNN baseline)",
    "unreadable": "the image could not be decoded (CNN baseline)",
    "no_path": "the row names no image file (CNN baseline)",
    "no_fold": "explain: the row's fold has no saved model",
    "over_max_rows": "explain: beyond --max-rows, not explained",
    "no_embedding": "explain: an early-fusion run has no CNN embedding for the face",
    "no_truth": "evaluate: the id is not in --truth",
    "no_prediction": "evaluate: the row has no prediction",
    "unseen_class": "evaluate: a true class the model never saw",
}

_MEANINGS = {
    "multiple_faces": "several faces, the largest kept",
    "fallback_box": "found only by the tight-crop fallback",
    "no_face": "no face found",
    "too_large": "more pixels than --max-pixels (or a file too big to decode); not decoded",
    "too_small": "shorter side below --min-size",
    "error": "the landmark backend failed on this image (message in qc_note)",
    "nonfinite_landmarks": "a landmark is missing or not finite",
    "lost_track": "video: the tracked face was lost and not found again on this frame",
    "unreadable_frame": "video: the frame could not be decoded (corrupt data)",
    "missing_frames": "video: frames the container promises but the file does not hold "
    "(truncated); one row stands for them",
    "unreadable_video": "video: the file could not be opened as a video (message in qc_note)",
    "no_video_stream": "video: the file holds no video stream (audio only?)",
    "empty_video": "video: the stream holds no frame (zero length)",
    "degenerate": "the face's mesh is degenerate (collapsed triangles)",
}


def _build() -> dict[str, Status]:
    steps: dict[str, list[str]] = {}
    for step, words in (
        ("manifest", DATASET_STATUSES),
        ("landmarks", IMAGE_STATUSES),
        ("video", VIDEO_STATUSES),
        ("events", EVENT_STATUSES),
        ("features", QC_STATUSES),
        ("run", RUN_STATUSES),
    ):
        for word in words:
            steps.setdefault(word, []).append(step)
    out = {}
    for word, where in steps.items():
        meaning = (
            RUN_STATUSES.get(word)
            or _MEANINGS.get(word)
            or DATASET_STATUSES.get(word)
            or EVENT_STATUSES.get(word)
            or "usable"
        )
        out[word] = Status(tuple(where), word in USABLE_STATUSES, meaning)
    return out


#: Every status word → :class:`Status` (steps, usable, meaning).
STATUSES: dict[str, Status] = _build()

#: Statuses whose row is left out of every model and metric.
FAILURE_STATUSES: tuple[str, ...] = tuple(w for w, s in STATUSES.items() if not s.usable)


def is_usable(status: str) -> bool:
    """Whether a ``qc_status`` (or a run row's ``status``) leaves the row usable."""
    return str(status) in USABLE_STATUSES


def describe_status(status: str) -> str:
    """What a status word means (a run's ``qc_<status>`` is described by its table status)."""
    word = str(status)
    if word not in STATUSES and word.startswith(QC_PREFIX):
        inner = STATUSES.get(word[len(QC_PREFIX) :])
        if inner is not None:
            return f"the table row was not usable: {inner.meaning}"
    entry = STATUSES.get(word)
    return entry.meaning if entry is not None else "unknown status"
