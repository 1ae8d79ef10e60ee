"""Small videos made in the tests: writers, moving faces with ground truth, damaged files.

Everything here is deterministic and quick (PyAV's encoders; a 60-frame
640 × 360 clip takes well under a second to write). Helpers:

* :func:`write_video` — frames to a file (H.264 by default), with variable
  frame rate, a rotation tag or an audio track on request;
* :func:`simulated_expression_frames` — a simulated face going neutral → apex
  → neutral, with its true landmarks;
* :func:`photo_frames` — a real HELEN photograph panned and zoomed (with its
  annotated landmarks moved along), optionally with blank frames cut in;
* :func:`two_faces_crossing` — two photographs passing each other;
* :func:`truncate`, :func:`corrupt`, :func:`audio_only`, :func:`empty_file`,
  :func:`not_a_video` — files a reader must survive.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

#: The real photographs (with iBUG .pts files) beside the project.
HELEN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "helen"

_BACKGROUND = 96  # the simulator's background grey

_DEFAULT_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}
_AUDIO_CODECS = {".webm": "libopus", ".avi": "libmp3lame", ".ogv": "libvorbis"}


def has_encoder(name: str) -> bool:
    """Whether this PyAV build can encode with codec ``name``."""
    import av

    try:
        av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def _rgb(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    return np.ascontiguousarray(frame, dtype=np.uint8)


def write_video(
    path,
    frames,
    *,
    fps: float = 25,
    codec: str | None = None,
    times=None,
    rotation: int | None = None,
    audio: bool = False,
    gop: int | None = None,
    faststart: bool = False,
) -> Path:
    """Encode frames to a video file; the container follows the file's suffix.

    Parameters
    ----------
    path : path-like
        ``.mp4``, ``.mov``, ``.mkv``, ``.avi``, ``.webm``…
    frames : iterable of ndarray of shape (height, width, 3) RGB uint8, or (height, width) grey
        All the same size, even width and height.
    fps : float, default=25
        Frame rate (when ``times`` is not given).
    codec : str, optional
        ``"libx264"`` by default (``"mpeg4"`` when this build lacks it),
        ``"mpeg4"`` for ``.avi`` and ``"libvpx-vp9"`` for ``.webm``.
    times : sequence of float, optional
        Presentation time of each frame in seconds (rounded to milliseconds):
        variable frame rate.
    rotation : {0, 90, 180, 270}, optional
        Degrees clockwise a player turns the stored pictures (a phone's tag):
        the frames are stored turned the other way and the container's
        display matrix says how to turn them back, so a reader that honours
        the tag gets ``frames`` back.
    audio : bool, default=False
        Add a mono tone track as long as the video.
    gop : int, optional
        Largest distance between keyframes.
    faststart : bool, default=False
        MP4/MOV: put the index before the data (as streaming files do), so a
        truncated file still opens.

    Returns
    -------
    Path
    """
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    if codec is None:
        codec = _DEFAULT_CODECS.get(suffix, "libx264")
        if not has_encoder(codec) and suffix != ".webm":
            codec = "mpeg4"
    frames = [_rgb(f) for f in frames]
    if not frames:
        raise ValueError("write_video needs at least one frame")
    if rotation:
        frames = [np.ascontiguousarray(np.rot90(f, k=rotation // 90)) for f in frames]
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart else {}
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", options=options) as container:
        codec_options = {}
        if codec == "libx264":
            codec_options = {"preset": "veryfast"}
        elif codec.startswith("libvpx"):
            codec_options = {"deadline": "realtime", "cpu-used": "8"}
        stream = container.add_stream(codec, rate=rate, options=codec_options)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = int(gop)
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(-rotation)
        sound = _tone_stream(container, _AUDIO_CODECS.get(suffix, "aac")) if audio else None
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if times is not None:
                frame.pts = round(float(times[k]) * 1000)
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = k
                frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            seconds = float(times[-1]) + 0.04 if times is not None else len(frames) / float(rate)
            _add_tone(container, sound, seconds)
    return path


def _tone_stream(container, codec: str, rate: int = 48000):
    stream = container.add_stream(codec, rate=rate)
    stream.layout = "mono"
    return stream


def _add_tone(container, stream, seconds: float) -> None:
    import av

    rate = stream.codec_context.sample_rate
    n = max(1, int(seconds * rate))
    samples = (0.1 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    step = stream.codec_context.frame_size or 1024
    for start in range(0, n, step):
        chunk = samples[start : start + step]
        if fmt.startswith("s16"):
            data = (chunk * 32767).astype(np.int16)[None]
        else:
            data = chunk[None]
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def audio_only(path, seconds: float = 1.0) -> Path:
    """Write a file with a tone and no video stream (``.m4a``, ``.mp4``, ``.mkv``…)."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        _add_tone(
            container,
            _tone_stream(container, _AUDIO_CODECS.get(path.suffix.lower(), "aac")),
            seconds,
        )
    return path


