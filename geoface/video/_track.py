"""Faces over time: detect on keyframes, track between them with the landmark model alone.

On a *keyframe* the landmarker's detector looks at the whole frame and its
detections are matched to the live tracks by box overlap (IoU, Hungarian
assignment); faces that match no track start new ones. Between keyframes the
detector is not run: each track's landmarks on the previous frame give its box
on this frame (:func:`box_from_landmarks`) and the landmark model alone fits
the 68 points in it. The detector is the expensive part (dlib's HOG scan of a
640 × 360 frame costs several times a shape fit), so tracked frames are where
the speed comes from.

A keyframe is the first frame after :meth:`FaceTracker.reset`, every
``redetect_every``-th frame after it, every frame on which a track fails its
checks, and every frame while a track is lost or no track exists (searching).
The checks of a tracked fit (all cheap):

* **shape** — the Procrustes distance (RMS, in inter-ocular distances) of the
  68 points to the canonical template is at most ``max_shape_rmse``;
* **scale** — the box side changed by at most a factor ``max_scale_change``
  from the previous frame;
* **inside** — at least ``min_inside`` of the box area lies in the frame;
* **appearance** — the face's grey-level patch, warped to the template's frame
  (24 × 24 pixels), correlates with the previous frame's patch by at least
  ``min_appearance`` (normalised cross-correlation). A shape model always
  returns a face-like shape, even on an empty frame, so this is the check that
  notices a cut or the face leaving.

A tilted face (in-plane roll above ``derotate_above`` degrees, from the previous
frame's points) is fitted on a copy of its surroundings turned upright and its
points mapped back, on tracked frames and keyframes alike: dlib's shape model
and HOG detector are trained on upright faces, so a tracked head keeps its
landmarks when it tilts past the 30 degrees or so that the detector finds. On
a keyframe such a face, when the whole-frame detector misses it, is looked for
by the detector on the upright copy (confirmed when found there).

The landmarker's own detection (``landmarker.detect``, with its retry for a
face that fills the frame when that is on) runs on the scheduled keyframes; the
unscheduled ones (a failed check, searching) run its detector alone, which costs
a third as much on frames without a face. So a face that fills the frame is
found at the next scheduled keyframe.

A track not confirmed by the detector on a keyframe keeps its tracked fit when
that fit passes the checks, for at most ``max_missed_detections`` keyframes in
a row (detectors miss turned faces that the landmark model still follows);
otherwise it is lost on that frame. A track lost for more than ``max_lost``
frames in a row is dropped; until then a detection overlapping its last box
(moved by the track's last velocity) continues it. With ``reidentify``, a
detection that overlaps no track is compared by face descriptor with the tracks
not seen on that frame, dropped ones included, so identity survives cuts and
absences.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import GeofaceError
from ._face_geometry import (
    BOX_CALIBRATION,
    box_area,
    box_from_landmarks,
    box_iou,
    box_side,
    centred_template,
    face_patch,
    inside_fraction,
    match_boxes,
    patch_correlation,
    similarity_to_template,
    upright_crop,
)

__all__ = ["FACES_MODES", "FaceTracker", "TrackedFace", "stitch_tracks"]

#: ``faces=`` choices of :class:`FaceTracker`.
FACES_MODES: dict[str, str] = {
    "largest": "one track, the subject: the largest mean box area x frames seen so far",
    "all": "every track, one row each",
}


@dataclass
class TrackedFace:
    """One face on one frame.

    Attributes
    ----------
    track_id : int
        Stable within a segment (from 0, in order of first appearance, the
        largest first when several appear together).
    landmarks : ndarray of shape (68, 2)
        ``(x, y)`` pixels of the frame given.
    box : ndarray of shape (4,)
        ``(x0, y0, x1, y1)``: the detector's box on detected frames, the box
        derived from the landmarks (:func:`box_from_landmarks`) on tracked ones.
    score : float
        The detector's score on detected frames; NaN on tracked frames.
    how : {"detected", "tracked"}
    """

    track_id: int
    landmarks: np.ndarray
    box: np.ndarray
    score: float
    how: str


@dataclass(eq=False)
class _Track:
    track_id: int
    landmarks: np.ndarray
    box: np.ndarray
    patch: np.ndarray | None
    seen: int = 0
    area_sum: float = 0.0
    lost: int = 0
    missed: int = 0
    visible: TrackedFace | None = field(default=None, repr=False)
    # centre of the landmark-derived box on the last frame seen, and its motion per frame
    centre: np.ndarray | None = None
    # side of the landmark-derived box on the last frame seen (the detector's box may follow
    # another convention: the scale check compares like with like)
    side: float = float("nan")
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    # the face aligned for re-identification (when on) and its descriptor, made on demand
    chip: np.ndarray | None = field(default=None, repr=False)
    embedding: np.ndarray | None = field(default=None, repr=False)

    def expected_box(self) -> np.ndarray:
        """Where the last box is expected on the next frame (constant velocity)."""
        v = self.velocity * (self.lost + 1)
        return self.box + np.array([v[0], v[1], v[0], v[1]])

    @property
    def weight(self) -> float:
        # mean box area x frames seen == the sum of the box areas
        return self.area_sum


class _Identities:
    """Face chips and descriptors of one frame's detections, made when first needed."""

    def __init__(self, embedder, image, landmarks, boxes):
        self.embedder, self.image, self.landmarks, self.boxes = embedder, image, landmarks, boxes
        self.chips: dict[int, np.ndarray] = {}
        self.embeddings: dict[int, np.ndarray] = {}

    def embedding(self, j: int) -> np.ndarray:
        if j not in self.embeddings:
            if j not in self.chips:
                self.chips[j] = self.embedder.chip(self.image, self.landmarks[j], self.boxes[j])
            self.embeddings[j] = self.embedder.embed([self.chips[j]])[0]
        return self.embeddings[j]

    def distance(self, track: _Track, j: int) -> float:
        if track.embedding is None:
            track.embedding = self.embedder.embed([track.chip])[0]
        return float(np.linalg.norm(track.embedding - self.embedding(j)))


