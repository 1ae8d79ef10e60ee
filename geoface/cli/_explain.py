"""``geoface explain``: SHAP attributions of a fitted run, by facial region, with figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ._argtypes import non_negative_int, positive_int, random_seed

#: Frame tables longer than this are explained with --region-sums-only only (their per-feature
#: values would not fit in memory: 50,000 frames × 602 features × 7 classes take 1.7 GB).
FRAME_ROWS_FULL = 50_000


def add_parser(sub) -> None:
    from ..explain import EXPLAINERS, FIGURES

    p = sub.add_parser(
        "explain",
        help="SHAP values of a run's model, summed into triangles, edges and regions",
        description="Explain a 'geoface fit' run with SHAP. Each face is explained by the model "
        "of the fold that did not train on it (out of fold; --final: the refitted model). "
        "Values are summed from features to triangles and edges to facial regions (exactly "
        "additive) and summarised per class with 95% intervals over subjects. Writes "
        "shap_values.npz, regions.csv, triangles.csv, edges.csv, explain.json and figures.",
    )
    p.add_argument("run_dir", type=Path, help="run directory from 'geoface fit'")
    p.add_argument("--out", required=True, type=Path, help="folder to create")
    p.add_argument(
        "--features",
        type=Path,
        help="feature table to explain (default: the table the run was fitted on)",
    )
    p.add_argument(
        "--final",
        action="store_true",
        help="explain with the model refitted on all faces instead of out of fold",
    )
    p.add_argument(
        "--by-class",
        action="store_true",
        help="figures average each class's values over the faces of that class "
        "(default: over all faces); regions.csv always has both",
    )
    p.add_argument(
        "--explainer",
        choices=["auto", *EXPLAINERS],
        default="auto",
        help="auto (default: tree for xgb/rf, linear for logreg/svm-linear, partition for "
        "svm); " + "; ".join(f"{k} = {v}" for k, v in EXPLAINERS.items()),
    )
    p.add_argument(
        "--background",
        type=positive_int,
        default=20,
        help="partition explainer: k-means centres of the training faces used as the "
        "background (default 20)",
    )
    p.add_argument(
        "--max-evals",
        type=positive_int,
        default=300,
        help="partition explainer: model evaluations per face, each over the whole "
        "background (default 300)",
    )
    p.add_argument(
        "--max-rows",
        type=non_negative_int,
        help="explain at most N faces, a seeded random subset (default: all for tree and "
        "linear, 300 for partition; 0: all)",
    )
    p.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        help="subject-bootstrap replicates for the region intervals (default 1000)",
    )
    p.add_argument(
        "--contrast",
        nargs=2,
        action="append",
        metavar=("A", "B"),
        help="draw where the evidence for class A differs from B (repeatable; default: "
        "surprise vs fear, or the pair the run confused most)",
    )
    p.add_argument(
        "--faces",
        nargs="+",
        metavar="ID",
        help="ids of faces to draw single-face explanations of (default: one per class)",
    )
    p.add_argument(
        "--landmarks",
        type=Path,
        help="landmark file the faces come from, to draw single faces on their own landmarks "
        "and photo (default: the table's source)",
    )
    p.add_argument(
        "--figures",
        nargs="+",
        choices=FIGURES,
        default=list(FIGURES),
        metavar="GROUP",
        help="figure groups to draw (default: all of " + ", ".join(FIGURES) + "): region "
        "bars, region maps, beeswarms, single faces, class contrasts",
    )
    p.add_argument("--no-figures", action="store_true", help="write tables and values only")
    p.add_argument(
        "--region-sums-only",
        action="store_true",
        help="keep each face's SHAP values summed by region only (region_values.npz, "
        "regions.csv, region bars): faces are explained --chunk-rows at a time and reduced at "
        "once, so hours of frames fit in memory; required for frame tables of more than "
        f"{FRAME_ROWS_FULL:,} rows",
    )
    p.add_argument(
        "--chunk-rows",
        type=positive_int,
        metavar="N",
        help="with --region-sums-only: faces explained at a time (default 10000)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        help="threads for XGBoost and the partition explainer (default: all cores; 1 makes "
        "partition values reproducible to the bit)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("--quiet", action="store_true", help="print only the summary")


def face_source(table, landmarks_path: Path | None):
    """A function id → (landmarks, image) from the table's landmark source, or None."""
    from .._errors import GeofaceError
    from ..landmarks import read_landmark_input

    source = landmarks_path or (table.info.get("source") and Path(table.info["source"]))
    if source is None or not Path(source).exists():
        if landmarks_path is not None:
            raise GeofaceError(f"landmark file {landmarks_path} does not exist")
        return None
    try:
        lm, meta = read_landmark_input(source)
    except GeofaceError:
        if landmarks_path is not None:
            raise
        return None
    if "id" not in meta.columns:
        return None
    base = Path(source) if Path(source).is_dir() else Path(source).parent
    index = {str(i): n for n, i in enumerate(meta["id"].astype(str))}
    paths = table.frame.set_index(table.frame["id"].astype(str)).get("path")

    def load(face_id: str):
        n = index.get(face_id)
        if n is None or not np.isfinite(lm[n]).all():
            return None, None
        image = None
        rel = None if paths is None else paths.get(face_id)
        if isinstance(rel, str) and rel.strip():
            import cv2

            img = cv2.imread(str(base / rel), cv2.IMREAD_COLOR)
            if img is not None:
                image = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return lm[n], image

    return load


