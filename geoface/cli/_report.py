"""``geoface report``: one self-contained HTML page of runs, comparisons and explanations."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import bootstrap_replicates, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML page of runs, their comparison and SHAP maps",
        description="Write one HTML page (figures and style inline: it opens anywhere, offline, "
        "and can be mailed or attached as a supplement) about run directories: the data and its "
        "QC statuses, each model's scores with 95%% confidence intervals and chance levels, the "
        "comparison of the runs (McNemar tests, paired bootstrap differences, agreement), "
        "confusion matrices, for runs on a frame table (videos) each video's frame statuses and "
        "time course, the overfitting report, SHAP region maps from 'geoface explain' "
        "and each run's command, versions and seeds.",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories")
    p.add_argument("--out", required=True, type=Path, help="HTML file to write")
    p.add_argument(
        "--explain",
        nargs="+",
        type=Path,
        default=(),
        metavar="DIR",
        help="'geoface explain' output folders (default: explain/NAME beside runs/NAME, or "
        "RUN_DIR/explain, when present)",
    )
    p.add_argument(
        "--features",
        type=Path,
        help="the feature table, when the one recorded in the runs' run.json has moved",
    )
    p.add_argument(
        "--bootstrap",
        type=bootstrap_replicates,
        default=2000,
        help="bootstrap replicates over subjects for the comparison (default 2000)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--title", help="page title (default: the runs' names)")


def run(args) -> int:
    from ..report import write_report

    out = write_report(
        args.runs,
        args.out,
        explain_dirs=args.explain,
        features=args.features,
        n_boot=args.bootstrap,
        seed=args.seed,
        title=args.title,
    )
    size = out.stat().st_size / 1e6
    print(f"report on {len(args.runs)} run(s) → {out} ({size:.1f} MB, self-contained)")
    return 0