#: A frame's computation: a generator that yields requests to the landmarker —
#: ``("fit", images, boxes)``, ``("detect", images)`` or ``("find", images)`` (the
#: detector alone) — receives their answers and returns the frame's result.
_Work = Generator[tuple, Any, Any]


def _answer(landmarker: Any, requests: list[tuple]) -> list[list[Any]]:
    """Answer the requests of several frames in flight with one landmarker call per kind."""
    answers: list[list[Any]] = [[] for _ in requests]
    for kind in ("fit", "detect", "find"):
        idx = [k for k, r in enumerate(requests) if r[0] == kind]
        if not idx:
            continue
        images = [im for k in idx for im in requests[k][1]]
        if kind == "fit":
            got = landmarker.fit(images, [b for k in idx for b in requests[k][2]])
        elif kind == "detect":
            got = landmarker.detect(images)
        else:
            got = landmarker.detector.detect(images)
        pos = 0
        for k in idx:
            n = len(requests[k][1])
            answers[k] = list(got[pos : pos + n])
            pos += n
    return answers


def _drive(landmarker: Any, works: list[_Work]) -> list[Any]:
    """Run frame computations side by side, batching their requests to the landmarker."""
    results: list[Any] = [None] * len(works)
    pending: dict[int, tuple] = {}
    for k, work in enumerate(works):
        try:
            pending[k] = next(work)
        except StopIteration as done:
            results[k] = done.value
    while pending:
        # one kind per round, fits first: a frame that asks for a detection waits for the
        # others' fits, so that their detections come together
        kind = next(
            c for c in ("fit", "detect", "find") if any(r[0] == c for r in pending.values())
        )
        keys = [k for k, r in pending.items() if r[0] == kind]
        for k, answer in zip(keys, _answer(landmarker, [pending[k] for k in keys]), strict=True):
            try:
                pending[k] = works[k].send(answer)
            except StopIteration as done:
                results[k] = done.value
                del pending[k]
    return results


