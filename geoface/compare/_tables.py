"""Tables as Markdown and LaTeX (booktabs), written by hand: no template engine needed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["fmt_ci", "fmt_p", "fmt_value", "latex_escape", "latex_table", "markdown_table"]

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "Δ": r"$\Delta$",
    "κ": r"$\kappa$",
    "−": r"$-$",
    "–": "--",
    "…": r"\ldots{}",
    "×": r"$\times$",
}


def latex_escape(text: object) -> str:
    """Escape ``text`` for LaTeX: special characters, and Δ, κ, − as math."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_value(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals, ``n/a`` when missing."""
    return "n/a" if _missing(value) else f"{float(value):.{digits}f}"


def fmt_ci(value, low, high, digits: int = 3, signed: bool = False) -> str:
    """``0.812 [0.701, 0.905]``; ``n/a`` when the value is missing."""
    if _missing(value):
        return "n/a"
    sign = "+" if signed else ""
    text = f"{float(value):{sign}.{digits}f}"
    if not (_missing(low) or _missing(high)):
        text += f" [{float(low):{sign}.{digits}f}, {float(high):{sign}.{digits}f}]"
    return text


def fmt_p(p) -> str:
    """A p-value with four decimals, ``<0.0001`` below that."""
    if _missing(p):
        return "n/a"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _numeric_text(cell: str) -> bool:
    return cell == "n/a" or (cell[:1].isdigit() or cell[:1] in "+-<.")


def _default_align(header: list[str], rows: list[list[str]]) -> list[str]:
    """Right-align the columns whose every cell is a number (or ``n/a``), left the rest."""
    return [
        "r" if rows and all(_numeric_text(r[j]) for r in rows) else "l" for j in range(len(header))
    ]


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, rows


def markdown_table(frame: pd.DataFrame, align: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``frame``'s (already formatted) cells.

    ``align`` holds ``"l"`` or ``"r"`` per column (default: numbers right, text left).
    """
    header, rows = _cells(frame)
    align = list(align or _default_align(header, rows))
    rule = [":---" if a == "l" else "---:" for a in align]

    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "| " + " | ".join(rule) + " |", *map(line, rows)])


def latex_table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    label: str | None = None,
    align: Sequence[str] | None = None,
) -> str:
    """A booktabs table (``\\toprule``/``\\midrule``/``\\bottomrule``), every cell escaped.

    Wrapped in a ``table`` float when a caption is given; needs
    ``\\usepackage{booktabs}``.
    """
    header, rows = _cells(frame)
    align = "".join(align or _default_align(header, rows))

    def line(cells):
        return " & ".join(latex_escape(c) for c in cells) + r" \\"

    body = [
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        line(header),
        r"\midrule",
        *map(line, rows),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if caption is None:
        return "\n".join(body)
    head = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{latex_escape(caption)}}}"]
    if label:
        head.append(rf"\label{{{label}}}")
    return "\n".join([*head, *body, r"\end{table}"])
