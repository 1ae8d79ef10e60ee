"""``geoface extract``: images or landmarks → mesh features, one row per face."""

from __future__ import annotations

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
    from ._extract_images import add_image_arguments

    add_image_arguments(p)


def report(table, out: Path, what: str = "faces") -> int:
    """Print the one-line summary of a written table; return the exit status."""
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
    if not table.usable.any():
        print("geoface: error: no face has usable landmarks; see qc_status in the table")
        return 1
    return 0


def run(args) -> int:
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
    qc = None
    if "qc_status" in meta.columns:  # a landmark table written by 'extract' on images
        cols = [c for c in meta.columns if c in IMAGE_QC_COLUMNS]
        qc, meta = meta[cols], meta.drop(columns=cols)
    table = extract_table(
        landmarks,
        meta,
        qc=qc,
        mesh=resolve_mesh(args.mesh),
        reference=args.reference,
        iod=args.iod,
        neutral_label=args.neutral_label,
        landmarker="file",
        source=str(args.input),
    )
    out = table.write(args.out)
    return report(table, out)