def empty_file(path) -> Path:
    """A zero-length file."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def not_a_video(path) -> Path:
    """A text file with a video's name."""
    path = Path(path)
    path.write_text("this is not a video\n" * 50, encoding="utf-8")
    return path


def truncate(path, fraction: float, dst=None) -> Path:
    """Keep the first ``fraction`` of a file's bytes (in ``dst``; default ``<stem>-cut<suffix>``).

    An MP4 written without ``faststart`` keeps its index at the end, so cutting it
    leaves a file nothing can open; with ``faststart`` the frames before the cut
    decode and the rest are missing.
    """
    path = Path(path)
    dst = Path(dst) if dst is not None else path.with_name(f"{path.stem}-cut{path.suffix}")
    data = path.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def corrupt(path, seed: int = 0, dst=None, *, n_bytes: int = 2000, where: float = 0.5) -> Path:
    """Overwrite ``n_bytes`` random bytes at ``where`` (fraction of the file) with noise.

    Written to ``dst`` (by default ``<stem>-corrupt<suffix>``). The container's
    index survives, so the file opens; frames whose data was hit do not decode.
    """
    path = Path(path)
    dst = Path(dst) if dst is not None else path.with_name(f"{path.stem}-corrupt{path.suffix}")
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    noise = np.random.default_rng(seed).integers(0, 256, size=n_bytes, dtype=np.uint8)
    data[at : at + n_bytes] = noise.tobytes()[: max(0, len(data) - at)]
    dst.write_bytes(bytes(data))
    return dst


def _profile(n: int) -> np.ndarray:
    """Expression intensity per frame: 0 at both ends, 1 in the middle (sin²)."""
    if n == 1:
        return np.zeros(1)
    return np.sin(np.pi * np.arange(n) / (n - 1)) ** 2


def expression_intensity(n: int) -> np.ndarray:
    """The intensity (0 neutral … 1 apex) of each frame of :func:`simulated_expression_frames`."""
    return _profile(n)


