"""Argument types for the numeric options of every command.

Each is an ``argparse`` ``type=``: it turns the text given on the command
line into a number, or raises :class:`argparse.ArgumentTypeError` with a
message that says what was given, what is allowed and what to type instead.
The parser prints it on one line (``geoface CMD: error: argument --x: …``)
and exits with status 2, so no numeric option can end in a traceback.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = [
    "MAX_SEED",
    "bootstrap_replicates",
    "fold_count",
    "fraction",
    "int_at_least",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "random_seed",
]

#: Largest seed NumPy and scikit-learn accept (seeds are 32-bit unsigned integers).
MAX_SEED = 2**32 - 1


def _as_int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _as_float(text: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def int_at_least(minimum: int, what: str = "") -> Callable[[str], int]:
    """A type for whole numbers ``≥ minimum`` (``what`` is added to the message)."""

    def parse(text: str) -> int:
        value = _as_int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{value} is too small: give a whole number ≥ {minimum}{what}"
            )
        return value

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


positive_int = int_at_least(1)
positive_int.__name__ = "positive_int"
positive_int.__doc__ = "A whole number ≥ 1."

non_negative_int = int_at_least(0)
non_negative_int.__name__ = "non_negative_int"
non_negative_int.__doc__ = "A whole number ≥ 0."

bootstrap_replicates = int_at_least(100, " (bootstrap replicates; 1000 or more for final numbers)")
bootstrap_replicates.__name__ = "bootstrap_replicates"
bootstrap_replicates.__doc__ = "A number of bootstrap replicates, ≥ 100."


def random_seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1."""
    value = _as_int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range: a seed is a whole number from 0 to {MAX_SEED}"
        )
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _as_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not positive: give a number > 0")
    return value


def non_negative_float(text: str) -> float:
    """A finite number ≥ 0."""
    value = _as_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value:g} is negative: give a number ≥ 0")
    return value


def fraction(text: str) -> float:
    """A number in ``[0, 1)`` (dropout, label smoothing)."""
    value = _as_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"{value:g} is out of range: give a number from 0 up to (not including) 1"
        )
    return value


def fold_count(text: str) -> int | str:
    """A number of folds (≥ 2) or ``'loso'`` (leave one subject out)."""
    if str(text).strip().lower() == "loso":
        return "loso"
    try:
        value = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a whole number of folds nor 'loso'"
        ) from None
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"{value} folds cannot cross-validate: give 2 or more, or 'loso'"
        )
    return value
