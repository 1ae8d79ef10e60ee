"""Refuse, before any work is done, an output that would replace one of the command's inputs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .._errors import GeofaceError

__all__ = ["check_outputs", "refuse_onto_inputs"]

#: Options that name something a command writes (every other path option is read).
OUTPUT_OPTIONS: tuple[str, ...] = (
    "out",
    "landmarks_out",
    "overlays",
    "overlay_video",
    "segments",
    "cache",
    "json",
)
#: Commands whose ``--out`` is a folder they create (and, with --overwrite, replace).
FOLDER_OUTPUTS: frozenset[str] = frozenset(
    {"fit", "explain", "compare", "evaluate", "fuse", "simulate", "demo", "baseline"}
)


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _same(a: Path, b: Path) -> bool:
    if _resolved(a) == _resolved(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _companions(path: Path) -> list[Path]:
    """An input and the sidecars a feature table or splits file carries with it."""
    stem = path.with_suffix("")
    return [
        path,
        stem.with_name(stem.name + ".meta.json"),
        stem.with_name(stem.name + ".featuremap.csv"),
    ]


def refuse_onto_inputs(
    output: Path, inputs: list[tuple[str, Path]], *, option: str = "--out", folder: bool = False
) -> None:
    """Refuse (one line) an output that is, or would replace, one of the inputs.

    Parameters
    ----------
    output : Path
        What the command will write.
    inputs : list of (str, Path)
        ``(how the user gave it, path)`` for every input.
    option : str
        The output's option, for the message.
    folder : bool
        The output is a folder the command creates (or replaces): an input
        inside it is refused too.

    Raises
    ------
    GeofaceError
    """
    out_real = _resolved(output)
    for how, given in inputs:
        for path in _companions(given) if given.suffix else [given]:
            if _same(output, path):
                what = "" if path == given else f", the sidecar of {given}"
                raise GeofaceError(
                    f"{option} {output} is one of the {how}s ({path}{what}); writing it would "
                    f"replace what you gave: choose another {option}"
                )
        if folder and out_real in _resolved(given).parents:
            raise GeofaceError(
                f"{option} {output} holds the {how} {given}; replacing that folder "
                f"would delete it: choose another {option}"
            )


def check_outputs(args: argparse.Namespace) -> None:
    """Apply :func:`refuse_onto_inputs` to every output option of a parsed command line."""
    values = vars(args)
    inputs: list[tuple[str, Path]] = []
    for dest, value in values.items():
        if dest in OUTPUT_OPTIONS or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Path):
                inputs.append(("input", item))
    if not inputs:
        return
    command = values.get("command")
    for dest in OUTPUT_OPTIONS:
        output = values.get(dest)
        if isinstance(output, Path):
            folder = dest == "out" and command in FOLDER_OUTPUTS and values.get("verb") != "predict"
            refuse_onto_inputs(output, inputs, option=_option(dest), folder=folder)