def simulated_expression_frames(
    n: int,
    size: tuple[int, int] = (640, 360),
    label: str = "happy",
    seed: int = 0,
    *,
    drift: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A simulated infant face going neutral → apex of ``label`` → neutral.

    The face (the simulator's identity, expression prototype and drawing,
    :mod:`geoface.simulate`) is drawn large enough for dlib's detector (the eyes
    about a fifth of the frame height apart) in the middle of the frame.

    Parameters
    ----------
    n : int
        Frames; the apex is the middle one (intensities: :func:`expression_intensity`).
    size : (width, height), default=(640, 360)
    label : str, default="happy"
        One of :data:`geoface.simulate.EXPRESSIONS`.
    seed : int, default=0
        Identity and sensor noise.
    drift : float, default=0
        The face moves this many pixels to the right over the clip (a pan).

    Returns
    -------
    frames : ndarray of shape (n, height, width, 3), uint8 RGB
    landmarks : ndarray of shape (n, 68, 2)
        The true landmarks of each frame, in its pixels.
    """
    from geoface.mesh import default_template
    from geoface.simulate import expression_displacement, render_face, sample_identity

    width, height = size
    rng = np.random.default_rng(seed)
    identity = sample_identity(np.array(default_template(), dtype=float), rng, infant=True)
    displacement = expression_displacement(label)
    side = max(width, height)
    off_x, off_y = (side - width) // 2, (side - height) // 2
    px_per_iod = 0.2 * height
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    landmarks = np.empty((n, 68, 2))
    for k, amount in enumerate(_profile(n)):
        shape = identity + amount * displacement
        shift = drift * (k / (n - 1) if n > 1 else 0.0)
        centre = np.array([side / 2 + shift, side / 2 - 0.6 * px_per_iod + 0.04 * height])
        lm = centre + px_per_iod * shape
        img = render_face(lm, size=side, rng=rng)
        frames[k] = img[off_y : off_y + height, off_x : off_x + width, None]
        landmarks[k] = lm - np.array([off_x, off_y])
    return frames, landmarks


def helen_photo(index: int = 0) -> Path:
    """The ``index``-th HELEN photograph (sorted by name) that has a ``.pts`` file."""
    photos = sorted(p for p in HELEN.glob("*.jpg") if p.with_suffix(".pts").is_file())
    return photos[index % len(photos)]


def _read_photo(image_path) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from geoface.landmarks import read_pts

    image_path = Path(image_path)
    bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(image_path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.asarray(
        read_pts(image_path.with_suffix(".pts"))
    )


def photo_frames(
    image_path,
    n: int,
    *,
    pan: tuple[float, float] = (120.0, 0.0),
    zoom: tuple[float, float] = (1.0, 1.25),
    size: tuple[int, int] = (640, 360),
    face_height: float = 0.45,
    blank=(),
) -> tuple[np.ndarray, np.ndarray]:
    """A real photograph panned and zoomed over ``n`` frames, with its landmarks moved along.

    Parameters
    ----------
    image_path : path-like
        A photograph with a ``.pts`` file beside it (e.g. :func:`helen_photo`).
    n : int
    pan : (float, float), default=(120, 0)
        Pixels the face travels (x, y) from the first frame to the last,
        centred on the middle of the frame.
    zoom : (float, float), default=(1, 1.25)
        Zoom of the first and last frames (linear in between).
    size : (width, height), default=(640, 360)
    face_height : float, default=0.45
        Height of the annotated face (landmark box) at zoom 1, as a fraction
        of the frame height.
    blank : iterable of int, default=()
        Frames replaced by a plain grey picture (no face; landmarks NaN).

    Returns
    -------
    frames : ndarray of shape (n, height, width, 3), uint8 RGB
    landmarks : ndarray of shape (n, 68, 2)
        The photograph's annotation in each frame's pixels (NaN in blank frames).
    """
    import cv2

    image, pts = _read_photo(image_path)
    width, height = size
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    base = face_height * height / (hi[1] - lo[1])
    blank = set(int(b) for b in blank)
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    landmarks = np.full((n, 68, 2), np.nan)
    for k in range(n):
        t = k / (n - 1) if n > 1 else 0.0
        if k in blank:
            frames[k] = _BACKGROUND
            continue
        s = base * (zoom[0] + (zoom[1] - zoom[0]) * t)
        target = np.array([width / 2, height / 2]) + (t - 0.5) * np.asarray(pan, dtype=float)
        affine = np.array(
            [[s, 0.0, target[0] - s * centre[0]], [0.0, s, target[1] - s * centre[1]]]
        )
        frames[k] = cv2.warpAffine(
            image,
            affine,
            (width, height),
            flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(_BACKGROUND,) * 3,
        )
        landmarks[k] = pts * s + affine[:, 2]
    return frames, landmarks


def two_faces_crossing(
    n: int,
    *,
    size: tuple[int, int] = (640, 360),
    photos: tuple[int, int] = (0, 1),
    face_height: float = 0.3,
    rows: tuple[float, float] = (0.27, 0.73),
) -> tuple[np.ndarray, np.ndarray]:
    """Two photographs' faces moving past each other: one left → right, the other right → left.

    By default the first face moves along the upper part of the frame, the
    second along the lower part, so they pass without covering each other; in
    the middle frame they are one above the other. With equal ``rows`` they
    meet: the second passes in front of the first (an occlusion).

    Parameters
    ----------
    n : int
    size : (width, height), default=(640, 360)
    photos : (int, int), default=(0, 1)
        Which HELEN photographs (:func:`helen_photo`).
    face_height : float, default=0.3
        Height of each annotated face as a fraction of the frame height.
    rows : (float, float), default=(0.27, 0.73)
        Height of each face's centre as a fraction of the frame height.

    Returns
    -------
    frames : ndarray of shape (n, height, width, 3), uint8 RGB
    landmarks : ndarray of shape (n, 2, 68, 2)
        Per frame, the first face's then the second face's landmarks.
    """
    import cv2

    width, height = size
    patches = []
    for index in photos:
        image, pts = _read_photo(helen_photo(index))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        s = face_height * height / (hi[1] - lo[1])
        half = round(0.8 * float(max(hi - lo)) * s)
        c = (lo + hi) / 2
        affine = np.array([[s, 0.0, half - s * c[0]], [0.0, s, half - s * c[1]]])
        patch = cv2.warpAffine(image, affine, (2 * half, 2 * half), flags=cv2.INTER_AREA)
        patches.append((patch, pts * s + affine[:, 2], half))
    frames = np.full((n, height, width, 3), _BACKGROUND, dtype=np.uint8)
    landmarks = np.empty((n, 2, 68, 2))
    centres_y = (rows[0] * height, rows[1] * height)
    for k in range(n):
        t = k / (n - 1) if n > 1 else 0.5
        for j, (patch, pts, half) in enumerate(patches):
            x = (0.15 + 0.7 * t) * width if j == 0 else (0.85 - 0.7 * t) * width
            x0, y0 = round(x) - half, round(centres_y[j]) - half
            _paste(frames[k], patch, x0, y0)
            landmarks[k, j] = pts + np.array([x0, y0])
    return frames, landmarks


def _paste(canvas: np.ndarray, patch: np.ndarray, x0: int, y0: int) -> None:
    h, w = canvas.shape[:2]
    ph, pw = patch.shape[:2]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(w, x0 + pw), min(h, y0 + ph)
    if cx1 > cx0 and cy1 > cy0:
        canvas[cy0:cy1, cx0:cx1] = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
