"""Robust image reading: whatever a folder of photographs holds becomes 8-bit RGB or a reason.

Every image goes through :func:`decode_image`, which

* decodes from bytes (``cv2.imdecode``), so paths with any characters work;
* applies the EXIF orientation, so coordinates refer to the image as it is
  displayed;
* converts grey-level, grey+alpha, RGBA (composited on white), 16-bit and
  floating-point images, and CMYK JPEGs, to 8-bit RGB;
* decodes very large JPEGs at a reduced size directly (libjpeg's DCT scaling)
  and downscales anything larger than ``max_side`` on its longer side, keeping
  the factor that maps working coordinates back to the original pixels;
* reads the size the file's header declares before decoding anything, and
  refuses an image above the pixel budget (``max_pixels``, default
  :data:`DEFAULT_MAX_PIXELS`), so that a small file declaring an enormous
  image (a decompression bomb) costs no memory;
* reads regular files only (a device such as ``/dev/zero``, a pipe or a
  socket named in a manifest is refused without being opened);
* reports files it cannot use with an :class:`ImageReadError` whose
  ``status`` is ``"unreadable"`` (missing, empty, truncated, not an image,
  not a regular file), ``"too_large"`` (more pixels than ``max_pixels``, or a
  file larger than ``max_bytes``) or ``"too_small"`` (shorter side below
  ``min_size``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._imagesize import declared_size

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "ImageReadError",
    "LoadedImage",
    "decode_image",
    "load_image",
    "read_image_bytes",
]

#: File extensions geoface treats as images (matched case-insensitively).
IMAGE_SUFFIXES: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".jp2",
    ".pgm",
    ".ppm",
    ".pnm",
)

#: Default pixel budget of one image (width × height as decoded): 100 megapixels,
#: more than any camera's photograph; raise it with ``max_pixels`` (``--max-pixels``).
DEFAULT_MAX_PIXELS: int = 100_000_000


class ImageReadError(Exception):
    """An image that cannot be used, with the ``qc_status`` it earns.

    Attributes
    ----------
    status : {"unreadable", "too_large", "too_small"}
    message : str
        One line saying why, e.g. ``"empty file (0 bytes)"``.
    """

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image ready for a landmarker.

    Attributes
    ----------
    image : ndarray of shape (height, width, 3), uint8
        RGB, EXIF-oriented, at most ``max_side`` pixels on its longer side.
    size : tuple of int
        ``(width, height)`` of the original image as displayed (after EXIF
        orientation), in pixels.
    scale : tuple of float
        ``(sx, sy)``: original pixels per working pixel along x and y.
    sha1 : str
        SHA-1 of the file's bytes (the cache key).
    """

    image: np.ndarray
    size: tuple[int, int]
    scale: tuple[float, float]
    sha1: str

    def to_original(self, points: np.ndarray) -> np.ndarray:
        """Map ``(..., 2)`` working-image coordinates to original-image pixels."""
        return to_original(points, self.scale)

    def to_working(self, points: np.ndarray) -> np.ndarray:
        """Map ``(..., 2)`` original-image pixels to working-image coordinates."""
        p = np.asarray(points, dtype=float)
        s = np.asarray(self.scale, dtype=float)
        return (p + 0.5) / s - 0.5


