"""The ``geoface`` command line: one sub-command per step of the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._errors import GeofaceError
from . import _demo, _extract, _mesh, _simulate

__all__ = ["build_parser", "main"]

#: Sub-command name → module with ``add_parser(subparsers)`` and ``run(args)``.
COMMANDS = {
    "simulate": _simulate,
    "extract": _extract,
    "mesh": _mesh,
    "demo": _demo,
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
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
