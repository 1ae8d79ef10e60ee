"""Map each dataset's label vocabulary onto geoface's seven expression classes.

Every dataset names its classes differently (``happiness``, ``HA``, ``5``,
``afraid`` …). :class:`LabelMap` turns such a *source label* into one of
:data:`CLASSES`, or says why it cannot: the label is *excluded* (a known
category that is not one of the seven, such as ``contempt``, unless the user
keeps it) or *unknown*. The mapping a manifest used is printed and saved, so
nothing is relabelled silently.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import GeofaceError
from ..labels import normalise_label

__all__ = ["CLASSES", "EXCLUDED", "SYNONYMS", "LabelMap", "read_label_map"]

#: geoface's seven expression classes (the simulator's and the baseline's).
CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Names (lower case) that mean one of the seven classes.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("anger", "angry", "ang", "mad"), "anger"),
    **dict.fromkeys(("disgust", "disgusted", "disgusting", "dis"), "disgust"),
    **dict.fromkeys(("fear", "fearful", "afraid", "scared", "fearfulness"), "fear"),
    **dict.fromkeys(("happy", "happiness", "joy", "hap", "smile", "smiling"), "happy"),
    **dict.fromkeys(("neutral", "neu", "calm"), "neutral"),
    **dict.fromkeys(("sad", "sadness", "sorrow"), "sad"),
    **dict.fromkeys(("surprise", "surprised", "sur"), "surprise"),
}

#: Known categories that are not one of the seven, and why they are left out.
EXCLUDED: dict[str, str] = {
    "contempt": "not one of the seven classes",
    "none": "annotated as no expression category",
    "uncertain": "annotators were uncertain",
    "non-face": "no face in the image",
    "positive": "a valence category, not an expression",
    "negative": "a valence category, not an expression",
}

_KEEP_HINT = "--keep {name} keeps it as its own class"


def _key(token: object) -> str:
    return normalise_label(token).replace("_", "-")


def read_label_map(path: str | os.PathLike) -> dict[str, str]:
    """Read a user's label map: a two-column CSV (``source,label``) or a JSON object.

    A target of ``exclude`` (or an empty one) excludes that source label.

    Returns
    -------
    dict
        Lower-cased source label → target class or ``"exclude"``.
    """
    p = Path(path)
    if not p.is_file():
        raise GeofaceError(f"--label-map {p} does not exist; give a CSV 'source,label' or JSON")
    text = p.read_text(encoding="utf-8-sig")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GeofaceError(f"--label-map {p} is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise GeofaceError(f"--label-map {p} must hold one JSON object {{source: label}}")
        pairs = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
    else:
        rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
        if rows and [c.strip().lower() for c in rows[0][:2]] in (
            ["source", "label"],
            ["source_label", "label"],
        ):
            rows = rows[1:]
        bad = [r for r in rows if len(r) < 2 and not r[0].startswith("#")]
        if bad:
            raise GeofaceError(
                f"--label-map {p}: line {bad[0]!r} needs two columns, 'source,label'"
            )
        pairs = [(r[0], r[1]) for r in rows if not r[0].startswith("#")]
    out: dict[str, str] = {}
    for src, dst in pairs:
        target = dst.strip().lower() or "exclude"
        out[_key(src)] = target
    if not out:
        raise GeofaceError(f"--label-map {p} maps nothing; write one 'source,label' per line")
    return out


@dataclass
class LabelMap:
    """Source label → geoface class, with an explicit record of every decision.

    Parameters
    ----------
    codes : dict, optional
        A dataset's own codes (``"HA" → "happy"``, ``"5" → "happy"``),
        consulted before the general synonyms. Values may be a class, a name
        in :data:`EXCLUDED`, or any synonym.
    user : dict, optional
        The user's ``--label-map`` (lower-cased source → class or
        ``"exclude"``); it overrides everything else. Targets outside the
        seven classes are allowed: they become classes of their own.
    keep : iterable of str, optional
        Excluded categories to keep as classes of their own (``contempt``).
    """

    codes: dict[str, str] = field(default_factory=dict)
    user: dict[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    seen: Counter = field(default_factory=Counter)
    decisions: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.codes = {_key(k): v for k, v in self.codes.items()}
        self.keep = tuple(_key(k) for k in self.keep)
        unknown = [k for k in self.keep if k not in EXCLUDED]
        if unknown:
            raise GeofaceError(
                f"--keep {unknown[0]!r} is not an excluded category; choose from {sorted(EXCLUDED)}"
            )

    def _decide(self, token: str) -> tuple[str, str]:
        """``("class", name)``, ``("excluded", why)`` or ``("unknown", "")``."""
        key = _key(token)
        if key in self.user:
            target = self.user[key]
            if target == "exclude":
                return "excluded", "excluded by --label-map"
            return "class", SYNONYMS.get(target, target)
        name = self.codes.get(key, key)
        name = _key(name)
        if name in SYNONYMS:
            return "class", SYNONYMS[name]
        if name in EXCLUDED:
            if name in self.keep:
                return "class", name
            why = EXCLUDED[name]
            return "excluded", f"{name}: {why}; {_KEEP_HINT.format(name=name)}"
        return "unknown", ""

    def resolve(self, token: object) -> tuple[str | None, str, str]:
        """Map one source label.

        Returns
        -------
        label : str or None
            The class, or None.
        status : {"ok", "excluded", "unknown_label"}
        note : str
            Why, when the status is not ``ok``.
        """
        text = "" if token is None else str(token).strip()
        self.seen[text] += 1
        if text not in self.decisions:
            self.decisions[text] = self._decide(text)
        outcome, value = self.decisions[text]
        if outcome == "class":
            return value, "ok", ""
        if outcome == "excluded":
            return None, "excluded", value
        return (
            None,
            "unknown_label",
            (f"label {text!r} is not a known expression name; map it with --label-map"),
        )

    def lines(self) -> list[str]:
        """The mapping actually used, one line per source label, with counts."""
        out = []
        for token, n in sorted(self.seen.items(), key=lambda kv: (-kv[1], kv[0])):
            outcome, value = self.decisions[token]
            if outcome == "class":
                target = value
            elif outcome == "excluded":
                target = f"excluded ({value})"
            else:
                target = "unknown (not mapped; status unknown_label)"
            out.append(f"{token or '(empty)'} → {target}  [{n}]")
        return out

    def as_dict(self) -> dict[str, str]:
        """Source label → class, ``"excluded"`` or ``"unknown"`` (for the sidecar)."""
        out = {}
        for token, (outcome, value) in self.decisions.items():
            out[token] = value if outcome == "class" else outcome
        return out