def to_original(points: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Pixel-centre mapping ``x_orig = (x + 0.5) * sx - 0.5`` (and likewise for y)."""
    p = np.asarray(points, dtype=float)
    s = np.asarray(scale, dtype=float)
    return (p + 0.5) * s - 0.5


def read_image_bytes(path: str | os.PathLike, *, max_bytes: int | None = None) -> bytes:
    """Read a file's bytes, turning every failure into an :class:`ImageReadError`.

    Parameters
    ----------
    path : path-like
    max_bytes : int, optional
        Files larger than this are ``too_large`` (not read).

    Only regular files are read: a device (``/dev/zero``), a pipe or a socket
    is ``unreadable`` without being opened, so it can neither hang the run
    nor fill the memory.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise ImageReadError("unreadable", "file not found") from None
    except OSError as exc:
        raise ImageReadError("unreadable", f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError("unreadable", "is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a pipe"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a special file"
        )
        raise ImageReadError("unreadable", f"not a regular file ({kind}); not read")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ImageReadError(
            "too_large",
            f"file of {info.st_size / 1e6:.0f} MB is larger than the {max_bytes / 1e6:.0f} MB "
            "an image within the pixel budget needs; raise --max-pixels to read it",
        )
    try:
        with open(p, "rb") as fh:  # at most one byte past the limit is read
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise ImageReadError("unreadable", "file not found") from None
    except IsADirectoryError:
        raise ImageReadError("unreadable", "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError("unreadable", f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageReadError("unreadable", "empty file (0 bytes)")
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageReadError("too_large", f"file grew beyond {max_bytes / 1e6:.0f} MB while read")
    return data


def _check_budget(size: tuple[int, int], reduced: int, max_pixels: int | None) -> None:
    if max_pixels is None:
        return
    pixels = (size[0] // reduced) * (size[1] // reduced)
    if pixels > max_pixels:
        raise ImageReadError(
            "too_large",
            f"declares {size[0]}×{size[1]} px ({size[0] * size[1] / 1e6:.0f} megapixels), above "
            f"the budget of {max_pixels / 1e6:g} megapixels; not decoded (raise --max-pixels "
            "if the image is genuine)",
        )


def _jpeg_info(data: bytes) -> tuple[tuple[int, int] | None, bool]:
    """``(width, height)`` from a JPEG's frame header, and whether the image data is complete.

    Segments are walked up to the first start-of-scan marker; the image is
    complete when an end-of-image marker (``FF D9``) follows it. Entropy-coded
    data cannot contain ``FF D9``, and the marker of an embedded thumbnail sits
    inside an APP segment before the scan, so a truncated file is recognised
    without decoding it (and without libjpeg's warnings).
    """
    if data[:2] != b"\xff\xd8":
        return None, False
    i, n, size = 2, len(data), None
    while i + 4 <= n:
        if data[i] != 0xFF:
            return size, False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        # start of frame markers (baseline, progressive, …), not DHT/JPG/DAC
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and i + 9 <= n:
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            size = (width, height)
        if marker == 0xDA:  # start of scan
            return size, data.find(b"\xff\xd9", i + 2 + length) >= 0
        i += 2 + length
    return size, False


def _png_has_alpha(data: bytes) -> bool:
    # IHDR is always the first chunk: colour type at byte 25 (4 = grey+alpha, 6 = RGBA)
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[25] in (4, 6)


def _unit_float(img: np.ndarray) -> np.ndarray:
    """Any integer or floating image → float32 in [0, 1]."""
    if img.dtype.kind == "f":
        arr = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if arr.max(initial=0.0) <= 1.0 else 255.0
        return np.clip(arr / top, 0.0, 1.0)
    info = np.iinfo(img.dtype)
    return (img.astype(np.float32) - info.min) / float(info.max - info.min)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(_unit_float(img) * 255.0).astype(np.uint8)


def _to_rgb(img: np.ndarray) -> np.ndarray:
    """Any decoded OpenCV array (BGR order, any depth, 1–4 channels) → uint8 RGB."""
    import cv2

    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return cv2.cvtColor(_to_uint8(img), cv2.COLOR_GRAY2RGB)
    channels = img.shape[2]
    if channels in (2, 4):  # grey+alpha or BGRA: composite on white
        f = _unit_float(img)
        alpha = f[..., -1:]
        flat = f[..., :-1] * alpha + (1.0 - alpha)
        img = np.rint(flat * 255.0).astype(np.uint8)
        if channels == 2:
            return cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(cv2.cvtColor(_to_uint8(img[..., :3]), cv2.COLOR_BGR2RGB))


def decode_image(
    data: bytes,
    *,
    max_side: int = 2048,
    min_size: int = 32,
    sha1: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Decode image bytes to a working RGB image.

    Parameters
    ----------
    data : bytes
        The file's content.
    max_side : int, default=2048
        Longer side of the working image; larger images are downscaled (JPEGs
        decoded at a reduced size first) and coordinates map back through
        :attr:`LoadedImage.scale`.
    min_size : int, default=32
        Images whose shorter side is below this many pixels are ``too_small``.
    sha1 : str, optional
        The SHA-1 of ``data`` when already known.
    max_pixels : int or None, default=DEFAULT_MAX_PIXELS
        Pixel budget: an image whose header declares more pixels (after
        JPEG's reduced-size decoding) is ``too_large`` and never decoded.
        None lifts the limit.

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageReadError
        ``status="unreadable"`` when the bytes are not a decodable image,
        ``status="too_large"`` when the declared size exceeds ``max_pixels``,
        ``status="too_small"`` when the image is smaller than ``min_size``.
    """
    import cv2

    if not data:
        raise ImageReadError("unreadable", "empty file (0 bytes)")
    kind, declared = declared_size(data)
    if kind is None:
        raise ImageReadError(
            "unreadable",
            "not a decodable image (not a JPEG, PNG, BMP, TIFF, WebP, GIF, JPEG 2000 or PNM file)",
        )
    if declared is None:
        raise ImageReadError(
            "unreadable", f"{kind} header does not state the image size (truncated or corrupt)"
        )
    digest = sha1 or hashlib.sha1(data).hexdigest()
    buf = np.frombuffer(data, dtype=np.uint8)
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH  # applies EXIF orientation
    reduced = 1
    jpeg = None
    if data[:2] == b"\xff\xd8":
        jpeg, complete = _jpeg_info(data)
        if not complete:
            raise ImageReadError("unreadable", "truncated or corrupt JPEG (no end-of-image marker)")
    if jpeg is not None:
        for factor, flag in (
            (8, cv2.IMREAD_REDUCED_COLOR_8),
            (4, cv2.IMREAD_REDUCED_COLOR_4),
            (2, cv2.IMREAD_REDUCED_COLOR_2),
        ):
            if max(jpeg) >= factor * max_side and min(jpeg) >= factor * min_size:
                flags, reduced = flag, factor
                break
    _check_budget(declared, reduced, max_pixels)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-32:]:
            raise ImageReadError("unreadable", "truncated PNG (no IEND chunk at the end)")
        if _png_has_alpha(data):
            flags = cv2.IMREAD_UNCHANGED
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise ImageReadError("unreadable", f"cannot decode: {msg}") from None
    if img is None or img.size == 0:
        raise ImageReadError("unreadable", "not a decodable image (corrupt, truncated or no image)")
    h, w = img.shape[:2]
    if reduced > 1:
        # the frame header gives the stored size; orientation may have swapped the axes
        sw, sh = jpeg
        if (w > h) != (sw > sh) and sw != sh:
            sw, sh = sh, sw
        size = (sw, sh)
    else:
        size = (w, h)
    if min(size) < min_size:
        raise ImageReadError(
            "too_small", f"{size[0]}×{size[1]} px is below the minimum size {min_size} px"
        )
    rgb = _to_rgb(img)
    longer = max(h, w)
    if longer > max_side:
        f = max_side / longer
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        h, w = nh, nw
    scale = (size[0] / w, size[1] / h)
    return LoadedImage(image=np.ascontiguousarray(rgb), size=size, scale=scale, sha1=digest)


def load_image(
    path: str | os.PathLike,
    *,
    max_side: int = 2048,
    min_size: int = 32,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Read and decode one image file; see :func:`decode_image`."""
    data = read_image_bytes(path, max_bytes=max_file_bytes(max_pixels))
    return decode_image(data, max_side=max_side, min_size=min_size, max_pixels=max_pixels)


def max_file_bytes(max_pixels: int | None) -> int | None:
    """The largest file worth reading under a pixel budget: 8 bytes a pixel, at least 64 MB.

    An uncompressed 16-bit RGBA image needs 8 bytes a pixel; a larger file
    cannot hold an image within the budget (or holds far more than one image).
    """
    return None if max_pixels is None else max(8 * int(max_pixels), 64_000_000)
