"""Text cells a spreadsheet would run as formulas, found so that the user can be told.

geoface's CSV files are data: geoface, pandas and R read them back, and ids and
subjects join a table to its splits, predictions and explanations. Prefixing a
quote to ``=cmd`` (the usual defence against formula injection) would change
those ids and break every join, so geoface writes values verbatim. Instead,
commands that bring user-given values into geoface (``extract``, ``manifest``)
say once, on stderr, how many text cells begin with a character that makes a
spreadsheet evaluate the cell, with an example, and the README explains how to
open such files safely (import the columns as text). Human-facing outputs
(HTML, Markdown, LaTeX) escape their cells as those formats require.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "formula_like_cells", "formula_warning"]

#: A text cell starting with one of these is run as a formula by Excel, LibreOffice
#: and Google Sheets (tab and carriage return as well, per OWASP's CSV-injection notes).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_like_cells(frame: pd.DataFrame) -> tuple[int, tuple[str, str] | None]:
    """Count the text cells of ``frame`` a spreadsheet would evaluate.

    Only text columns are looked at, and a cell that is a plain number
    (``-12.5``, ``+3``) is not counted: a spreadsheet reads it as that number.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)

    Returns
    -------
    count : int
        Number of such cells.
    example : (column, value) or None
        The first one, column by column.
    """
    count, example = 0, None
    for col in frame.columns:
        values = frame[col]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.dropna().astype(str)
        risky = text[text.str.startswith(FORMULA_PREFIXES)]
        if risky.empty:
            continue
        risky = risky[pd.to_numeric(risky, errors="coerce").isna()]
        if risky.empty:
            continue
        count += len(risky)
        if example is None:
            example = (str(col), str(risky.iloc[0]))
    return count, example


def formula_warning(frame: pd.DataFrame, written: str) -> str | None:
    """The one-line warning for ``frame`` written to ``written`` (None: no cell at risk)."""
    count, example = formula_like_cells(frame)
    if not count:
        return None
    col, value = example  # type: ignore[misc]
    return (
        f"{count} text value(s) in {written} begin with =, +, - or @ (e.g. {col} {value!r}); "
        "they are written verbatim, as data for geoface, pandas and R, but a spreadsheet may "
        "run them as formulas: import such columns as text (see the README, 'Spreadsheets')"
    )
