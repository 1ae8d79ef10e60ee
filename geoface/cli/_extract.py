"""``geoface extract``: images or landmarks → mesh features, one row per face."""

from __future__ import annotations

import sys
from pathlib import Path

from .._errors import GeofaceError
from ..extraction import resolve_mesh


def add_parser(sub) -> None:
    p = sub.add_parser(
        "extract",
        help="images or landmarks → feature table (triangle areas, angles, edge strains)",
        description="Compute mesh features for every face of a landmark file, or detect faces "
        "and landmarks in images first. Every input row or image appears in the output, failed "
        "ones with their qc_status and empty features.",
    )
    p.add_argument(
        "input",
        type=Path,
        help="a folder of images (recursive; class sub-folders become labels), a manifest CSV "
        "(a 'path' column, relative to the manifest, plus any metadata), one image; or "
        "landmarks: a landmark CSV (x_0..x_67, y_0..y_67 + metadata), .npz, .pts, or a folder "
        "of .pts files",
    )
    p.add_argument(
        "--out", required=True, type=Path, help="feature table: .csv (default format) or .parquet"
    )
    p.add_argument(
        "--mesh",
        default="default",
        help="'default' (built-in template), 'fit' (rebuild on these faces' "
        "Procrustes mean) or a mesh JSON / table .meta.json to reuse",
    )
    p.add_argument(
        "--reference",
        choices=("template", "neutral"),
        default="template",
        help="edge-strain reference: the template, or each subject's neutral face",
    )
    p.add_argument(
        "--iod",
        choices=("centres", "corners"),
        default="centres",
        help="inter-ocular distance between eye centres or outer corners",
    )
    p.add_argument(
        "--neutral-label",
        default="neutral",
        help="label value of neutral faces (default 'neutral')",
    )
    g = p.add_argument_group(
        "person-specific reference",
        "describe every face relative to a baseline of the same person, chosen without labels "
        "(a face is never its own reference; faces without one use the mesh template and get "
        "qc_relative_fallback)",
    )
    g.add_argument(
        "--relative",
        choices=("auto", "none", "mean", "first", "marked"),
        default="auto",
        help="auto (default): 'mean' when the input has a --relative-by column with several "
        "faces per value, else none; none: absolute features; mean: minus the mean of the "
        "group's other faces (its mean face); first: minus the group's first face (by "
        "--relative-order); marked: minus the faces --relative-mark marks",
    )
    g.add_argument(
        "--relative-by",
        default="subject",
        metavar="COLUMN",
        help="group whose baseline is used: subject (default), session, sequence, track …",
    )
    g.add_argument(
        "--relative-order",
        metavar="COLUMN",
        help="for --relative first: the column ordering a group's faces (frame, time)",
    )
    g.add_argument(
        "--relative-mark",
        metavar="COLUMN",
        help="for --relative marked: the column marking baseline faces (1/true/yes)",
    )
    # --- aligned landmark coordinates beside the mesh features ---
    p.add_argument(
        "--coords",
        choices=("none", "aligned"),
        default="none",
        help="aligned: add the Procrustes-aligned landmark coordinates (pt_36_lateral, "
        "pt_36_vertical …, in template inter-ocular distances, mirror-consistent) after the "
        "mesh features; with --relative they too become displacements from the reference "
        "(images and landmark files; default none)",
    )
    # --- end aligned landmark coordinates ---
    from ._extract_images import add_image_arguments

    add_image_arguments(p)
    # --- video inputs ---
    from ._extract_images import add_video_arguments

    add_video_arguments(p)
    # --- end video inputs ---


def warn_formula_like(frame, out: Path) -> None:
    """Say once, on stderr, when text written to ``out`` would run as a spreadsheet formula."""
    from .._spreadsheet import formula_warning

    message = formula_warning(frame, str(out))
    if message:
        print(f"geoface: warning: {message}", file=sys.stderr)


def relative_options(args) -> dict:
    """The person-specific reference (and ``coords``) options of ``extract_table``."""
    return {
        "relative": args.relative,
        "relative_by": args.relative_by,
        "relative_order": args.relative_order,
        "relative_mark": args.relative_mark,
        "coords": getattr(args, "coords", "none"),
    }


