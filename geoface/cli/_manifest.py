"""``geoface manifest``: a per-image manifest from a dataset as it is distributed."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    from ..datasets import LAYOUTS

    layouts = "; ".join(f"{k}: {v}" for k, v in LAYOUTS.items())
    p = sub.add_parser(
        "manifest",
        help="build a per-image manifest (id, path, subject, label, …) from a dataset's layout",
        description="Read a dataset as it is distributed and write one row per image: id, path "
        "(relative to the manifest), subject, label (one of anger, disgust, fear, happy, "
        "neutral, sad, surprise), source_label, status, note, dataset and the layout's own "
        "columns (age_months, age_group, sex, Action Units …). Nothing is dropped: rows that "
        "cannot be parsed or labelled keep a status and a note. The label mapping is printed. "
        f"Layouts — {layouts}.",
    )
    p.add_argument("source", type=Path, metavar="DIR", help="the dataset's folder (or CSV)")
    p.add_argument("--layout", required=True, choices=tuple(LAYOUTS), help="how DIR is laid out")
    p.add_argument("--out", required=True, type=Path, help="manifest CSV to write")
    p.add_argument(
        "--label-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="CSV 'source,label' (or JSON) overriding the label mapping; label 'exclude' drops "
        "a category from training (the row stays, status excluded)",
    )
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="CATEGORY",
        help="keep an excluded category as its own class (e.g. --keep contempt); repeatable",
    )
    p.add_argument("--dataset", default=None, help="value of the dataset column")
    p.add_argument(
        "--age-group",
        default=None,
        help="age group for rows whose age is not in the data (e.g. adult for CK+)",
    )
    g = p.add_argument_group("folders")
    g.add_argument(
        "--subject-regex",
        default=None,
        help="regular expression searched in each image's relative path; the subject is its "
        "'subject' group (or group 1), e.g. '(?P<subject>[A-Z]\\d+)_'",
    )
    g.add_argument(
        "--subject-folders",
        action="store_true",
        help="the folder below each class folder names the subject",
    )
    g = p.add_argument_group("ckplus")
    g.add_argument(
        "--neutral-first",
        action="store_true",
        help="also list each sequence's first frame, labelled neutral",
    )
    g.add_argument(
        "--frames",
        choices=("peak", "all"),
        default=None,
        help="peak (default): the labelled last frame of each sequence; all: every frame",
    )
    g.add_argument("--au-intensity", action="store_true", help="add AU<n>_intensity columns")
    g.add_argument(
        "--landmarks",
        action="store_true",
        help="read CK+'s 68 AAM landmarks into OUT_STEM.landmarks.csv",
    )
    g = p.add_argument_group("affectnet, csv")
    g.add_argument(
        "--image-root",
        type=Path,
        default=None,
        help="folder the listed image paths are relative to",
    )
    g = p.add_argument_group("csv")
    g.add_argument("--path-col", default=None, help="column of image paths (default path)")
    g.add_argument("--label-col", default=None, help="column of labels (default label)")
    g.add_argument("--subject-col", default=None, help="column of subject ids (default subject)")
    g.add_argument("--id-col", default=None, help="column of ids (default: path without extension)")
    g.add_argument("--age-col", default=None, help="column of ages (→ age_months, age_group)")
    g.add_argument(
        "--age-unit", choices=("months", "years"), default=None, help="unit of --age-col"
    )
    g.add_argument("--sex-col", default=None, help="column of sex")
    g.add_argument(
        "--landmark-columns",
        default=None,
        metavar="XPAT,YPAT",
        help="68 landmark columns as two patterns with {i}, e.g. 'original_{i}_x,original_{i}_y' "
        "(written to OUT_STEM.landmarks.csv)",
    )


def _options(args) -> dict:
    layout = args.layout
    given = {
        "subject_regex": args.subject_regex,
        "subject_folders": args.subject_folders or None,
        "neutral_first": args.neutral_first or None,
        "frames": args.frames,
        "au_intensity": args.au_intensity or None,
        "landmarks": args.landmarks or None,
        "image_root": args.image_root,
        "path_col": args.path_col,
        "label_col": args.label_col,
        "subject_col": args.subject_col,
        "id_col": args.id_col,
        "age_col": args.age_col,
        "age_unit": args.age_unit,
        "sex_col": args.sex_col,
        "landmark_columns": args.landmark_columns,
    }
    options = {k: v for k, v in given.items() if v is not None}
    if layout == "csv":
        options.setdefault("path_col", "path")
    return options


def run(args) -> int:
    from .._errors import GeofaceError
    from ..datasets import build_manifest, write_manifest

    if not args.source.exists():
        raise GeofaceError(f"{args.source} does not exist; give the dataset's folder")
    manifest = build_manifest(
        args.source,
        args.layout,
        label_map=args.label_map,
        keep=tuple(args.keep),
        dataset=args.dataset,
        age_group=args.age_group,
        **_options(args),
    )
    written = write_manifest(manifest, args.out)
    from ._extract import warn_formula_like

    warn_formula_like(manifest.frame, written["manifest"])
    for line in manifest.summary():
        print(line)
    also = ", ".join(str(p) for k, p in written.items() if k != "manifest")
    print(f"→ {written['manifest']} (and {also})")
    return 0
