"""Reading run directories for the commands that combine them (compare, fuse, report).

These commands take classification runs only: their out-of-fold tables hold
class labels and ``proba_<class>`` columns. An age run (``geoface baseline
train --task age``) holds numbers instead and is refused with a message that
says so.
"""

from __future__ import annotations

from pathlib import Path

from ._errors import GeofaceError

__all__ = ["refuse_regression"]


def refuse_regression(path: Path, metrics: dict) -> None:
    """Refuse (one line) a run whose ``metrics.json`` names a task other than classification."""
    task = str(metrics.get("task") or "classification")
    if task == "classification":
        return
    kind = f"an {task}-regression run" if task == "age" else f"a {task} run"
    raise GeofaceError(
        f"{path} is {kind} (task {task!r}); compare, fuse and report take classification runs"
    )
