"""Find what a report needs beside the run directories: feature tables and explanations."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..runs import recorded_table

__all__ = ["find_explain_dirs", "find_feature_table"]


def find_feature_table(run_dir: str | os.PathLike, info: dict) -> tuple[Path | None, list[Path]]:
    """Where the feature table a run was made from is now, if anywhere.

    The path recorded in ``run.json`` is tried as it is (absolute, or
    relative to the working directory), then relative to the run directory
    and its two parents, then by its file name beside those (a run moved
    together with its table, as in ``geoface demo``'s layout).

    Returns
    -------
    found : Path or None
    tried : list of Path
        Every place looked at, for the report's note.
    """
    recorded = recorded_table(info)
    if not recorded:
        return None, []
    rec = Path(recorded)
    run_dir = Path(run_dir)
    bases = [run_dir, run_dir.parent, run_dir.parent.parent]
    candidates = [rec] if rec.is_absolute() else [rec, *(b / rec for b in bases)]
    candidates += [b / rec.name for b in bases]
    tried: list[Path] = []
    for c in candidates:
        if c in tried:
            continue
        tried.append(c)
        if c.is_file():
            return c, tried
    return None, tried


def _explains(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "explain.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def find_explain_dirs(
    run_dirs: Sequence[str | os.PathLike], explicit: Sequence[str | os.PathLike] = ()
) -> list[Path]:
    """Explanation folders (``geoface explain`` outputs) for a report.

    The folders given, else those found beside each run: ``RUN/explain``,
    ``RUN/../explain/NAME`` and ``RUN/../../explain/NAME`` (``geoface demo``
    writes ``runs/xgb`` and ``explain/xgb``). A folder counts when it holds
    an ``explain.json``.
    """
    if explicit:
        return [Path(p) for p in explicit]
    found: list[Path] = []
    for run in map(Path, run_dirs):
        for c in (
            run / "explain",
            run.parent / "explain" / run.name,
            run.parent.parent / "explain" / run.name,
        ):
            if (
                c.is_dir()
                and _explains(c) is not None
                and c.resolve() not in {f.resolve() for f in found}
            ):
                found.append(c)
    return found
