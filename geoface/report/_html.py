"""Small HTML builders for a self-contained page: every text escaped, images inline."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from html import escape

import pandas as pd

__all__ = ["CSS", "e", "figure_html", "note", "page", "png_bytes", "section", "table_html"]

#: Inline style: readable on screen and in print, no external fonts.
CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1180px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #0072B2; padding-bottom: 0.15em;
     margin-top: 2.2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
nav a { margin-right: 1em; color: #0072B2; text-decoration: none; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.88em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right;
         vertical-align: top; }
th { border-bottom: 2px solid #444; background: #f5f7fa; }
td { white-space: nowrap; }
td.text, th.text { text-align: left; white-space: normal; }
caption { caption-side: top; text-align: left; font-size: 0.95em; color: #444;
          padding-bottom: 0.3em; }
figure { margin: 0.8em 0 1.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.88em; color: #555; }
p.note { background: #fff8e5; border-left: 4px solid #E69F00; padding: 0.4em 0.8em; }
p.meta { color: #555; font-size: 0.9em; }
code { font-size: 0.9em; background: #f3f3f3; padding: 0 0.2em; }
"""


def e(text: object) -> str:
    """HTML-escape ``str(text)`` (quotes too)."""
    return escape(str(text), quote=True)


def _is_number(cell: str) -> bool:
    return cell == "n/a" or (cell[:1].isdigit() or cell[:1] in "+-<.")


def table_html(frame: pd.DataFrame, caption: str | None = None) -> str:
    """An HTML table of ``frame``'s cells (as text), numbers right-aligned, all escaped."""
    header = [str(c) for c in frame.columns]
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    numeric = [bool(rows) and all(_is_number(r[j]) for r in rows) for j in range(len(header))]

    def cls(j):
        return "" if numeric[j] else ' class="text"'

    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{e(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th{cls(j)}>{e(h)}</th>" for j, h in enumerate(header)))
    parts.append("</tr></thead><tbody>")
    for r in rows:
        parts.append(
            "<tr>" + "".join(f"<td{cls(j)}>{e(c)}</td>" for j, c in enumerate(r)) + "</tr>"
        )
    parts.append("</tbody></table>")
    return "\n".join(parts)


def png_bytes(fig, *, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def shrink_png(data: bytes, max_width: int = 1400) -> bytes:
    """Downscale a PNG wider than ``max_width`` pixels to that width, in 256 colours.

    Smaller images are kept as they are. Figures of geoface are drawn on
    white, so transparency is composited on white.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.width <= max_width:
            return data
        height = round(im.height * max_width / im.width)
        rgba = im.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        small = flat.convert("RGB").resize((max_width, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.quantize(256, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def figure_html(png: bytes, alt: str, caption: str | None = None) -> str:
    """A ``<figure>`` with the PNG inline as a base64 ``data:`` URI."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{e(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def note(text: str) -> str:
    """A highlighted paragraph: something missing or worth knowing."""
    return f'<p class="note">{e(text)}</p>'


def section(sid: str, title: str, body: Iterable[str]) -> str:
    """``<section id="sid"><h2>title</h2>…</section>`` (the body is already HTML)."""
    return f'<section id="{e(sid)}">\n<h2>{e(title)}</h2>\n' + "\n".join(body) + "\n</section>"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole page: inline CSS, a table of contents and the sections.

    ``sections`` holds ``(id, title, html)``.
    """
    nav = " ".join(f'<a href="#{e(sid)}">{e(t)}</a>' for sid, t, _ in sections)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f'<header><h1>{e(title)}</h1><p class="meta">{e(subtitle)}</p>',
            f"<nav>{nav}</nav></header>",
            "<main>",
            *(html for _, _, html in sections),
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )
