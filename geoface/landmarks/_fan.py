"""The face-alignment backend: S3FD face detector + 2D-FAN heatmap landmarks, batched.

geoface uses face-alignment's network classes (``FAN``, ``s3fd``) with its
own batched pre- and post-processing: the crops of every face of a batch of
images go through the network together, heatmaps are decoded on the device,
and nothing is compiled (``torch.compile`` and TorchScript are never used),
so the same code runs on a CPU, a CUDA GPU or Apple's MPS.

Weights
-------
Two files, looked for (without any download) in ``weights_dir`` when given,
else in ``$GEOFACE_WEIGHTS_DIR`` and in PyTorch's hub cache
(``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``,
where face-alignment itself keeps them):

* ``2DFAN4-11f355bf06.pth.tar`` — the 2D-FAN-4 landmark network,
  https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar
* ``s3fd-619a316812.pth`` — the S3FD face detector,
  https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth

Only ``allow_download=True`` (``--landmarker fan`` on the command line)
fetches missing files, into the hub cache (or ``weights_dir``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._convention import MIRROR_PERMUTATION
from .._errors import GeofaceError, MissingDependencyError
from ._backends import FaceDetector, Landmarker

__all__ = [
    "FAN_WEIGHT_FILES",
    "FAN_WEIGHT_URLS",
    "WEIGHTS_ENV",
    "FanLandmarker",
    "find_fan_weights",
    "resolve_device",
]

#: Weight files by role: ``"fan"`` (landmarks) and ``"sfd"`` (face detector).
FAN_WEIGHT_FILES: dict[str, str] = {
    "fan": "2DFAN4-11f355bf06.pth.tar",
    "sfd": "s3fd-619a316812.pth",
}
#: Where face-alignment publishes them.
FAN_WEIGHT_URLS: dict[str, str] = {
    k: f"https://www.adrianbulat.com/downloads/python-fan/{v}" for k, v in FAN_WEIGHT_FILES.items()
}
#: Environment variable naming a folder of pre-downloaded weight files.
WEIGHTS_ENV = "GEOFACE_WEIGHTS_DIR"

_INSTALL = "pip install face-alignment torch"
CROP = 256  # network input, pixels
HEATMAP = 64  # network output, pixels
_REFERENCE_SCALE = 195.0  # face-alignment's box → crop scale convention
_CENTER_Y_OFFSET = 0.12


def _torch_hub_checkpoints() -> Path:
    """PyTorch's hub cache, found as ``torch.hub.get_dir`` does, without importing torch."""
    home = os.environ.get("TORCH_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        base = Path(cache) / "torch"
    return base / "hub" / "checkpoints"


def _search_dirs(weights_dir: str | os.PathLike | None) -> list[Path]:
    if weights_dir is not None:
        return [Path(weights_dir).expanduser()]
    dirs = []
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(_torch_hub_checkpoints())
    return dirs


def find_fan_weights(role: str, weights_dir: str | os.PathLike | None = None) -> Path | None:
    """The local weight file for ``role`` (``"fan"`` or ``"sfd"``), or None; never downloads."""
    name = FAN_WEIGHT_FILES[role]
    for d in _search_dirs(weights_dir):
        if (d / name).is_file():
            return d / name
    return None


def _missing_message(roles: Sequence[str], weights_dir) -> str:
    names = " and ".join(FAN_WEIGHT_FILES[r] for r in roles)
    where = ", ".join(str(d) for d in _search_dirs(weights_dir))
    return (
        f"face-alignment weights {names} not found in {where}; download them from "
        f"{FAN_WEIGHT_URLS[roles[0]].rsplit('/', 1)[0]}/ into a folder and pass --weights-dir "
        f"(or set {WEIGHTS_ENV}), or use --landmarker dlib"
    )


def _weights(role: str, weights_dir, allow_download: bool) -> Path:
    path = find_fan_weights(role, weights_dir)
    if path is not None:
        return path
    if not allow_download:
        raise MissingDependencyError(_missing_message([role], weights_dir))
    torch = _import_torch()
    target = _search_dirs(weights_dir)[-1] / FAN_WEIGHT_FILES[role]
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(FAN_WEIGHT_URLS[role], str(target), progress=True)
    except Exception as exc:  # network errors come in many types
        raise MissingDependencyError(
            f"cannot download {FAN_WEIGHT_URLS[role]} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); "
            + _missing_message([role], weights_dir)
        ) from None
    return target


def _import_torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(f"the fan landmarker needs PyTorch: {_INSTALL}") from None
    return torch


def _load_state(path: Path) -> dict:
    torch = _import_torch()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GeofaceError(
            f"cannot load weights {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}; "
            "the file is damaged or not a PyTorch state dict: download it again"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise GeofaceError(f"weights {path} hold a {type(state).__name__}, not a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when PyTorch sees a GPU, else ``"mps"`` or ``"cpu"``.

    Raises
    ------
    GeofaceError
        For an unknown device or a GPU PyTorch cannot see.
    """
    torch = _import_torch()
    dev = str(device).strip().lower()
    if dev == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if dev == "cpu":
        return dev
    if dev == "cuda" or dev.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GeofaceError(
                f"device={device!r} but PyTorch sees no CUDA GPU; use --device cpu or auto"
            )
        return dev
    if dev == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise GeofaceError("device='mps' but PyTorch sees no Apple GPU; use --device cpu")
        return dev
    raise GeofaceError(
        f"device={device!r} is not one of {{'auto', 'cpu', 'cuda', 'cuda:N', 'mps'}}"
    )


def _load_network(net, path: Path, what: str):
    try:
        net.load_state_dict(_load_state(path))
    except RuntimeError as exc:
        raise GeofaceError(
            f"weights {path} do not fit the {what} network ({str(exc).splitlines()[0]}); "
            f"expected {FAN_WEIGHT_FILES['fan' if what == 'FAN' else 'sfd']} from face-alignment"
        ) from None
    return net


# ------------------------------------------------------------------------- FAN
def face_window(box: np.ndarray) -> tuple[float, float, float]:
    """The square crop FAN sees for a face box: ``(x0, y0, side)`` in whole pixels.

    face-alignment's convention: centre of the box moved up by 12 % of its
    height, side ``200 × (width + height) / 195``.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    cx = (x0 + x1) / 2.0
    cy = (y0 + y1) / 2.0 - (y1 - y0) * _CENTER_Y_OFFSET
    side = 200.0 * ((x1 - x0) + (y1 - y0)) / _REFERENCE_SCALE
    side = max(1.0, round(side))
    return float(round(cx - side / 2)), float(round(cy - side / 2)), side


def crop_face(image: np.ndarray, window: tuple[float, float, float]) -> np.ndarray:
    """Cut the window out of ``image`` (zero outside it) and resize it to 256 × 256.

    Crop pixel ``k``'s centre is image coordinate ``x0 + (k + 0.5) · side / 256 − 0.5``.
    A large window is first halved with Gaussian pyramids (anti-aliasing) until it
    is at most twice the crop, then one affine warp samples the crop, so no padded
    copy of the window is ever made.
    """
    import cv2

    x0, y0, side = (float(v) for v in window)
    step = side / CROP  # source pixels per crop pixel
    src, scale = image, 1.0
    while step / scale > 2.0 and min(src.shape[:2]) >= 2:
        src = cv2.pyrDown(src)  # pixel i of the result sits at 2i of its source
        scale *= 2.0
    a = step / scale
    m = np.array(
        [[a, 0.0, (x0 + 0.5 * step - 0.5) / scale], [0.0, a, (y0 + 0.5 * step - 0.5) / scale]]
    )
    return cv2.warpAffine(
        src,
        m,
        (CROP, CROP),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def heatmap_peaks(heatmaps) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peaks of FAN heatmaps, as face-alignment reads them.

    Parameters
    ----------
    heatmaps : tensor of shape (n, 68, 64, 64)

    Returns
    -------
    points : ndarray of shape (n, 68, 2)
        Peak positions in heatmap units, ``0`` being the left/top edge: the
        arg-max pixel's centre (``i + 0.5``), moved a quarter pixel towards
        the larger neighbour.
    scores : ndarray of shape (n, 68)
        Heatmap value at the peak.
    """
    import torch

    hm = heatmaps.float()
    n, c, h, w = hm.shape
    flat = hm.reshape(n, c, h * w)
    val, idx = flat.max(dim=-1)
    px, py = idx % w, torch.div(idx, w, rounding_mode="floor")
    inner = (px > 0) & (px < w - 1) & (py > 0) & (py < h - 1)

    def at(yy, xx):
        return flat.gather(-1, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(-1))[..., 0]

    dx = torch.sign(at(py, px + 1) - at(py, px - 1)) * 0.25
    dy = torch.sign(at(py + 1, px) - at(py - 1, px)) * 0.25
    dx, dy = dx * inner, dy * inner
    pts = torch.stack([px.float() + 0.5 + dx, py.float() + 0.5 + dy], dim=-1)
    return pts.cpu().numpy().astype(float), val.cpu().numpy().astype(float)


def peaks_to_image(points: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Map heatmap-unit points of shape (n, 68, 2) back to image pixels via each face's window."""
    win = np.asarray(windows, dtype=float).reshape(-1, 3)
    origin = win[:, None, :2]
    return origin + points * (win[:, 2, None, None] / HEATMAP) - 0.5


class FanLandmarker(Landmarker):
    """2D-FAN landmarks (face-alignment), batched across images and faces.

    Parameters
    ----------
    detector : "sfd", "hog", "none" or FaceDetector, default="sfd"
    device : str, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    batch_size : int, optional
        Faces per forward pass (and images per detector batch); 32 on a GPU,
        4 on the CPU by default.
    weights_dir : path, optional
        Folder holding :data:`FAN_WEIGHT_FILES` (else ``$GEOFACE_WEIGHTS_DIR``
        and PyTorch's hub cache are searched).
    detect_side : int, optional
        Detection resolution (640 for ``sfd``, 800 for ``hog``).
    flip : bool, default=False
        Average with the prediction on the mirrored crop (twice the work).
    fallback : bool, default=True
    allow_download : bool, default=False
        Fetch missing weights from face-alignment's server.
    """

    name = "fan"

    def __init__(
        self,
        *,
        detector: str | FaceDetector = "sfd",
        device: str = "auto",
        batch_size: int | None = None,
        weights_dir: str | os.PathLike | None = None,
        detect_side: int | None = None,
        flip: bool = False,
        fallback: bool = True,
        allow_download: bool = False,
        n_jobs: int | None = None,
    ):
        from ._registry import make_detector

        torch = _import_torch()
        try:
            from face_alignment.models import FAN
        except ImportError:
            raise MissingDependencyError(
                f"the fan landmarker needs face-alignment: {_INSTALL}"
            ) from None
        self.device = resolve_device(device)
        gpu = self.device != "cpu"
        self.batch_size = int(batch_size) if batch_size else (32 if gpu else 4)
        self.flip = bool(flip)
        self.weights = _weights("fan", weights_dir, allow_download)
        state = _load_state(self.weights)
        modules = {int(k.split(".")[0][1:]) for k in state if k[:1] == "l" and k[1:2].isdigit()}
        if not modules:
            raise GeofaceError(f"weights {self.weights} are not a FAN state dict (no 'l0.' layer)")
        net = FAN(max(modules) + 1)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise GeofaceError(
                f"weights {self.weights} do not fit the FAN network ({str(exc).splitlines()[0]})"
            ) from None
        self._net = net.to(self.device).eval()
        self._torch = torch
        if isinstance(detector, str):
            detector = make_detector(
                detector,
                default="sfd",
                device=self.device,
                detect_side=detect_side,
                batch_size=min(self.batch_size, 8),  # S3FD's activations are large
                weights_dir=weights_dir,
                allow_download=allow_download,
                n_jobs=n_jobs,
            )
        super().__init__(detector=detector, fallback=fallback)

    def _forward(self, crops: np.ndarray):
        torch = self._torch
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        with torch.inference_mode():
            out = self._net(x)
            hm = out[-1] if isinstance(out, list | tuple) else out
            if self.flip:
                back = self._net(x.flip(-1))
                back = back[-1] if isinstance(back, list | tuple) else back
                perm = torch.tensor(MIRROR_PERMUTATION.tolist(), device=hm.device)
                hm = hm + back[:, perm].flip(-1)
        return hm

    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        windows, owner = [], []
        for i, bxs in enumerate(boxes):
            for box in np.asarray(bxs, dtype=float).reshape(-1, 4):
                windows.append(face_window(box))
                owner.append(i)
        # OpenCV releases the GIL: crop in threads while the GPU works on batches
        jobs = [(images[i], w) for i, w in zip(owner, windows, strict=True)]
        if len(jobs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
                crops = list(pool.map(lambda job: crop_face(*job), jobs))
        else:
            crops = [crop_face(*job) for job in jobs]
        out = [np.empty((0, 68, 2)) for _ in images]
        if not crops:
            return out
        points = []
        for start in range(0, len(crops), self.batch_size):
            hm = self._forward(np.stack(crops[start : start + self.batch_size]))
            points.append(heatmap_peaks(hm)[0])
        pts = peaks_to_image(np.concatenate(points), np.asarray(windows))
        owner_arr = np.asarray(owner)
        for i in range(len(images)):
            out[i] = pts[owner_arr == i]
        return out

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp.update({"weights": self.weights.name, "flip": self.flip})
        return fp

    def versions(self) -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            fa = version("face-alignment")
        except PackageNotFoundError:  # pragma: no cover - imported from a source tree
            fa = "?"
        return {**super().versions(), "torch": self._torch.__version__, "face-alignment": fa}

    def describe(self) -> str:
        return f"fan (detector {self.detector.name}, device {self.device})"
