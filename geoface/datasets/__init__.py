"""Datasets geoface knows how to read, and manifests built from their layouts.

* :func:`read_registry` / :func:`dataset_info`: the registry
  (``data_manifest.csv``), one row per dataset with its population, ages,
  counts, classes, label source, access, licence, citation and layout parser.
* :func:`build_manifest`: one row per image (``id, path, subject, label,
  source_label, status, note, dataset, …``) from a dataset as distributed
  (:data:`LAYOUTS`), with the label vocabulary mapped to :data:`CLASSES`
  explicitly; :func:`write_manifest` writes it for ``geoface extract`` and
  ``geoface baseline train``.
"""

from __future__ import annotations

import os

from .._errors import GeofaceError
from ._affectnet import AFFECTNET_COLUMNS, AFFECTNET_EXPRESSIONS, parse_affectnet
from ._ckplus import CKPLUS_EMOTIONS, parse_ckplus, read_ckplus_emotion, read_ckplus_facs
from ._coded import CODED_LAYOUTS, parse_coded
from ._csvlayout import parse_csv
from ._folders import parse_folders
from ._labels import CLASSES, EXCLUDED, SYNONYMS, LabelMap, read_label_map
from ._manifest import (
    AGE_GROUPS,
    BASE_COLUMNS,
    STATUSES,
    Manifest,
    age_group,
    write_manifest,
)
from ._registry import NUMERIC_COLUMNS, REGISTRY_COLUMNS, dataset_info, read_registry

__all__ = [
    "AFFECTNET_COLUMNS",
    "AFFECTNET_EXPRESSIONS",
    "AGE_GROUPS",
    "BASE_COLUMNS",
    "CKPLUS_EMOTIONS",
    "CLASSES",
    "CODED_LAYOUTS",
    "EXCLUDED",
    "LAYOUTS",
    "NUMERIC_COLUMNS",
    "REGISTRY_COLUMNS",
    "STATUSES",
    "SYNONYMS",
    "LabelMap",
    "Manifest",
    "age_group",
    "build_manifest",
    "dataset_info",
    "label_map_for",
    "parse_affectnet",
    "parse_ckplus",
    "parse_coded",
    "parse_csv",
    "parse_folders",
    "read_ckplus_emotion",
    "read_ckplus_facs",
    "read_label_map",
    "read_registry",
    "write_manifest",
]

#: ``--layout`` name → what it reads.
LAYOUTS: dict[str, str] = {
    "folders": "class sub-folders ([split/]CLASS/[SUBJECT/]image); labels from folder names",
    "tif": "Tromsø Infant Faces file names (A02F10HA1: infant, sex, months, expression, take)",
    "ckplus": "the CK+ distribution (cohn-kanade-images/, Emotion/, FACS/, Landmarks/)",
    "affectnet": "AffectNet annotation CSVs (training.csv …), or its folder-per-class release",
    "csv": "any CSV listing images (--path-col, --label-col, --subject-col, …)",
    "jaffe": "JAFFE file names (KA.AN1.39.tiff: model, expression, take, number)",
    "kdef": "KDEF file names (AF01ANS.JPG: series, sex, model, expression, angle)",
}


def label_map_for(
    layout: str,
    *,
    label_map: str | os.PathLike | dict | None = None,
    keep: tuple[str, ...] | list[str] = (),
) -> LabelMap:
    """The :class:`LabelMap` a layout uses: its own codes, the user's map, kept categories.

    Parameters
    ----------
    layout : str
        One of :data:`LAYOUTS`.
    label_map : path-like or dict, optional
        ``--label-map``: a CSV ``source,label`` / JSON file, or a dict.
    keep : sequence of str
        Excluded categories to keep as classes (``contempt``).
    """
    codes: dict[str, str] = {}
    if layout in CODED_LAYOUTS:
        codes = dict(CODED_LAYOUTS[layout].codes)
    elif layout == "affectnet":
        codes = {str(k): v for k, v in AFFECTNET_EXPRESSIONS.items()}
    if label_map is None:
        user = {}
    elif isinstance(label_map, dict):
        user = {
            str(k).strip().lower(): (str(v).strip().lower() or "exclude")
            for k, v in label_map.items()
        }
    else:
        user = read_label_map(label_map)
    return LabelMap(codes=codes, user=user, keep=tuple(keep))


