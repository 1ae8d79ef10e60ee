"""``python -m geoface`` runs the command line."""

try:  # first, so that an interrupt while the command line loads is answered like any other
    from .cli import main

    status = main()
except KeyboardInterrupt:
    import sys

    print("geoface: interrupted", file=sys.stderr)
    status = 130

raise SystemExit(status)