class FaceTracker:
    """Faces over the frames of one video segment: keyframe detection, tracking between.

    See the module docstring for when the detector runs and which checks a
    tracked fit must pass.

    **The subject** (``faces="largest"``): of the tracks not dropped, the one
    with the largest mean box area × number of frames it was seen so far in the
    segment (that is, the sum of its box areas), ties to the lower id. A face
    that is both large and present longest wins; a passer-by who is briefly
    closer to the camera does not take over. When the subject is not found on
    a frame the frame has status ``lost_track`` (another face on it is not
    substituted); when other faces were seen beside the subject it has
    ``multiple_faces``.

    Parameters
    ----------
    landmarker : Landmarker
        A :class:`~geoface.landmarks.Landmarker` (``make_landmarker("dlib")``):
        its ``detect`` runs on keyframes, its ``fit`` on tracked frames.
    faces : {"largest", "all"}, default="largest"
        ``"largest"``: return the subject only; ``"all"``: every face found.
    redetect_every : int, default=15
        Run the detector on every this-many-th frame (1: every frame).
    max_lost : int, default=15
        Frames in a row a track may be missing before it is dropped.
    min_iou : float, default=0.3
        Box overlap a detection needs to continue a track.
    max_shape_rmse : float, default=0.4
        Largest Procrustes RMS distance of a tracked shape to the template (in
        inter-ocular distances; dlib's fits of the HELEN faces: median 0.12,
        95th percentile 0.23).
    max_scale_change : float, default=1.3
        Largest change of the box size from one frame to the next.
    min_inside : float, default=0.6
        Smallest fraction of the box that must lie inside the frame.
    min_appearance : float, default=0.6
        Smallest correlation of the face patch with the previous frame's (on
        HELEN, the same face moved and zoomed by 4 %: 5th percentile 0.93;
        two different faces: median 0.24, 95th percentile 0.65).
    max_missed_detections : int, default=1
        Keyframes in a row a tracked face may go undetected and still be kept.
    reidentify : {"auto", True, False}, default="auto"
        Re-identify faces by their appearance (dlib's face-recognition network,
        :class:`FaceEmbedder`): a detection that continues no track by overlap
        is compared with the tracks not seen on that frame — lost ones, and
        dropped ones for ``identity_memory`` frames — and continues the
        nearest within ``max_identity_distance``. So a face keeps its id across
        a cut or after leaving and coming back. ``"auto"``: on when dlib and
        the model file are installed. Costs one descriptor (tens of
        milliseconds) per face involved, only when such a decision is made.
    max_identity_distance : float, default=0.5
        Largest descriptor distance for the same person (dlib's own threshold
        is 0.6; on HELEN faces the same photograph moved: up to 0.4, different
        people: 1st percentile 0.57).
    identity_memory : int, default=300
        Frames a dropped track is remembered for re-identification.
    derotate_above : float, default=10.0
        Degrees of head tilt (in-plane roll, from the previous frame's points)
        above which a tracked face is fitted on a copy of its surroundings
        turned upright, and the points mapped back: dlib's shape model is
        trained on upright faces (HELEN face tilted by 20 degrees: NME 0.065
        fitted as it is, 0.05 upright). 180 turns it off.

    Attributes
    ----------
    n_detected_frames_ : int
        Frames the detector ran on since construction (for benchmarks).
    n_frames_ : int
        Frames stepped since the last :meth:`reset`.
    """

    def __init__(
        self,
        landmarker: Any,
        *,
        faces: str = "largest",
        redetect_every: int = 15,
        max_lost: int = 15,
        min_iou: float = 0.3,
        max_shape_rmse: float = 0.4,
        max_scale_change: float = 1.3,
        min_inside: float = 0.6,
        min_appearance: float = 0.6,
        max_missed_detections: int = 1,
        reidentify: bool | str = "auto",
        max_identity_distance: float = 0.5,
        identity_memory: int = 300,
        derotate_above: float = 10.0,
    ):
        if faces not in FACES_MODES:
            raise GeofaceError(f"faces={faces!r} is not one of {set(FACES_MODES)}")
        for name, value in (
            ("redetect_every", redetect_every),
            ("max_lost", max_lost),
            ("max_missed_detections", max_missed_detections),
            ("identity_memory", identity_memory),
        ):
            least = 1 if name == "redetect_every" else 0
            if not isinstance(value, int | np.integer) or value < least:
                raise GeofaceError(
                    f"{name}={value!r} is not a whole number >= {least}; give e.g. 15"
                )
        for name, value, lo, hi in (
            ("min_iou", min_iou, 0.0, 1.0),
            ("min_inside", min_inside, 0.0, 1.0),
            ("min_appearance", min_appearance, -1.0, 1.0),
            ("max_shape_rmse", max_shape_rmse, 0.0, np.inf),
            ("max_scale_change", max_scale_change, 1.0, np.inf),
            ("max_identity_distance", max_identity_distance, 0.0, np.inf),
            ("derotate_above", derotate_above, 0.0, 180.0),
        ):
            if not (isinstance(value, int | float) and lo <= value <= hi):
                raise GeofaceError(f"{name}={value!r} is not a number in [{lo}, {hi}]")
        self.landmarker = landmarker
        self.faces = faces
        self.redetect_every = int(redetect_every)
        self.max_lost = int(max_lost)
        self.min_iou = float(min_iou)
        self.max_shape_rmse = float(max_shape_rmse)
        self.max_scale_change = float(max_scale_change)
        self.min_inside = float(min_inside)
        self.min_appearance = float(min_appearance)
        self.max_missed_detections = int(max_missed_detections)
        self.max_identity_distance = float(max_identity_distance)
        self.identity_memory = int(identity_memory)
        self.derotate_above = float(derotate_above)
        if reidentify not in ("auto", True, False):
            raise GeofaceError(f"reidentify={reidentify!r} is not one of 'auto', True, False")
        from ._identity import FaceEmbedder, face_embedder_available

        if reidentify == "auto":
            reidentify = face_embedder_available()
        self.reidentify = bool(reidentify)
        self._embedder = FaceEmbedder() if self.reidentify else None
        self._template = centred_template()
        self.n_detected_frames_ = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every track (the start of a segment): the next frame is a keyframe."""
        self._tracks: list[_Track] = []
        self._archive: list[_Track] = []
        self._next_id = 0
        self._ever = False
        self.n_frames_ = 0

    def fingerprint(self) -> dict[str, Any]:
        """The settings that determine the output (for cache keys and the sidecar).

        Returns
        -------
        dict
        """
        return {
            "tracker": "keyframe-detect+landmark-track",
            "version": 1,
            "faces": self.faces,
            "redetect_every": self.redetect_every,
            "max_lost": self.max_lost,
            "min_iou": self.min_iou,
            "max_shape_rmse": self.max_shape_rmse,
            "max_scale_change": self.max_scale_change,
            "min_inside": self.min_inside,
            "min_appearance": self.min_appearance,
            "max_missed_detections": self.max_missed_detections,
            "box_calibration": dict(BOX_CALIBRATION),
            "derotate_above": self.derotate_above,
            "reidentify": self.reidentify,
            **(
                {
                    "identity_model": self._embedder.name,
                    "max_identity_distance": self.max_identity_distance,
                    "identity_memory": self.identity_memory,
                }
                if self._embedder is not None
                else {}
            ),
        }

    # ------------------------------------------------------------------ steps
    def step(self, images: Sequence[np.ndarray | None]) -> list[tuple[list[TrackedFace], str, str]]:
        """Process the next frames of the segment, in order.

        The scheduled keyframes of the batch are detected in one call of the
        landmarker (batched); the rest is sequential. The result does not depend
        on how the frames are cut into batches.

        Parameters
        ----------
        images : sequence of ndarray of shape (height, width, 3), uint8 RGB, or None
            None for a frame that could not be decoded: it gets the status
            ``"unreadable_frame"`` and leaves the tracks as they are.

        Returns
        -------
        list of (faces, status, note)
            Per image: the faces kept (list of :class:`TrackedFace`, by track
            id), the frame's status (``"ok"``, ``"multiple_faces"``,
            ``"no_face"``, ``"lost_track"``, ``"unreadable_frame"``) and a note
            (empty when nothing is worth saying).
        """
        images = list(images)
        scheduled = [
            i
            for i in range(len(images))
            if (self.n_frames_ + i) % self.redetect_every == 0 and images[i] is not None
        ]
        pre = dict(zip(scheduled, self._detect([images[i] for i in scheduled]), strict=True))
        out = []
        for i, img in enumerate(images):
            if img is None:  # a frame the decoder could not give: the tracks wait
                self.n_frames_ += 1
                out.append(([], "unreadable_frame", "no image"))
            else:
                out.append(_drive(self.landmarker, [self._one(img, pre.get(i))])[0])
        return out

    @staticmethod
    def step_together(
        trackers: Sequence[FaceTracker], images: Sequence[np.ndarray | None]
    ) -> list[tuple[list[TrackedFace], str, str]]:
        """The next frame of several trackers at once, their landmarker calls batched.

        For a batched landmark model (FAN on a GPU): independent segments, each
        with its own tracker, advance one frame each, and every call to the
        landmarker (the fits of tracked faces, the detections of keyframes) is
        made once for all of them. Each tracker's result is the same as with
        :meth:`step`.

        Parameters
        ----------
        trackers : sequence of FaceTracker
            Distinct trackers sharing one landmarker.
        images : sequence of ndarray or None
            One frame per tracker.

        Returns
        -------
        list of (faces, status, note)
            One per tracker, as :meth:`step` gives per image.
        """
        trackers, images = list(trackers), list(images)
        if len(trackers) != len(images):
            raise GeofaceError(f"{len(trackers)} trackers for {len(images)} frames; give one each")
        if len({id(t) for t in trackers}) != len(trackers):
            raise GeofaceError("step_together needs distinct trackers (one per segment)")
        if any(t.landmarker is not trackers[0].landmarker for t in trackers):
            raise GeofaceError("step_together needs trackers that share one landmarker")
        out: list[Any] = [None] * len(trackers)
        works, where = [], []
        for k, (tracker, img) in enumerate(zip(trackers, images, strict=True)):
            if img is None:
                tracker.n_frames_ += 1
                out[k] = ([], "unreadable_frame", "no image")
                continue
            keyframe = tracker.n_frames_ % tracker.redetect_every == 0
            works.append(tracker._one(img, None, scheduled=keyframe))
            where.append(k)
        if works:
            for k, result in zip(where, _drive(trackers[0].landmarker, works), strict=True):
                out[k] = result
        return out

    def _detect(self, images: list[np.ndarray]) -> list[Any]:
        if not images:
            return []
        self.n_detected_frames_ += len(images)
        return self.landmarker.detect(images)

    def _qc(
        self, image: np.ndarray, track: _Track, landmarks: np.ndarray
    ) -> tuple[bool, str, np.ndarray, np.ndarray | None]:
        """Check a tracked fit: (passed, why not, its box, its patch)."""
        from ..mesh import align_to

        h, w = image.shape[:2]
        if not np.all(np.isfinite(landmarks)):
            return False, "non-finite fit", np.full(4, np.nan), None
        box = box_from_landmarks(landmarks)
        inside = inside_fraction(box, h, w)
        if inside < self.min_inside:
            return False, f"face leaving the frame ({inside:.0%} inside)", box, None
        ratio = box_side(box) / (track.side if np.isfinite(track.side) else box_side(track.box))
        if not (1 / self.max_scale_change <= ratio <= self.max_scale_change):
            return False, f"box size jumped x{ratio:.2f}", box, None
        _, params = align_to(landmarks, self._template, return_params=True)
        rmse = float(params["rmse"][0])
        if not rmse <= self.max_shape_rmse:
            return False, f"implausible shape (Procrustes {rmse:.2f})", box, None
        patch = face_patch(image, landmarks, self._template)
        if track.patch is not None:
            r = patch_correlation(track.patch, patch)
            if not r >= self.min_appearance:
                why = "no contrast" if np.isnan(r) else f"correlation {r:.2f}"
                return False, f"appearance changed ({why})", box, patch
        return True, "", box, patch

    def _fit(self, image: np.ndarray, boxes: np.ndarray, roll: np.ndarray) -> _Work:
        """The landmark model in ``boxes``, on upright copies for faces tilted beyond
        ``derotate_above``: one request to the landmarker."""
        upright = np.abs(roll) <= np.deg2rad(self.derotate_above)
        images, todo, back = [image], [boxes[upright]], []
        for k in np.flatnonzero(~upright):
            crop, affine, ubox = upright_crop(image, boxes[k], float(roll[k]), context=2.0)
            images.append(crop)
            todo.append(ubox[None])
            back.append((k, affine))
        got = yield ("fit", images, todo)
        fits = np.empty((len(boxes), 68, 2))
        fits[upright] = got[0]
        for (k, affine), pts in zip(back, got[1:], strict=True):
            # crop -> image: rot.T @ (p - shift), row-wise
            fits[k] = (pts[0] - affine[:, 2]) @ affine[:, :2]
        return fits

    def _fit_tracked(self, image: np.ndarray, live: list[_Track]) -> _Work:
        """The landmark model on each live track's expected box (upright when tilted)."""
        shapes = np.stack([t.landmarks for t in live])
        boxes = box_from_landmarks(shapes) + np.array([np.tile(t.velocity, 2) for t in live])
        roll = np.angle(similarity_to_template(shapes, self._template)[1])
        return (yield from self._fit(image, boxes, roll))

    def _upright_refit(self, image: np.ndarray, landmarks: np.ndarray) -> _Work:
        """Detected faces tilted beyond ``derotate_above``, fitted again upright."""
        out = np.array(landmarks, dtype=float).reshape(-1, 68, 2)
        if not len(out):
            return out
        roll = np.angle(similarity_to_template(out, self._template)[1])
        tilted = np.flatnonzero(np.abs(roll) > np.deg2rad(self.derotate_above))
        if len(tilted):
            out[tilted] = yield from self._fit(image, box_from_landmarks(out[tilted]), roll[tilted])
        return out

    def _detect_plain(self, image: np.ndarray) -> _Work:
        """The detector and the landmark model, without the tight-crop fallback."""
        from ..landmarks import Faces

        boxes, scores = (yield ("find", [image]))[0]
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        if not len(boxes):
            return Faces.none()
        fits = (yield ("fit", [image], [boxes]))[0]
        return Faces(fits, boxes, np.asarray(scores, dtype=float))

    def _confirm_upright(self, image: np.ndarray, pts: np.ndarray, box: np.ndarray) -> _Work:
        """The detector's score for a tilted tracked face, looked for upright; None if not."""
        import cv2

        roll = float(np.angle(similarity_to_template(pts, self._template)[1][0]))
        if abs(roll) <= np.deg2rad(max(self.derotate_above, 20.0)):
            return None  # upright enough for the whole-frame detector: it missed the face
        crop, _, ubox = upright_crop(image, box, roll, context=3.0)
        # scanned at 640 pixels: detectors that upsample small images do not here
        scale = 640 / crop.shape[0]
        crop = cv2.resize(crop, (640, 640), interpolation=cv2.INTER_AREA)
        found, scores = (yield ("find", [crop]))[0]
        found = np.asarray(found, dtype=float).reshape(-1, 4)
        if not len(found):
            return None
        iou = box_iou(ubox[None] * scale, found)[0]
        best = int(np.argmax(iou))
        return float(np.asarray(scores)[best]) if iou[best] >= self.min_iou else None

    def _new_track(self, image, landmarks, box, score, chip=None, embedding=None) -> _Track:
        t = _Track(self._next_id, landmarks, box, face_patch(image, landmarks, self._template))
        if self._embedder is not None:
            t.chip = self._embedder.chip(image, landmarks, box) if chip is None else chip
            t.embedding = embedding
        self._next_id += 1
        self._ever = True
        t.visible = TrackedFace(t.track_id, landmarks, box, float(score), "detected")
        self._tracks.append(t)
        return t

    def _one(self, image: np.ndarray, detected: Any | None, *, scheduled: bool = False) -> _Work:
        """One frame (a generator of requests to the landmarker, see :func:`_drive`)."""
        image = np.asarray(image)
        notes: list[str] = []
        for t in self._tracks:
            t.visible = None
        live = [t for t in self._tracks if t.lost == 0]
        # 1. track: the previous landmarks give the box, the landmark model the points
        tracked: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        failed: list[str] = []
        suspects: set[int] = set()  # tracks whose appearance changed: a cut?
        if live:
            fits = yield from self._fit_tracked(image, live)
            for t, pts in zip(live, fits, strict=True):
                ok, why, box, patch = self._qc(image, t, pts)
                if ok:
                    tracked[t.track_id] = (pts, box, patch)
                else:
                    failed.append(f"track {t.track_id}: {why}")
                    if why.startswith("appearance"):
                        suspects.add(t.track_id)
        searching = not live or any(t.lost for t in self._tracks)
        if detected is None and (scheduled or failed or searching):
            self.n_detected_frames_ += 1
            if scheduled:
                detected = (yield ("detect", [image]))[0]
            else:  # between keyframes: the detector without the landmarker's tight-crop retry
                detected = yield from self._detect_plain(image)
        if failed:
            notes.append("re-detected (" + "; ".join(failed) + ")")
        if detected is not None:
            yield from self._keyframe(image, detected, tracked, suspects, notes)
        else:
            for t in live:
                pts, box, patch = tracked[t.track_id]
                t.visible = TrackedFace(t.track_id, pts, box, float("nan"), "tracked")
                t.patch = patch
        # 2. book-keeping: landmarks for the next frame, lost counts, the subject's weight
        for t in self._tracks:
            if t.visible is not None:
                b = t.visible.box
                if t.visible.how != "tracked":
                    b = box_from_landmarks(t.visible.landmarks)
                centre = 0.5 * (b[:2] + b[2:])
                if t.centre is not None and np.all(np.isfinite(centre)):
                    step = (centre - t.centre) / (t.lost + 1)
                    t.velocity = step if t.seen == 1 else 0.5 * (t.velocity + step)
                t.centre = centre
                t.side = box_side(b)
                t.landmarks, t.box = t.visible.landmarks, t.visible.box
                t.seen += 1
                t.area_sum += box_area(t.visible.box)
                t.lost = 0
            else:
                t.lost += 1
        self._suppress_duplicates()
        for t in self._archive:
            t.lost += 1
        dropped = [t for t in self._tracks if t.lost > self.max_lost]
        if dropped:
            self._tracks = [t for t in self._tracks if t.lost <= self.max_lost]
            if self._embedder is not None:  # remembered for re-identification only
                self._archive.extend(dropped)
        self._archive = [t for t in self._archive if t.lost <= self.identity_memory]
        self.n_frames_ += 1
        return self._result(notes)

    def _keyframe(self, image, detected, tracked, suspects: set[int], notes: list[str]) -> _Work:
        """Match the detections to the tracks; new tracks for the rest."""
        boxes = np.asarray(detected.boxes, dtype=float).reshape(-1, 4)
        landmarks = yield from self._upright_refit(image, detected.landmarks)
        ident = _Identities(self._embedder, image, landmarks, boxes)
        tracks = self._tracks
        # where each track is expected: its tracked box on this frame, else its last box
        where = np.array(
            [tracked[t.track_id][1] if t.track_id in tracked else t.expected_box() for t in tracks]
        ).reshape(-1, 4)
        pairs = match_boxes(where, boxes, self.min_iou)
        if self._embedder is not None and suspects:
            # after a sudden change of appearance, the face in the same place must be the
            # same person to continue the track
            keep = []
            for i, j in pairs:
                t = tracks[i]
                if t.track_id in suspects and t.chip is not None:
                    d = ident.distance(t, j)
                    if d > self.max_identity_distance:
                        notes.append(f"track {t.track_id}: another person (face distance {d:.2f})")
                        continue
                keep.append((i, j))
            pairs = keep
        matched_t = {i for i, _ in pairs}
        matched_d = {j for _, j in pairs}
        for i, j in pairs:
            t = tracks[i]
            pts = ident.landmarks[j]
            t.visible = TrackedFace(
                t.track_id, pts, boxes[j].copy(), float(detected.scores[j]), "detected"
            )
            t.patch = face_patch(image, pts, self._template)
            t.missed = 0
        for i, t in enumerate(tracks):
            if i in matched_t or t.track_id not in tracked:
                continue
            pts, box, patch = tracked[t.track_id]
            score = yield from self._confirm_upright(image, pts, box)
            if score is not None:  # a tilted face the detector finds once it is upright
                t.visible = TrackedFace(t.track_id, pts, box, score, "detected")
                t.patch = patch
                t.missed = 0
            elif t.missed < self.max_missed_detections:
                t.visible = TrackedFace(t.track_id, pts, box, float("nan"), "tracked")
                t.patch = patch
                t.missed += 1
                notes.append(f"track {t.track_id} kept though not detected")
        new = [j for j in range(len(boxes)) if j not in matched_d]
        new.sort(key=lambda j: -box_area(boxes[j]))
        continued = self._reidentify(image, detected, new, ident, notes)
        for j in new:
            if j not in continued:
                self._new_track(
                    image,
                    ident.landmarks[j],
                    boxes[j].copy(),
                    detected.scores[j],
                    chip=ident.chips.get(j),
                    embedding=ident.embeddings.get(j),
                )
        if detected.how == "fallback" and len(boxes):
            notes.append("face fills the frame: found on a border-extended copy")

    def _reidentify(self, image, detected, new: list[int], ident, notes: list[str]) -> set[int]:
        """Continue tracks not seen on this frame with unmatched detections of the same person.

        Returns the indices of the detections that continue a track.
        """
        if self._embedder is None or not new:
            return set()
        candidates = [
            t for t in [*self._tracks, *self._archive] if t.visible is None and t.chip is not None
        ]
        if not candidates:
            return set()
        from scipy.optimize import linear_sum_assignment

        dist = np.array([[ident.distance(t, j) for j in new] for t in candidates])
        rows, cols = linear_sum_assignment(dist)
        continued: set[int] = set()
        boxes = ident.boxes
        for i, k in zip(rows, cols, strict=True):
            if dist[i, k] > self.max_identity_distance:
                continue
            t, j = candidates[i], new[k]
            pts = ident.landmarks[j]
            t.visible = TrackedFace(
                t.track_id, pts, boxes[j].copy(), float(detected.scores[j]), "detected"
            )
            t.patch = face_patch(image, pts, self._template)
            t.missed = 0
            t.centre, t.velocity = None, np.zeros(2)  # no motion across the jump
            if any(a is t for a in self._archive):
                self._archive = [a for a in self._archive if a is not t]
                self._tracks.append(t)
            continued.add(j)
            notes.append(f"track {t.track_id} re-identified (face distance {dist[i, k]:.2f})")
        return continued

    def _suppress_duplicates(self) -> None:
        """Two visible tracks on one face: the lighter one is lost on this frame."""
        vis = [t for t in self._tracks if t.visible is not None]
        if len(vis) < 2:
            return
        vis.sort(key=lambda t: (-t.weight, t.track_id))
        boxes = np.array([t.visible.box for t in vis])
        iou = box_iou(boxes, boxes)
        for k in range(1, len(vis)):
            if any(iou[k, m] > 0.5 and vis[m].visible is not None for m in range(k)):
                t = vis[k]
                t.area_sum -= box_area(t.visible.box)
                t.seen -= 1
                t.visible = None
                t.lost += 1

    def subject_id(self) -> int | None:
        """The id of the subject track so far (see the class docstring), or None."""
        if not self._tracks:
            return None
        return min(self._tracks, key=lambda t: (-t.weight, t.track_id)).track_id

    def _result(self, notes: list[str]) -> tuple[list[TrackedFace], str, str]:
        visible = sorted(
            (t for t in self._tracks if t.visible is not None), key=lambda t: t.track_id
        )
        gone = "lost_track" if self._ever else "no_face"
        if self.faces == "all":
            faces = [t.visible for t in visible]
            return faces, ("ok" if faces else gone), "; ".join(notes)
        subject = self.subject_id()
        chosen = [t.visible for t in visible if t.track_id == subject]
        others = len(visible) - len(chosen)
        if not chosen:
            if others:
                notes.append(f"subject track {subject} not found; {others} other face(s) seen")
            return [], gone, "; ".join(notes)
        if others:
            notes.append(f"{others} other face(s) seen")
            return chosen, "multiple_faces", "; ".join(notes)
        return chosen, "ok", "; ".join(notes)


