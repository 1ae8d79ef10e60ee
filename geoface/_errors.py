"""The one exception type geoface raises for problems a user can fix."""

from __future__ import annotations

__all__ = ["GeofaceError", "MissingDependencyError"]


class GeofaceError(ValueError):
    """A problem with the user's input or options, explained in one line.

    The message names the parameter or file, what was given, what is allowed,
    and how to fix it. The command-line interface prints it without a
    traceback and exits with status 2.
    """


class MissingDependencyError(GeofaceError, ImportError):
    """An optional package (or model file) a feature needs is not installed.

    The message names what to install, e.g. ``pip install 'geoface[dlib]'``.
    It is both a :class:`GeofaceError` (one line on the command line) and an
    :class:`ImportError`.
    """
