"""One rule for class names: labels that differ only by case or spaces are one class.

``happy``, ``Happy `` and ``HAPPY`` name the same class. Every entry point
that reads labels (``extract``, ``split``, ``fit``, ``manifest``) compares and
writes them after :func:`normalise_label`: surrounding white space removed,
inner runs of white space made one space, lower case. What was changed is
reported, never done silently.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

__all__ = ["describe_label_changes", "normalise_label", "normalise_labels"]


def normalise_label(value: object) -> str:
    """``"  Happy  Face "`` → ``"happy face"``: stripped, inner spaces collapsed, lower case."""
    return " ".join(str(value).split()).lower()


def normalise_labels(values) -> tuple[np.ndarray, dict[str, str]]:
    """Apply :func:`normalise_label` to the text values of a column.

    Parameters
    ----------
    values : array-like or Series of shape (n,)
        Missing values and numbers are kept as they are.

    Returns
    -------
    normalised : ndarray of object, shape (n,)
    changes : dict
        Each spelling that was changed → its normal form, e.g.
        ``{"Happy ": "happy", "HAPPY": "happy"}``; empty when nothing changed.
    """
    series = pd.Series(values).reset_index(drop=True)
    out = series.to_numpy(dtype=object).copy()
    changes: dict[str, str] = {}
    for i, v in enumerate(out):
        if isinstance(v, str):
            norm = normalise_label(v)
            if norm != v:
                changes.setdefault(v, norm)
                out[i] = norm
    return out, changes


def describe_label_changes(changes: dict[str, str], values=None, *, column: str = "label") -> str:
    """One line naming the spellings that were merged, e.g. for the command line.

    Parameters
    ----------
    changes : dict
        From :func:`normalise_labels`.
    values : array-like or dict, optional
        The original column (or a spelling → count mapping), to count each spelling.
    column : str
        The column's name.
    """
    if values is None:
        counts: Counter = Counter()
    else:
        counts = Counter(dict(values)) if isinstance(values, dict) else Counter(values)
    shown = ", ".join(
        f"{k!r} → {v!r}" + (f" [{counts[k]}]" if counts else "")
        for k, v in list(changes.items())[:6]
    )
    more = f", … ({len(changes)} spellings in all)" if len(changes) > 6 else ""
    return (
        f"{column} values that differ only by case or spaces are one class: {shown}{more} "
        "(labels are compared stripped, lower case)"
    )
