"""Layouts whose file names carry the metadata: Tromsø Infant Faces, JAFFE, KDEF.

**TIF** (``--layout tif``). File names such as ``A02F10HA1``, ``A12M5SA`` and
``A18M7SU1`` are read as::

    A 02   F    10      HA          1
    infant sex  months  expression  take (optional)

What is confirmed and what is inferred: Maack et al. (2017, Frontiers in
Psychology 8:409) describe 18 infants aged 4 to 12 months in seven
categories (happy, sad, disgusted, angry, afraid, surprised, neutral). The
paper's abstract does not spell out the file names; the reading above is
inferred from published example names (``A02F10HA1``, ``A12M5SA``,
``A15M12HA2``, ``A18M7SU1``, shown as happy, sad, happy, surprise). It is
consistent with the paper: infant numbers up to 18 match its 18 infants, and
the ages it gives (10, 5, 12, 7) fall in its 4–12 months — reading ``A18`` as
18 months would not. The codes HA (happy), SA (sad) and SU (surprise) are
confirmed by those examples; AN, DI, AF/FE and NE are inferred by analogy
with KDEF's codes. Rows whose age lies outside 4–12 months or whose infant
number exceeds 18 stay ``ok`` but carry a note, so a wrong reading shows up.
Unknown codes are ``unknown_label`` (map them with ``--label-map``).

**JAFFE** (``--layout jaffe``): ``KA.AN1.39.tiff`` = model KA, anger, take 1,
image number 39 (models KA KL KM KR MK NA NM TM UY YM; codes AN DI FE HA NE
SA SU).

**KDEF** (``--layout kdef``): ``AF01ANS.JPG`` = series A, female, model 01,
angry, straight (angles FL HL S HR FR; codes AF AN DI HA NE SA SU). The
subject is sex + model number (``F01``), shared by both series.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._files import apply_label, list_images, require_folder
from ._labels import LabelMap
from ._manifest import Manifest, age_group, make_frame, unique_ids

__all__ = ["CODED_LAYOUTS", "CodedLayout", "parse_coded"]

#: KDEF's expression codes (kdef.se), also used by JAFFE and, inferred, by TIF.
KDEF_CODES = {
    "AF": "fear",
    "AN": "anger",
    "DI": "disgust",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sad",
    "SU": "surprise",
}
JAFFE_CODES = {**{k: v for k, v in KDEF_CODES.items() if k != "AF"}, "FE": "fear"}
TIF_CODES = {**KDEF_CODES, "FE": "fear"}

TIF_AGE_MONTHS = (4, 12)  # Maack et al. 2017, abstract
TIF_INFANTS = 18


@dataclass(frozen=True)
class CodedLayout:
    """A dataset whose file names encode subject, expression and more.

    Attributes
    ----------
    name : str
        The ``--layout`` name.
    dataset : str
        Default ``dataset`` column.
    pattern : re.Pattern
        Matched against the file name without extension; needs a ``code`` group.
    codes : dict
        Expression code → class.
    fields : callable
        ``match → dict`` of the row's columns (``subject`` and extras).
    checks : callable
        ``row → list of str``: plausibility notes for rows that parsed.
    expected : str
        The naming scheme, for the ``unparsed`` note.
    """

    name: str
    dataset: str
    pattern: re.Pattern
    codes: dict[str, str]
    fields: Callable[[re.Match], dict]
    checks: Callable[[dict], list[str]]
    expected: str


def _tif_fields(m: re.Match) -> dict:
    months = int(m.group("age"))
    return {
        "subject": f"A{int(m.group('infant')):02d}",
        "sex": m.group("sex").upper(),
        "age_months": months,
        "age_group": age_group(months),
        "take": int(m.group("take")) if m.group("take") else None,
    }


def _tif_checks(row: dict) -> list[str]:
    notes = []
    lo, hi = TIF_AGE_MONTHS
    if not lo <= row["age_months"] <= hi:
        notes.append(
            f"age {row['age_months']} months is outside the {lo}–{hi} months Maack et al. "
            "report; check the file-name reading"
        )
    if int(row["subject"][1:]) > TIF_INFANTS:
        notes.append(f"infant number above the {TIF_INFANTS} infants of the paper")
    return notes


def _kdef_fields(m: re.Match) -> dict:
    sex = m.group("sex").upper()
    return {
        "subject": f"{sex}{m.group('model')}",
        "sex": sex,
        "series": m.group("series").upper(),
        "angle": m.group("angle").upper(),
    }


def _jaffe_fields(m: re.Match) -> dict:
    return {"subject": m.group("model").upper(), "sex": "F", "take": int(m.group("take"))}


CODED_LAYOUTS: dict[str, CodedLayout] = {
    "tif": CodedLayout(
        name="tif",
        dataset="TIF",
        pattern=re.compile(
            r"^A(?P<infant>\d{1,3})(?P<sex>[FM])(?P<age>\d{1,2})(?P<code>[A-Z]{2})(?P<take>\d?)$",
            re.IGNORECASE,
        ),
        codes=TIF_CODES,
        fields=_tif_fields,
        checks=_tif_checks,
        expected="A<infant><F|M><months><code>[take], e.g. A02F10HA1",
    ),
    "jaffe": CodedLayout(
        name="jaffe",
        dataset="JAFFE",
        pattern=re.compile(
            r"^(?P<model>[A-Z]{2})\.(?P<code>[A-Z]{2})(?P<take>\d+)\.(?P<number>\d+)$",
            re.IGNORECASE,
        ),
        codes=JAFFE_CODES,
        fields=_jaffe_fields,
        checks=lambda row: [],
        expected="<model>.<code><take>.<number>, e.g. KA.AN1.39",
    ),
    "kdef": CodedLayout(
        name="kdef",
        dataset="KDEF",
        pattern=re.compile(
            r"^(?P<series>[AB])(?P<sex>[FM])(?P<model>\d{2})(?P<code>[A-Z]{2})"
            r"(?P<angle>FL|HL|S|HR|FR)$",
            re.IGNORECASE,
        ),
        codes=KDEF_CODES,
        fields=_kdef_fields,
        checks=lambda row: [],
        expected="<A|B><F|M><model><code><angle>, e.g. AF01ANS",
    ),
}

_EXTRA = {
    "tif": ["sex", "age_months", "age_group", "take"],
    "jaffe": ["sex", "take"],
    "kdef": ["sex", "series", "angle"],
}


def parse_coded(source, *, layout: str, labels: LabelMap, dataset: str | None = None) -> Manifest:
    """Read a folder of images whose names follow one of :data:`CODED_LAYOUTS`.

    Parameters
    ----------
    source : path-like
        The folder (searched recursively; sub-folders are ignored for labels).
    layout : {"tif", "jaffe", "kdef"}
    labels : LabelMap
        Its ``codes`` should be the layout's (see :func:`label_map_for`); the
        source label of each row is the two-letter code.
    dataset : str, optional
        The ``dataset`` column (default: the layout's dataset name).

    Returns
    -------
    Manifest
        Names that do not follow the scheme are ``unparsed`` with the scheme
        in their note.
    """
    spec = CODED_LAYOUTS[layout]
    root = require_folder(source, layout)
    files = list_images(root, layout=layout)
    rows = []
    extra = _EXTRA[layout]
    for f in files:
        rel = f.relative_to(root)
        row = {
            "id": rel.with_suffix("").as_posix(),
            "path": str(f),
            "subject": None,
            "status": "",
            "note": "",
            "dataset": dataset or spec.dataset,
        }
        row.update(dict.fromkeys(extra))
        m = spec.pattern.match(f.stem)
        if m is None:
            row.update(status="unparsed", note=f"name does not read as {spec.expected}")
            row["source_label"] = None
            rows.append(row)
            continue
        row.update(spec.fields(m))
        apply_label(row, m.group("code").upper(), labels)
        checks = spec.checks(row)
        if checks:
            row["note"] = "; ".join([row["note"], *checks]) if row["note"] else "; ".join(checks)
        rows.append(row)
    frame = make_frame(rows, extra=extra)
    frame["id"] = unique_ids(list(frame["id"]))
    info = {"scheme": spec.expected, "codes": spec.codes}
    return Manifest(frame=frame, layout=layout, source=Path(root), labels=labels, info=info)
