"""Write files so that a crash never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "default_mode",
    "deferred_interrupts",
    "replace_directory",
    "replace_together",
    "temp_sibling_dir",
    "temp_sibling_file",
]


def default_mode(directory: bool = False) -> int:
    """The permissions a plain ``open()`` (or ``mkdir``) would give: 0o666 (0o777) less the umask.

    :mod:`tempfile` creates private files (0o600) and folders (0o700); outputs
    renamed into place from them get these permissions back, so that a shared
    results folder stays readable by the lab.
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same directory, so the final
    :func:`os.replace` is atomic. On any exception the temporary file is
    removed and ``path`` is left as it was.
    """
    final = Path(path)
    tmp_path = temp_sibling_file(final)
    try:
        yield tmp_path
        _move_into_place(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Re-raise an :class:`OSError` so that it names ``path``, the user's output.

    Errors raised while creating or renaming a temporary file would otherwise
    name the hidden temporary (``.features.csv.x1y2.tmp``), which the user
    never asked for and cannot find.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None or exc.filename == str(path):
            raise
        raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from None


def temp_sibling_file(final: str | os.PathLike) -> Path:
    """Create an empty hidden temporary file beside ``final``.

    An :class:`OSError` (read-only filesystem, no permission) names ``final``.
    """
    final = Path(final)
    with _naming(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(tmp)


def temp_sibling_dir(out: str | os.PathLike, tag: str = "") -> Path:
    """Create a hidden temporary folder beside ``out`` (same filesystem, so renames are atomic).

    An :class:`OSError` (read-only filesystem, no permission) names ``out``.
    """
    out = Path(out)
    with _naming(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.{tag}", dir=out.parent))


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM while a few renames run, then deliver them.

    Used around the renames that replace several outputs together, so that a
    Ctrl-C cannot fall between them. Outside the main thread (where signal
    handlers cannot be changed) the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, object]] = []
    previous = {}

    def hold(signum, frame):
        caught.append((signum, frame))

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum, frame in caught[:1]:
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def replace_together(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each ``(temporary, final)`` pair into place, with interrupts held back.

    A SIGKILL can still fall between two renames; readers that need the
    files to agree check a content hash recorded in them (see
    :class:`geoface.features.FeatureTable`).
    """
    with deferred_interrupts():
        for tmp, final in pairs:
            _move_into_place(Path(tmp), Path(final))


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename a finished temporary file onto ``final``, with ordinary permissions."""
    with _naming(final):
        if tmp.exists():
            os.chmod(tmp, default_mode())
        os.replace(tmp, final)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_directory(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Move the finished folder ``tmp`` onto ``out``, replacing an existing ``out`` whole.

    Where the system can swap two paths atomically (Linux), ``out`` holds the
    complete old folder or the complete new one at every instant, even if
    the process is killed. Elsewhere the old folder is moved aside first, with
    interrupts held back, and put back if the second rename fails.
    """
    tmp, out = Path(tmp), Path(out)
    with deferred_interrupts(), _naming(out):
        if not out.exists():
            os.replace(tmp, out)
            return
        if _exchange(tmp, out):  # tmp now holds the old folder
            shutil.rmtree(tmp, ignore_errors=True)
            return
        aside = temp_sibling_dir(out, "old.")
        os.replace(out, aside / "run")
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(aside / "run", out)
            raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)