def summary_lines(expl, regions, over: str = "all") -> list[str]:
    """A few lines: what was explained how, and each class's top regions."""
    info = expl.info
    skipped = ", ".join(f"{k} {v}" for k, v in info["skipped"].items()) or "none"
    lines = [
        f"{info['model']} run explained {info['mode']} with the {info['explainer']} explainer "
        f"({info['space']} space): {info['n_faces']} faces, skipped: {skipped}",
        f"  additivity: |Σ SHAP + base − model output| ≤ {info['additivity_max_error']:.2g}; "
        f"{info['timings_seconds']['total']:.1f} s",
    ]
    kinds = info.get("feature_kinds") or {}
    if kinds.get("coords"):  # say so when more than the mesh was explained
        lines.append(f"  features: {kinds['summary']}")
    if info["explainer"] == "partition":
        cost = info["cost"]
        lines.append(
            f"  cost: {cost['model_evaluations']:,} model evaluations "
            f"(≤ {cost['per_face_at_most']:,} per face)"
        )
    faces = "all faces" if over == "all" else "each class's own faces"
    lines.append(f"  top regions per class (mean |SHAP|, total per region, over {faces}, 95% CI):")
    part = regions[regions["over"] == over]
    for cls, g in part.groupby("class", sort=False):
        g = g.sort_values("mean_abs_total", ascending=False).head(3)
        tops = "; ".join(
            f"{r.region} {r.mean_abs_total:.3g} [{r.mean_abs_total_low:.3g}, "
            f"{r.mean_abs_total_high:.3g}]"
            for r in g.itertuples()
        )
        lines.append(f"    {cls:<10} {tops}")
    return lines


def run(args) -> int:
    import matplotlib

    if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg"}:
        matplotlib.use("Agg")
    import pandas as pd

    from .._errors import GeofaceError
    from ..explain import check_explainable, explain_run, run_table, write_explanation
    from ..features import FeatureTable
    from ..models import Run

    out: Path = args.out
    if out.exists() and not args.overwrite:  # refuse before any work is done
        raise GeofaceError(f"output folder {out} exists; choose another --out or add --overwrite")
    if args.bootstrap < 0:
        raise GeofaceError(f"--bootstrap {args.bootstrap} must be ≥ 0")
    run_ = Run(args.run_dir)
    check_explainable(run_)
    if args.chunk_rows is not None and not args.region_sums_only:
        raise GeofaceError("--chunk-rows sets the chunks of --region-sums-only: add it")
    given = FeatureTable.read(args.features) if args.features else None
    table, table_path = run_table(run_, given, str(args.features) if args.features else None)
    is_frames = {"video", "time_s"} <= set(table.frame.columns)
    if is_frames and len(table.frame) > FRAME_ROWS_FULL and not args.region_sums_only:
        if args.max_rows is None or args.max_rows == 0 or args.max_rows > FRAME_ROWS_FULL:
            raise GeofaceError(
                f"{len(table.frame):,} frames: their SHAP values per feature would not fit in "
                "memory; add --region-sums-only (values summed by region per frame, what the "
                "region × time heat map needs) or explain a sample with --max-rows N"
            )
    say = (lambda msg: None) if args.quiet else (lambda msg: print("  " + msg, flush=True))
    expl = explain_run(
        run_,
        table,
        final=args.final,
        explainer=args.explainer,
        background=args.background,
        max_evals=args.max_evals,
        max_rows=args.max_rows,
        seed=args.seed,
        n_jobs=args.threads,
        table_path=table_path,
        progress=say,
        region_sums_only=args.region_sums_only,
        chunk_rows=args.chunk_rows,
    )
    expl.info["command"] = ["geoface", *sys.argv[1:]]
    faces = None
    if args.faces:
        where = {str(i): n for n, i in enumerate(expl.ids)}
        missing = [f for f in args.faces if f not in where]
        if missing:
            raise GeofaceError(
                f"--faces {missing[:3]} are not among the explained faces (ids of usable faces "
                "of the table; faces left out by --max-rows are not explained)"
            )
        faces = [where[f] for f in args.faces]
    source = None
    if not args.no_figures and "faces" in args.figures and not args.region_sums_only:
        source = face_source(table, args.landmarks)
        if source is None:
            say("no landmark source found: single faces are drawn on the template")
    over = "class" if args.by_class else "all"
    write_explanation(
        expl,
        out,
        over=over,
        n_boot=args.bootstrap,
        figures=None if args.no_figures else args.figures,
        faces=faces,
        contrasts=[tuple(c) for c in args.contrast] if args.contrast else None,
        face_source=source,
        metrics=run_.metrics,
        overwrite=args.overwrite,
        seed=args.seed,
    )
    regions = pd.read_csv(out / "regions.csv")
    for line in summary_lines(expl, regions, over):
        print(line)
    n_figs = len(json.loads((out / "explain.json").read_text("utf-8")).get("figures", []))
    print(f"  → {out} ({n_figs} figure files)")
    return 0