def stitch_tracks(
    prev_last: Sequence[TrackedFace], next_first: Sequence[TrackedFace], *, min_iou: float = 0.3
) -> dict[int, int]:
    """Continue the previous segment's tracks into the next segment.

    Segments are tracked independently (the tracker is reset at each one), so
    track ids are local to a segment. The faces at the end of one segment and at
    the start of the next are matched by box overlap (maximum total IoU,
    Hungarian assignment).

    Parameters
    ----------
    prev_last : sequence of TrackedFace
        The last face of each track of the previous segment (their ids are
        already global).
    next_first : sequence of TrackedFace
        The first face of each track of the next segment (local ids).
    min_iou : float, default=0.3
        Overlap a pair needs to be the same track.

    Returns
    -------
    dict of int to int
        Local id in the next segment → id of the previous segment's track it
        continues. Local ids not in the mapping start new tracks (the caller
        gives them the next free global ids).
    """
    if not 0.0 <= min_iou <= 1.0:
        raise GeofaceError(f"min_iou={min_iou!r} is not a number in [0, 1]")
    prev, nxt = list(prev_last), list(next_first)
    a = np.array([f.box for f in prev], dtype=float).reshape(-1, 4)
    b = np.array([f.box for f in nxt], dtype=float).reshape(-1, 4)
    return {nxt[j].track_id: prev[i].track_id for i, j in match_boxes(a, b, min_iou)}
