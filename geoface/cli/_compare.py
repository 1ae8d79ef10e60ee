"""``geoface compare``: runs on the same faces and folds, side by side, with paired tests."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import bootstrap_replicates, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare run directories made on the same faces and folds",
        description="Compare two or more run directories ('geoface fit', 'geoface baseline "
        "train') made on the same faces with the same splits: accuracy, balanced accuracy, "
        "macro-F1 and log loss with 95%% confidence intervals (bootstrap over subjects); for "
        "each pair of runs the exact McNemar test on per-face correctness, paired bootstrap "
        "intervals of the differences and Cohen's kappa between the predicted labels; per-class "
        "F1 and confusion matrices side by side. Faces some run has no prediction for are left "
        "out of every run and counted. Writes CSV, Markdown and LaTeX tables and PDF/PNG "
        "figures into --out.",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories")
    p.add_argument("--out", required=True, type=Path, help="folder to create")
    p.add_argument(
        "--bootstrap",
        type=bootstrap_replicates,
        default=2000,
        help="bootstrap replicates over subjects for every interval (default 2000)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")


def run(args) -> int:
    from .._errors import GeofaceError
    from ..compare import compare_runs

    if len(args.runs) < 2:
        raise GeofaceError(
            f"compare needs at least two run directories, got {len(args.runs)}; give "
            "RUN_DIR RUN_DIR …"
        )
    if args.out.exists() and not args.overwrite:
        raise GeofaceError(f"{args.out} exists; choose another --out or add --overwrite")
    comparison = compare_runs(args.runs, n_boot=args.bootstrap, seed=args.seed)
    out = comparison.write(args.out, overwrite=args.overwrite)
    print("\n".join(comparison_lines(comparison)))
    print(f"  → {out}")
    return 0


def comparison_lines(comparison) -> list[str]:
    """The comparison as printed: a headline, the scores table and the pairs table."""
    from ..compare import markdown_table

    tables = comparison.tables()
    lines = [
        comparison.summary_line() + ".",
        f"95% CI: bootstrap over {comparison.group}s, {comparison.n_boot} replicates.",
        "",
        markdown_table(tables["metrics"]),
    ]
    if "pairs" in tables:
        lines += [
            "",
            "Pairs (A − B; McNemar: exact test on the faces exactly one run gets right):",
            "",
        ]
        columns = ["A", "B", "A only", "B only", "McNemar p", "κ"]
        columns += ["Δ accuracy", "Δ balanced accuracy"]
        lines.append(markdown_table(tables["pairs"][columns]))
    return lines
