"""``python -m geoface`` runs the command line."""

import sys


def _run() -> int:
    try:  # an interrupt while the command line itself loads is answered like any other
        from .cli import main

        return main()
    except KeyboardInterrupt:
        print("geoface: interrupted", file=sys.stderr)
        return 130


sys.exit(_run())