def report(table, out: Path, what: str = "faces") -> int:
    """Print the one-line summary of a written table; return the exit status."""
    warn_formula_like(table.frame, out)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(table.qc_counts().items()))
    print(
        f"{len(table.frame)} {what} → {out} ({len(table.feature_names)} features, "
        f"mesh {table.mesh.hash}): {counts}"
    )
    if "qc_reference_fallback" in table.frame:
        n_fb = int(table.frame["qc_reference_fallback"].sum())
        if n_fb:
            print(
                f"  {n_fb} faces had no neutral face of their own subject: "
                "strains use the template (qc_reference_fallback)"
            )
    normalised = table.info.get("label_normalised", {})
    print_label_note(normalised.get("changed"), normalised.get("rows"))
    rel = table.info.get("options", {}).get("relative") or {}
    if rel.get("rule", "none") != "none":
        line = f"  features relative to each {rel['by']}'s reference ({rel['rule']}"
        line += f", {rel['why']})" if rel.get("why") else ")"
        if rel.get("n_fallback"):
            line += f"; {rel['n_fallback']} faces without one use the template"
        print(line + "; --relative none keeps them absolute")
    if not table.usable.any():
        print(
            "geoface: error: no face has usable landmarks; see qc_status in the table",
            file=sys.stderr,
        )
        return 2
    return 0


def print_label_note(changes: dict | None, values=None, column: str = "label") -> None:
    """Say, on one line, which spellings of a label were read as one class."""
    if changes:
        from ..labels import describe_label_changes

        print("  " + describe_label_changes(changes, values, column=column))


def check_landmarks(landmarks, meta, source: Path) -> None:
    """Refuse, before anything is written, landmark input without one usable face.

    A header-only file, or one whose every face has a missing or non-numeric
    coordinate, would give a table without features; the message says why.
    Text in some coordinate cells is reported on stderr.
    """
    import numpy as np

    note = meta.attrs.get("text_cells")
    if len(landmarks) == 0:
        raise GeofaceError(
            f"{source} holds no faces (column names but no rows); give a file with one row of "
            "landmarks per face"
        )
    finite = np.isfinite(landmarks).all(axis=(1, 2))
    if not finite.any():
        why = note or "every coordinate cell is empty, NaN or infinite"
        raise GeofaceError(
            f"none of the {len(landmarks)} faces in {source} has 68 finite landmarks: {why}; "
            "nothing was written"
        )
    if note:
        print(f"geoface: warning: {source}: {note}", file=sys.stderr)


def run(args) -> int:
    # --- video inputs: a video, a folder holding one, or a manifest naming one ---
    from ..video import holds_videos

    if holds_videos(args.input):
        from ._extract_images import run_videos

        return run_videos(args)
    # --- end video inputs ---
    from ..landmarks import input_kind

    kind = input_kind(args.input, images_requested=args.landmarker is not None)
    if kind != "landmarks":
        from ._extract_images import run_images

        return run_images(args, kind)
    if args.landmarker in ("fan", "dlib"):
        raise GeofaceError(
            f"--landmarker {args.landmarker} detects landmarks in images, but {args.input} "
            "holds landmarks already; leave --landmarker out, or give images"
        )
    from ..features import extract_table
    from ..landmarks import IMAGE_QC_COLUMNS, read_landmark_input

    landmarks, meta = read_landmark_input(args.input)
    check_landmarks(landmarks, meta, args.input)
    qc = None
    if "qc_status" in meta.columns:  # a landmark table written by 'extract' on images
        # (a video's landmark table also has qc_how: detected or tracked)
        cols = [c for c in meta.columns if c in IMAGE_QC_COLUMNS or c == "qc_how"]
        qc, meta = meta[cols], meta.drop(columns=cols)
    table = extract_table(
        landmarks,
        meta,
        qc=qc,
        mesh=resolve_mesh(args.mesh),
        reference=args.reference,
        iod=args.iod,
        neutral_label=args.neutral_label,
        **relative_options(args),
        landmarker="file",
        source=str(args.input),
    )
    out = table.write(args.out)
    return report(table, out)
