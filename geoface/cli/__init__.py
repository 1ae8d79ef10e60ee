"""The ``geoface`` command line: one sub-command per step of the pipeline."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from .._errors import GeofaceError

__all__ = ["build_parser", "main"]

#: Sub-command name → module (in this package) with ``add_parser(subparsers)`` and
#: ``run(args)``. They are imported inside :func:`main`, so that an interrupt while
#: they load is answered like any other (one line, exit status 130).
COMMANDS = {
    "datasets": "_datasets",
    "manifest": "_manifest",
    "label-frames": "_label_frames",
    "rebase": "_rebase",
    "simulate": "_simulate",
    "extract": "_extract",
    "score-landmarks": "_score_landmarks",
    "split": "_split",
    "fit": "_fit",
    "predict": "_predict",
    "evaluate": "_evaluate",
    "explain": "_explain",
    "baseline": "_baseline",
    "compare": "_compare",
    "fuse": "_fuse",
    "report": "_report",
    "mesh": "_mesh",
    "demo": "_demo",
}


def _command(name: str):
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: what is wrong and where to look."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="geoface",
        description="Interpretable facial-expression analysis from facial geometry.",
    )
    parser.add_argument("--version", action="version", version=f"geoface {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        _command(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``geoface`` with ``argv``; return the exit status.

    Outputs that would replace one of the inputs are refused before any work
    is done. A :class:`GeofaceError` (or any :class:`OSError`: a missing or
    unreadable file, a read-only filesystem, a full disk) is printed as one
    line, ``geoface: error: …``, with exit status 2 and no traceback. An
    interrupt (Ctrl-C) at any point — while the modules load, the options are
    read or the command runs — prints ``geoface: interrupted`` and returns 130.
    """
    with _noting_interrupts() as interrupted:
        try:
            status = _main(argv)
        except KeyboardInterrupt:
            status = None
        except Exception:
            if not interrupted:
                raise
            status = None  # an import that failed because it was interrupted
    if status is None:
        print("geoface: interrupted", file=sys.stderr)
        status = 130
    if interrupted:
        # exec() of a string clears CPython's note of an interrupt that escaped an earlier
        # exec() of a string (scipy imports run one): left set, the interpreter would end
        # by killing itself with SIGINT instead of exiting with this status
        exec("")
    return status


@contextlib.contextmanager
def _noting_interrupts():
    """Note each SIGINT (then raise KeyboardInterrupt as usual) while the command runs.

    Some C extensions turn an interrupt during their import into an
    ``ImportError``; the note tells :func:`main` that it was an interrupt. Only
    Python's own handler in the main thread is wrapped; it is put back after.
    """
    noted: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield noted
        return

    def note(signum, frame):
        noted.append(signum)
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        from ._paths import check_outputs

        check_outputs(args)
        return int(_command(args.command).run(args) or 0)
    except GeofaceError as exc:
        print(f"geoface: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # read-only filesystem, no permission, disk full, missing file …
        where = f": {exc.filename}" if exc.filename else ""
        print(f"geoface: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
