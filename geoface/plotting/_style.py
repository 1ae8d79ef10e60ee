"""Shared colours and figure saving for geoface's plots."""

from __future__ import annotations

import os
from pathlib import Path

from .._atomic import atomic_path
from ..mesh import REGION_COLOURS

__all__ = ["REGION_COLOURS", "save_figure"]


def save_figure(
    fig, path: str | os.PathLike, *, formats: tuple[str, ...] = ("pdf", "png"), dpi: int = 300
) -> list[Path]:
    """Save ``fig`` once per format beside ``path`` (its suffix is replaced), atomically.

    Returns the paths written.
    """
    base = Path(path)
    if base.suffix.lstrip(".") in {"pdf", "png", "svg"}:
        base = base.with_suffix("")
    written = []
    for fmt in formats:
        out = base.with_name(f"{base.name}.{fmt}")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        written.append(out)
    return written
