"""The ``geoface`` command line: one sub-command per step of the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._errors import GeofaceError
from . import (
    _baseline,
    _compare,
    _datasets,
    _demo,
    _evaluate,
    _explain,
    _extract,
    _fit,
    _fuse,
    _manifest,
    _mesh,
    _predict,
    _report,
    _score_landmarks,
    _simulate,
    _split,
)

__all__ = ["build_parser", "main"]

#: Sub-command name → module with ``add_parser(subparsers)`` and ``run(args)``.
COMMANDS = {
    "datasets": _datasets,
    "manifest": _manifest,
    "simulate": _simulate,
    "extract": _extract,
    "score-landmarks": _score_landmarks,
    "split": _split,
    "fit": _fit,
    "predict": _predict,
    "evaluate": _evaluate,
    "explain": _explain,
    "baseline": _baseline,
    "compare": _compare,
    "fuse": _fuse,
    "report": _report,
    "mesh": _mesh,
    "demo": _demo,
}


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
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``geoface`` with ``argv``; return the exit status.

    A :class:`GeofaceError` (or a missing or unreadable file) is printed as
    one line, ``geoface: error: …``, with exit status 2 and no traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except GeofaceError as exc:
        print(f"geoface: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"geoface: error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geoface: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
