"""``geoface baseline train|predict``: the ResNet image baseline on the shared folds."""

from __future__ import annotations

import sys
from pathlib import Path

from ._argtypes import (
    bootstrap_replicates,
    fold_count,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    random_seed,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "baseline",
        help="the ResNet18 image baseline: train on the shared folds, predict",
        description="Train a ResNet on the same faces and folds as the geometric models and "
        "write the same run directory, or predict images with a trained baseline.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    t = verbs.add_parser("train", help="cross-validate the CNN on the shared folds")
    t.add_argument(
        "input",
        type=Path,
        help="feature table, landmark CSV or manifest (id, path, subject, label)",
    )
    t.add_argument("--out", required=True, type=Path, help="run directory to create")
    t.add_argument("--arch", choices=("resnet18", "resnet34", "resnet50"), default="resnet18")
    t.add_argument(
        "--pretrained",
        default="auto",
        help="'auto' (default): ImageNet weights when torchvision's cache holds them or they "
        "can be fetched, else from scratch with a note in run.json; 'imagenet' (required), "
        "'none' (from scratch) or a weights file",
    )
    t.add_argument(
        "--recipe",
        choices=("two-stage", "infant", "adult"),
        default="infant",
        help="training recipe (default infant); every knob below overrides it",
    )
    t.add_argument("--splits", type=Path, help="shared splits CSV from 'geoface split'")
    t.add_argument(
        "--folds", type=fold_count, default="5", help="folds without --splits: a number or 'loso'"
    )
    t.add_argument(
        "--task",
        choices=("classification", "age"),
        default="classification",
        help="classification (default): the emotion (or any class column); age: a regression "
        "head learning the age in --target",
    )
    t.add_argument(
        "--target",
        help="the class column (default label) or, with --task age, the numeric age column "
        "(default age_years, else age_months; a name with 'month' in it is read as months)",
    )
    t.add_argument("--group", default="subject")
    t.add_argument(
        "--loss",
        choices=("l1", "smooth_l1", "mse"),
        default="l1",
        help="age loss on standardised ages (default l1: the mean absolute error)",
    )
    t.add_argument(
        "--age-unit",
        choices=("years", "months"),
        help="unit of the age column (default: from its name)",
    )
    t.add_argument(
        "--aux-targets",
        metavar="AU1,AU2,…",
        help="binary Action-Unit columns learnt by auxiliary heads beside the main one "
        "('all': every AU… column); blank values are left out of the loss",
    )
    t.add_argument(
        "--aux-weight",
        type=non_negative_float,
        default=0.5,
        help="weight of the auxiliary loss (default 0.5)",
    )
    t.add_argument("--landmarks", type=Path, help="landmark CSV joined by id (eye alignment)")
    t.add_argument("--image-root", type=Path, help="folder image paths are relative to")
    t.add_argument("--image-size", type=positive_int, default=224)
    t.add_argument("--align", choices=("auto", "eyes", "box", "none"), default="auto")
    t.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    t.add_argument("--workers", type=positive_int, help="image decoding threads")
    t.add_argument("--epochs", type=positive_int)
    t.add_argument(
        "--head-epochs", type=non_negative_int, help="head-only epochs on a frozen backbone"
    )
    t.add_argument("--batch-size", type=positive_int)
    t.add_argument("--lr", type=positive_float)
    t.add_argument("--weight-decay", type=non_negative_float)
    t.add_argument("--dropout", type=fraction)
    t.add_argument("--label-smoothing", type=fraction)
    t.add_argument("--center-loss", type=non_negative_float, help="weight of the centre loss")
    t.add_argument("--patience", type=positive_int, help="early-stopping patience (epochs)")
    t.add_argument("--freeze", nargs="*", help="backbone parts to keep frozen, e.g. conv1 layer1")
    t.add_argument("--seed", type=random_seed, default=0)
    t.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic algorithms: a CPU run is bit-identical",
    )
    t.add_argument(
        "--no-final",
        action="store_true",
        help="skip the final network on all faces (predict then averages the folds')",
    )
    t.add_argument("--bootstrap", type=bootstrap_replicates, default=2000)
    t.add_argument("--overwrite", action="store_true")
    t.add_argument("--quiet", action="store_true")
    t.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for PyTorch, BLAS/OpenMP and OpenCV alike (default: their own); "
        "with --cluster, of each fold (default: each worker's share)",
    )
    t.add_argument(
        "--cluster",
        metavar="SPEC",
        help="train the folds (and the final network) in parallel on a Dask cluster, one per "
        "worker: local:N, a scheduler address (tcp://host:8786; one worker per GPU, each with "
        "its own CUDA_VISIBLE_DEVICES) or a cluster config file (.yaml); the same folds and "
        "results as without it",
    )
    pr = verbs.add_parser("predict", help="predict images with a trained baseline")
    pr.add_argument("run_dir", type=Path)
    pr.add_argument("input", type=Path, help="feature table, landmark CSV or manifest")
    pr.add_argument("--out", required=True, type=Path, help="predictions CSV")
    pr.add_argument("--landmarks", type=Path)
    pr.add_argument("--image-root", type=Path)
    pr.add_argument("--device", default="auto")
    pr.add_argument("--workers", type=positive_int, help="image decoding threads")
    pr.add_argument(
        "--assign-age-groups",
        action="store_true",
        help="age runs: add age_group (infant, younger_child, older_child, teenager, adult)",
    )
    pr.add_argument(
        "--age-bins",
        metavar="0,4,8,13,18",
        help="lower edges of the age groups in years (default 0,4,8,13,18)",
    )
    pr.add_argument(
        "--age-labels",
        metavar="NAME,…",
        help="names of the age groups, one per bin (default the five above)",
    )


