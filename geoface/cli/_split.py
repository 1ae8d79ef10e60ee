"""``geoface split``: subject-grouped, label-stratified folds, written once."""

from __future__ import annotations

from pathlib import Path

from ._argtypes import fold_count, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "split",
        help="make subject-grouped, label-stratified folds (splits.csv)",
        description="Assign every usable face of a feature table to a fold so that no subject "
        "is in two folds. Every model then trains and reports on these folds.",
    )
    p.add_argument("features", type=Path, help="feature table from 'geoface extract'")
    p.add_argument("--out", required=True, type=Path, help="splits CSV (id, fold, <group>)")
    p.add_argument(
        "--group",
        default="subject",
        help="grouping column (default subject; a frame table without one: video)",
    )
    p.add_argument("--target", default="label", help="column to stratify on (default label)")
    p.add_argument(
        "--folds", type=fold_count, default="5", help="number of folds, or 'loso' (default 5)"
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")


def parse_folds(value: str) -> int | str:
    return "loso" if str(value).lower() == "loso" else value


def run(args) -> int:
    from ..features import FeatureTable
    from ..splits import make_splits
    from ._extract import print_label_note

    table = FeatureTable.read(args.features)
    raw_labels = table.info.get("label_normalised_on_read")
    splits = make_splits(
        table.frame,
        group=args.group,
        target=args.target,
        folds=parse_folds(args.folds),
        seed=args.seed,
    )
    splits.write(args.out)
    info = splits.info
    sizes = ", ".join(str(v) for v in info["rows_per_fold"].values())
    excluded = ", ".join(f"{k} {v}" for k, v in info["excluded"].items()) or "none"
    print(
        f"{info['n_rows']} faces of {info['n_groups']} {splits.group}s in {info['n_folds']} "
        f"folds ({info['method']}, seed {args.seed}; rows per fold {sizes}) → {args.out}"
    )
    print(f"  excluded: {excluded}")
    if args.target == "label":  # the table's labels were normalised as it was read
        print_label_note(raw_labels, column="label")
    else:
        print_label_note(info.get("label_normalised"), table.frame[args.target], args.target)
    return 0
