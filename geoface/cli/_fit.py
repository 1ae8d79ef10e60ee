"""``geoface fit``: cross-validated geometric classifiers with honest metrics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models import MODELS
from ._argtypes import bootstrap_replicates, fold_count, non_negative_int, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="cross-validate a classifier on grouped folds → run directory",
        description="Train a classifier on a feature table with subject-grouped cross-"
        "validation: out-of-fold predictions for every face, metrics with 95% confidence "
        "intervals (bootstrap over subjects), chance levels, an overfitting report, figures, "
        "and the final model refitted on all faces.",
    )
    p.add_argument("features", type=Path, help="feature table from 'geoface extract'")
    p.add_argument("--out", required=True, type=Path, help="run directory to create")
    p.add_argument(
        "--model",
        choices=list(MODELS),
        default="xgb",
        help="classifier (default xgb): "
        + "; ".join(f"{k} = {v.description}" for k, v in MODELS.items()),
    )
    p.add_argument("--target", default="label", help="column to predict (default label)")
    p.add_argument("--group", default="subject", help="grouping column (default subject)")
    p.add_argument("--splits", type=Path, help="shared splits CSV from 'geoface split'")
    p.add_argument(
        "--folds",
        type=fold_count,
        default="5",
        help="folds when no --splits is given: a number or 'loso' (default 5)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    p.add_argument(
        "--tune",
        action="store_true",
        help="nested CV over the model's search space (inner folds grouped too)",
    )
    p.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mirror augmentation: every training face also enters as its mirror image "
        "(held-out faces never do); --no-mirror turns it off; default: " + _mirror_defaults(),
    )
    p.add_argument(
        "--permutations",
        type=non_negative_int,
        default=0,
        help="label-permutation test with N permutations (default 0: off)",
    )
    p.add_argument(
        "--bootstrap",
        type=bootstrap_replicates,
        default=2000,
        help="subject-bootstrap replicates for the CIs (default 2000)",
    )
    p.add_argument(
        "--eval-by",
        action="append",
        default=[],
        metavar="COLUMN",
        help="also report every metric per group of this table column (age group, population, "
        "site …), with CIs over the subjects of each group; repeat it or give a comma list",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    from ._extract_images import add_cluster_arguments

    add_cluster_arguments(p, chunk=False)


def _mirror_defaults() -> str:
    off = [k for k, v in MODELS.items() if not v.mirror]
    if not off:
        return "on for every model"
    on = [k for k, v in MODELS.items() if v.mirror]
    return f"on for {', '.join(on) or 'none'}, off for {', '.join(off)}"


def split_columns(values: list[str]) -> list[str]:
    """Column names from repeated and comma-separated options, in order, without repeats."""
    names = [part.strip() for value in values for part in value.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def summary_lines(metrics: dict) -> list[str]:
    """A few lines with the headline metrics, their CIs and the chance levels."""
    ci = metrics["ci95"]

    def fmt(name):
        value = metrics[name]
        if value is None:
            return f"{name.replace('_', ' ')} n/a"
        return (
            f"{name.replace('_', ' ')} {value:.3f} [{ci[name]['low']:.3f}, {ci[name]['high']:.3f}]"
        )

    chance = metrics["chance"]
    gap = metrics["overfitting"]["mean"]
    lines = [
        f"{metrics['model']} on {metrics['n_used']} faces of {metrics['n_groups']} subjects, "
        f"{metrics['n_folds']} folds (95% CI, bootstrap over subjects):",
        "  " + "; ".join(fmt(n) for n in ("accuracy", "balanced_accuracy", "macro_f1")),
        "  " + fmt("log_loss") + f" (uniform guess {chance['uniform']['log_loss']:.3f})",
        f"  chance: accuracy {chance['majority']['accuracy']:.3f} (majority), "
        f"balanced accuracy {chance['uniform']['balanced_accuracy']:.3f}",
        f"  overfitting: training balanced accuracy {gap['train_balanced_accuracy']:.3f} vs "
        f"held-out {gap['test_balanced_accuracy']:.3f} (gap {gap['gap_balanced_accuracy']:+.3f})",
    ]
    perm = metrics.get("permutation_test")
    if perm:
        lines.append(
            f"  permutation test: p = {perm['p_value']:.4f} "
            f"({perm['n_permutations']} permutations, null mean {perm['null_mean']:.3f})"
        )
    if metrics["excluded"]:
        lines.append("  excluded: " + ", ".join(f"{k} {v}" for k, v in metrics["excluded"].items()))
    return lines


def run(args) -> int:
    from ..evaluate import group_summary_lines
    from ..features import FeatureTable
    from ..metrics import GroupMetrics
    from ..models import Run, fit_run
    from ..splits import Splits
    from ._split import parse_folds

    table = FeatureTable.read(args.features)
    if args.target in table.frame.columns:
        from ..labels import normalise_labels
        from ._extract import print_label_note

        if args.target == "label":  # the table's labels were normalised as it was read
            print_label_note(table.info.get("label_normalised_on_read"), column="label")
        else:
            target = table.frame[args.target]
            print_label_note(normalise_labels(target)[1], target, args.target)
    splits = Splits.read(args.splits) if args.splits else None
    with cluster_context(args):  # --cluster / --threads
        path = fit_run(
            table,
            args.out,
            model=args.model,
            target=args.target,
            group=args.group,
            splits=splits,
            folds=parse_folds(args.folds),
            seed=args.seed,
            tune=args.tune,
            mirror=args.mirror,
            permutations=args.permutations,
            n_boot=args.bootstrap,
            eval_by=split_columns(args.eval_by),
            overwrite=args.overwrite,
            command=["geoface", *sys.argv[1:]],
            table_path=str(args.features),
            progress=None if args.quiet else (lambda msg: print("  " + msg, flush=True)),
        )
    metrics = Run(path).metrics
    for line in summary_lines(metrics):
        print(line)
    for doc in (metrics.get("by_group") or {}).values():
        for line in group_summary_lines(GroupMetrics.from_dict(doc)):
            print("  " + line)
    print(f"  → {path}")
    return 0


def cluster_context(args):
    """``fit --cluster``: folds and permutations as joblib jobs on a Dask cluster;
    ``--threads``: the thread budget of every fit (each worker's share by default)."""
    from contextlib import ExitStack

    from .._threads import thread_budget

    threads = args.threads
    with ExitStack() as stack:
        if args.cluster is not None:
            from joblib import parallel_config

            from ..cluster import open_client, parse_cluster

            spec = parse_cluster(args.cluster)
            threads = threads or spec.task_threads()
            stack.enter_context(open_client(spec))
            stack.enter_context(parallel_config(backend="dask", n_jobs=-1))
        if threads is not None:
            stack.enter_context(thread_budget(threads))
        return stack.pop_all()  # entered without error: the caller's with-block closes it