def build_manifest(
    source: str | os.PathLike,
    layout: str,
    *,
    label_map: str | os.PathLike | dict | None = None,
    keep: tuple[str, ...] | list[str] = (),
    dataset: str | None = None,
    age_group: str | None = None,
    **options,
) -> Manifest:
    """Build the per-image manifest of a dataset laid out as ``layout``.

    Parameters
    ----------
    source : path-like
        The dataset's folder (or, for ``csv`` and ``affectnet``, a CSV file).
    layout : str
        One of :data:`LAYOUTS`.
    label_map, keep
        See :func:`label_map_for`.
    dataset : str, optional
        The ``dataset`` column (default: the layout's dataset name, or the
        folder's name for ``folders`` and ``csv``).
    age_group : str, optional
        An age group for rows whose age group is not known from the data
        (``adult`` for CK+, say), so that evaluation by ``age_group`` works.
    **options
        The layout's own options: ``subject_regex``, ``subject_folders``
        (folders); ``neutral_first``, ``frames``, ``au_intensity``,
        ``landmarks`` (ckplus); ``image_root`` (affectnet, csv);
        ``path_col``, ``label_col``, ``subject_col``, ``id_col``,
        ``age_col``, ``age_unit``, ``sex_col``, ``landmark_columns`` (csv).

    Returns
    -------
    Manifest
    """
    from pathlib import Path

    if layout not in LAYOUTS:
        raise GeofaceError(f"layout={layout!r} is not one of {sorted(LAYOUTS)}")
    labels = label_map_for(layout, label_map=label_map, keep=keep)
    src = Path(source)
    if layout in CODED_LAYOUTS:
        _no_options(layout, options)
        manifest = parse_coded(src, layout=layout, labels=labels, dataset=dataset)
    elif layout == "folders":
        _no_options(layout, options, {"subject_regex", "subject_folders"})
        manifest = parse_folders(src, labels=labels, dataset=dataset or src.name, **options)
    elif layout == "ckplus":
        _no_options(layout, options, {"neutral_first", "frames", "au_intensity", "landmarks"})
        manifest = parse_ckplus(src, labels=labels, dataset=dataset or "CK+", **options)
    elif layout == "affectnet":
        _no_options(layout, options, {"image_root"})
        manifest = parse_affectnet(src, labels=labels, dataset=dataset or "AffectNet", **options)
    else:
        allowed = {
            "path_col",
            "label_col",
            "subject_col",
            "id_col",
            "age_col",
            "age_unit",
            "sex_col",
            "image_root",
            "landmark_columns",
        }
        _no_options(layout, options, allowed)
        manifest = parse_csv(src, labels=labels, dataset=dataset or src.stem, **options)
    if age_group is not None:
        frame = manifest.frame
        if "age_group" not in frame.columns:
            frame["age_group"] = None
        frame["age_group"] = frame["age_group"].where(frame["age_group"].notna(), age_group)
    manifest.info["options"] = {k: v for k, v in options.items() if v is not None}
    return manifest


def _no_options(layout: str, options: dict, allowed: set[str] = frozenset()) -> None:
    bad = sorted(k for k, v in options.items() if k not in allowed and v not in (None, False))
    if bad:
        flags = ", ".join("--" + b.replace("_", "-") for b in bad)
        raise GeofaceError(f"{flags} do(es) not apply to --layout {layout}")
    for k in [k for k in options if k not in allowed]:
        options.pop(k)
