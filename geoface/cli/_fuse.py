"""``geoface fuse``: late or early fusion of runs on their shared folds → a run directory."""

from __future__ import annotations

import sys
from pathlib import Path

from ._argtypes import bootstrap_replicates, positive_int, random_seed


def add_parser(sub) -> None:
    from ..fusion import METHODS

    p = sub.add_parser(
        "fuse",
        help="fuse runs made on the same folds (geometric + CNN) → run directory",
        description="Fuse two or more run directories made on the same faces and folds. Late "
        "fusion combines their out-of-fold probabilities; early fusion (concat) joins each "
        "fold's CNN embedding to the geometric features. Whatever is learnt for a fold is "
        "learnt from the other folds only. Writes an ordinary run directory (metrics with "
        "CIs, out-of-fold predictions, overfitting report, figures).",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories")
    p.add_argument("--out", required=True, type=Path, help="run directory to create")
    p.add_argument(
        "--method",
        choices=list(METHODS),
        default="mean",
        help="how to fuse (default mean): " + "; ".join(f"{k} = {v}" for k, v in METHODS.items()),
    )
    p.add_argument(
        "--features",
        type=Path,
        help="concat: feature table (default: the one the geometric run was fitted on)",
    )
    p.add_argument(
        "--embedding-dims",
        type=positive_int,
        default=32,
        help="concat: PCA components of the CNN embedding, fitted on each fold's training "
        "rows (default 32)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    p.add_argument(
        "--bootstrap",
        type=bootstrap_replicates,
        default=2000,
        help="subject-bootstrap replicates for the CIs (default 2000)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true", help="print only the summary")


def fusion_lines(metrics: dict) -> list[str]:
    """The inputs' scores on the fused faces and what was learnt (final weights)."""
    fusion = metrics.get("fusion") or {}
    lines = []
    inputs = fusion.get("inputs", [])
    if inputs:
        lines.append(
            "  inputs on the same faces: "
            + "; ".join(
                f"{d['name']} balanced accuracy {d['balanced_accuracy']:.3f}" for d in inputs
            )
        )
    weights = (fusion.get("weights") or {}).get("final", {}).get("weights")
    if weights and fusion.get("method") in ("weighted", "stack"):
        what = "weights" if fusion["method"] == "weighted" else "coefficient shares"
        lines.append(
            f"  {what} learnt on all faces: "
            + ", ".join(f"{n} {w:.2f}" for n, w in weights.items())
            + " (per fold in run.json)"
        )
    emb = fusion.get("embedding")
    if emb:
        lines.append(
            f"  CNN embedding: {emb['n_components']} PCA components per fold "
            f"(requested {emb['requested_dims']})"
        )
    return lines


def run(args) -> int:
    from ..fusion import fuse_runs
    from ..models import Run
    from ._fit import summary_lines

    path = fuse_runs(
        args.runs,
        args.out,
        method=args.method,
        seed=args.seed,
        features=args.features,
        embedding_dims=args.embedding_dims,
        n_boot=args.bootstrap,
        overwrite=args.overwrite,
        command=["geoface", *sys.argv[1:]],
        progress=None if args.quiet else (lambda msg: print("  " + msg, flush=True)),
    )
    metrics = Run(path).metrics
    for line in summary_lines(metrics) + fusion_lines(metrics):
        print(line)
    print(f"  → {path}")
    return 0