def run(args) -> int:
    from ._fit import summary_lines

    if args.verb == "predict":
        return _predict(args)
    if getattr(args, "cluster", None) is not None:
        from ..cluster import parse_cluster

        args.cluster = parse_cluster(args.cluster)  # a wrong --cluster fails before any import
    from baselines import resolve_recipe, train_baseline

    from ..splits import Splits
    from ._split import parse_folds

    recipe = resolve_recipe(
        args.recipe,
        epochs=args.epochs,
        head_epochs=args.head_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        label_smoothing=args.label_smoothing,
        center_loss=args.center_loss,
        patience=args.patience,
        freeze=None if args.freeze is None else tuple(args.freeze),
    )
    from contextlib import nullcontext

    from .._threads import thread_budget

    if args.threads:
        import torch  # noqa: F401  (loaded first, so that the budget reaches it)
    cluster = getattr(args, "cluster", None)
    budget = args.threads if cluster is None else None  # on a cluster: each fold's budget
    with thread_budget(budget) if budget else nullcontext():  # --threads
        path = train_baseline(
            args.input,
            args.out,
            recipe=recipe,
            arch=args.arch,
            pretrained=args.pretrained,
            splits=Splits.read(args.splits) if args.splits else None,
            folds=parse_folds(args.folds),
            task=args.task,
            target=args.target,
            group=args.group,
            loss=args.loss,
            age_unit=args.age_unit,
            aux_targets=args.aux_targets,
            aux_weight=args.aux_weight,
            landmarks=args.landmarks,
            image_root=args.image_root,
            image_size=args.image_size,
            align=args.align,
            device=args.device,
            workers=args.workers,
            seed=args.seed,
            deterministic=args.deterministic,
            final=not args.no_final,
            n_boot=args.bootstrap,
            overwrite=args.overwrite,
            command=["geoface", *sys.argv[1:]],
            progress=None if args.quiet else (lambda msg: print("  " + msg, flush=True)),
            cluster=cluster,
            threads=args.threads if cluster is not None else None,
        )
    from ..runs import METRICS_JSON, read_json

    metrics = read_json(path / METRICS_JSON)
    if metrics.get("task") == "age":
        from baselines._age import age_summary_lines

        lines = age_summary_lines(metrics)
    else:
        lines = summary_lines(metrics)
    if "aux" in metrics:
        from baselines._aux import aux_summary_lines

        lines += aux_summary_lines(metrics["aux"])
    for line in lines:
        print(line)
    print(f"  → {path}")
    return 0


def _predict(args) -> int:
    from baselines import BaselineRun

    from .._atomic import atomic_path
    from ..age_groups import parse_age_bins

    if (args.age_bins or args.age_labels) and not args.assign_age_groups:
        from .._errors import GeofaceError

        raise GeofaceError("--age-bins and --age-labels need --assign-age-groups")
    bins, labels = parse_age_bins(args.age_bins, args.age_labels)
    run_ = BaselineRun(args.run_dir)
    pred = run_.predict(
        args.input,
        landmarks=args.landmarks,
        image_root=args.image_root,
        device=args.device,
        workers=args.workers,
        age_groups=args.assign_age_groups,
        age_bins=bins,
        age_labels=labels,
    )
    with atomic_path(args.out) as tmp:
        pred.to_csv(tmp, index=False, float_format="%.6g")
    summary = ", ".join(f"{k} {v}" for k, v in pred["status"].value_counts().items())
    print(f"{len(pred)} rows predicted with {run_.info['model']} → {args.out} ({summary})")
    if "age_group" in pred:
        counts = pred["age_group"].value_counts()
        shown = ", ".join(f"{g} {int(counts.get(g, 0))}" for g in labels)
        unit = run_.unit or "years"
        edges = ", ".join(f"{e:g}" for e in bins)
        print(f"  age groups (lower edges {edges} years; ages predicted in {unit}): {shown}")
    return 0
