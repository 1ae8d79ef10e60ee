"""Shared colours and figure saving for geoface's plots."""

from __future__ import annotations

import os
from pathlib import Path

from .._atomic import atomic_path
from ..mesh import REGIONS

__all__ = ["REGION_COLOURS", "save_figure"]

# Okabe & Ito (2008) colour-blind-safe palette, one colour per region.
REGION_COLOURS: dict[str, str] = dict(
    zip(
        REGIONS,
        ("#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#009E73", "#D55E00", "#0072B2"),
        strict=True,
    )
)


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
