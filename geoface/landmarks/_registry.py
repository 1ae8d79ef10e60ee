"""Choosing a landmark backend and a face detector by name (``--landmarker``, ``--detector``)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from .._errors import GeofaceError, MissingDependencyError
from ._backends import FaceDetector, Landmarker, WholeImageDetector

__all__ = ["DETECTORS", "LANDMARKERS", "make_detector", "make_landmarker"]

#: Landmark backends: name → what it is.
LANDMARKERS: dict[str, str] = {
    "auto": "fan when its weights are on this machine, else dlib",
    "fan": "face-alignment 2D-FAN (S3FD detector), batched, CPU or GPU",
    "dlib": "dlib HOG detector + 68-point shape predictor, offline",
    "file": "landmarks already on disk: .pts / OpenFace .csv beside each image, or a table",
}
#: Face detectors: name → what it is.
DETECTORS: dict[str, str] = {
    "auto": "the backend's own: sfd for fan, hog for dlib",
    "sfd": "S3FD (face-alignment), needs its weights",
    "hog": "dlib's HOG frontal-face detector",
    "none": "the whole image is the face (pre-cropped faces)",
}


def make_detector(
    name: str,
    *,
    default: str,
    detect_side: int | None = None,
    n_jobs: int | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    weights_dir: str | os.PathLike | None = None,
    allow_download: bool = False,
) -> FaceDetector:
    """Build a detector by name (``"auto"`` means ``default``)."""
    if name not in DETECTORS:
        raise GeofaceError(f"detector={name!r} is not one of {set(DETECTORS)}")
    if name == "auto":
        name = default
    if name == "none":
        return WholeImageDetector()
    if name == "hog":
        from ._dlib import HogDetector

        return HogDetector(detect_side=detect_side or 800, n_jobs=n_jobs)
    from ._sfd import S3fdDetector

    return S3fdDetector(
        device=device,
        detect_side=detect_side or 640,
        batch_size=batch_size or 8,
        weights_dir=weights_dir,
        allow_download=allow_download,
    )


def _fan_usable(detector: str, weights_dir) -> tuple[bool, str]:
    """Whether fan can run here without downloading anything, and if not, why."""
    for module in ("torch", "face_alignment"):
        if importlib.util.find_spec(module) is None:
            return False, f"{module} is not installed"
    from ._fan import FAN_WEIGHT_FILES, find_fan_weights

    roles = ["fan"] + (["sfd"] if detector in ("auto", "sfd") else [])
    missing = [FAN_WEIGHT_FILES[r] for r in roles if find_fan_weights(r, weights_dir) is None]
    if missing:
        return False, f"face-alignment weights {', '.join(missing)} are not on this machine"
    return True, ""


def make_landmarker(
    name: str = "auto",
    *,
    detector: str = "auto",
    device: str = "auto",
    weights_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    detect_side: int | None = None,
    n_jobs: int | None = None,
    fallback: bool = True,
    table: str | os.PathLike | None = None,
    allow_download: bool | None = None,
    mirror_average: bool | None = None,
    upsample: int | None = None,
) -> Landmarker:
    """Build a landmark backend by name.

    Parameters
    ----------
    name : {"auto", "fan", "dlib", "file"}, default="auto"
        ``"auto"`` picks ``fan`` when face-alignment and its weights are on
        this machine (nothing is downloaded), else ``dlib``, else raises an
        error naming what to install. The reason for the choice is in the
        returned object's ``choice`` attribute.
    detector : {"auto", "sfd", "hog", "none"}, default="auto"
    device : str, default="auto"
        For ``fan`` (and the ``sfd`` detector).
    weights_dir : path, optional
        Folder of face-alignment weight files.
    batch_size, detect_side, n_jobs, fallback
        Passed to the backend.
    table : path, optional
        For ``file``: a landmark table naming the images.
    allow_download : bool, optional
        Let ``fan`` fetch missing weights; by default only when ``name="fan"``
        was asked for explicitly.
    mirror_average, upsample
        Landmark denoising of the ``dlib`` backend (see
        :class:`~geoface.landmarks.DlibLandmarker`; ``None`` is its default:
        mirror averaging on, upsampling to 200 px); asking another backend for
        them is an error.

    Returns
    -------
    Landmarker
    """
    if name not in LANDMARKERS:
        raise GeofaceError(f"landmarker={name!r} is not one of {set(LANDMARKERS)}")
    if detector not in DETECTORS:
        raise GeofaceError(f"detector={detector!r} is not one of {set(DETECTORS)}")
    if table is not None and name != "file":
        raise GeofaceError(
            f"a landmark table ({table}) is read by the file landmarker; add --landmarker file"
        )
    choice = f"{name} (asked for)"
    if name == "auto":
        ok, why = _fan_usable(detector, weights_dir)
        if ok:
            name, choice = "fan", "fan (face-alignment and its weights are installed)"
        else:
            from ._dlib import dlib_available

            if not dlib_available():
                raise MissingDependencyError(
                    f"no landmarker is usable here: {why}, and dlib is not installed; "
                    "install dlib (pip install 'geoface[dlib]'), or put the face-alignment "
                    "weights in --weights-dir, or run with --landmarker fan once online to "
                    "download them"
                )
            name, choice = "dlib", f"dlib ({why})"
    if allow_download is None:
        allow_download = choice.endswith("(asked for)")
    options: dict[str, Any] = {"fallback": fallback}
    if (mirror_average or upsample) and name != "dlib":
        raise GeofaceError(
            f"mirror_average / upsample apply to the dlib landmarker, not {name!r}; "
            "add --landmarker dlib or leave them out"
        )
    if name == "dlib":
        if mirror_average is not None:
            options["mirror_average"] = bool(mirror_average)
        if upsample is not None:
            options["upsample"] = upsample
    if name == "file":
        if detector not in ("auto", "none"):
            raise GeofaceError(
                f"detector={detector!r} does not apply to the file landmarker, which reads "
                "landmarks; leave --detector out"
            )
        from ._files import FileLandmarker

        lm: Landmarker = FileLandmarker(table=table)
    elif name == "dlib":
        from ._dlib import DlibLandmarker

        if detector == "sfd":
            detector_obj = make_detector(
                "sfd",
                default="sfd",
                detect_side=detect_side,
                device=device,
                batch_size=batch_size,
                weights_dir=weights_dir,
                allow_download=allow_download,
            )
            lm = DlibLandmarker(detector=detector_obj, n_jobs=n_jobs, **options)
        else:
            lm = DlibLandmarker(
                detector=detector, detect_side=detect_side or 800, n_jobs=n_jobs, **options
            )
    else:
        from ._fan import FanLandmarker

        lm = FanLandmarker(
            detector=detector,
            device=device,
            batch_size=batch_size,
            weights_dir=weights_dir,
            detect_side=detect_side,
            allow_download=allow_download,
            n_jobs=n_jobs,
            **options,
        )
    lm.choice = choice
    return lm
