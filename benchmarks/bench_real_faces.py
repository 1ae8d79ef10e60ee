"""Ablation of the geometric models' levers on real faces (CK+ development half).

Usage::

    python benchmarks/bench_real_faces.py [--data ../shared/data/ckplus-dev]
        [--cache DIR] [--folds 10] [--seed 0] [--bootstrap 1000]
        [--only NAME ...] [--jobs N] [--resnet] [--resnet-size 64] [--resnet-epochs 8]

Landmarks are detected once with dlib (``geoface extract --landmarker dlib``;
the ``single-fit`` rows also with ``--no-mirror-average``) and kept in
``--cache`` (``landmarks.csv``, outside the project); later runs reuse them,
so everything after the first run costs only model fits. The
folds are what ``geoface split --folds 10`` makes (grouped by subject,
stratified by label, seed 0) and every configuration uses them.

Each row is one configuration: the default commands before and after, each
lever alone, and the chosen combination, with balanced accuracy and its 95 %
subject-bootstrap interval, accuracy, macro-F1 and the time of the 10 fold
fits. ``first-frame`` rows classify the 6 emotions of the peak frames, each
described relative to the first frame of its own sequence (chosen by frame
number, not by label; the first frames are not classified).

With ``--resnet`` the ResNet18 image baseline (from scratch, small images, few
epochs: a bounded CPU run) and its late fusion with the chosen geometric model
are added on the same faces and folds.

The data (research use only) are never copied; without them the script says
so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Config:
    name: str
    model: str
    features: str = "absolute"  # absolute | subject-mean | first-frame
    params: dict | str = field(default_factory=dict)
    mirror: bool | None = None  # None: the model's default (ModelSpec.mirror)
    block: str = "mesh"  # mesh | coords | mesh+coords | strains: which feature columns
    select: int = 0  # keep the k features of largest univariate F, chosen in each training fold
    landmarks: str = "default"  # default | single-fit (extract --no-mirror-average)


SM = "subject-mean"
#: The defaults before this table chose the current ones (each lever is one step from them).
PREV_SVM = {"C": 1.0}
PREV_RF = {"n_estimators": 500, "min_samples_leaf": 1, "class_weight": "balanced_subsample"}

CONFIGS = [
    # the default commands as they ship (the chosen combination)
    Config("xgb: default command", "xgb", SM),
    Config("svm: default command", "svm", SM),
    Config("logreg: default command", "logreg", SM),
    Config("ensemble: default command", "ensemble", SM),
    Config("rf: default command", "rf", SM),
    Config("svm-linear: default command", "svm-linear", SM),
    # landmarks fitted once (--no-mirror-average), the default before mirror averaging
    Config("xgb: single-fit landmarks", "xgb", SM, landmarks="single-fit"),
    Config("svm: single-fit landmarks", "svm", SM, landmarks="single-fit"),
    Config("logreg: single-fit landmarks", "logreg", SM, landmarks="single-fit"),
    Config("ensemble: single-fit landmarks", "ensemble", SM, landmarks="single-fit"),
    Config("rf: single-fit landmarks", "rf", SM, landmarks="single-fit"),
    Config("svm-linear: single-fit landmarks", "svm-linear", SM, landmarks="single-fit"),
    Config(
        "svm: 6 emotions, first-frame, single-fit landmarks",
        "svm",
        "first-frame",
        landmarks="single-fit",
    ),
    # each lever alone, from the previous defaults
    Config("xgb: previous default (no mirror)", "xgb", SM, mirror=False),
    Config("svm: previous default (C=1, no mirror)", "svm", SM, PREV_SVM, mirror=False),
    Config("svm: C=0.5 alone", "svm", SM, mirror=False),
    Config("svm: mirror alone (C=1)", "svm", SM, PREV_SVM, mirror=True),
    Config("logreg: no mirror", "logreg", SM, mirror=False),
    Config(
        "ensemble: previous default (svm C=1, no mirror)", "ensemble", SM, {"svm_C": 1.0}, False
    ),
    Config("svm-linear: no mirror", "svm-linear", SM, mirror=False),
    Config("rf: previous default", "rf", SM, PREV_RF, mirror=False),
    Config("rf: mirror alone", "rf", SM, PREV_RF, mirror=True),
    Config("rf: min_samples_leaf=5 alone", "rf", SM, {**PREV_RF, "min_samples_leaf": 5}, False),
    Config(
        "rf: class_weight=balanced alone", "rf", SM, {**PREV_RF, "class_weight": "balanced"}, False
    ),
    Config("rf: leaf 5 + balanced, no mirror", "rf", SM, {"n_estimators": 500}, mirror=False),
    # the person-specific reference, and the 6 emotions relative to the first frame
    Config("svm: absolute features", "svm"),
    Config("xgb: absolute features", "xgb"),
    Config("svm: 6 emotions, first-frame reference", "svm", "first-frame"),
    Config("logreg: 6 emotions, first-frame reference", "logreg", "first-frame"),
    Config("ensemble: 6 emotions, first-frame reference", "ensemble", "first-frame"),
    Config("xgb: 6 emotions, first-frame reference", "xgb", "first-frame"),
    # aligned landmark coordinates (extract --coords aligned), alone and beside the mesh
    Config("xgb: aligned coords alone", "xgb", SM, block="coords"),
    Config("svm: aligned coords alone", "svm", SM, block="coords"),
    Config("logreg: aligned coords alone", "logreg", SM, block="coords"),
    Config("ensemble: aligned coords alone", "ensemble", SM, block="coords"),
    Config("xgb: mesh + aligned coords", "xgb", SM, block="mesh+coords"),
    Config("svm: mesh + aligned coords", "svm", SM, block="mesh+coords"),
    Config("logreg: mesh + aligned coords", "logreg", SM, block="mesh+coords"),
    Config("ensemble: mesh + aligned coords", "ensemble", SM, block="mesh+coords"),
    Config("svm: 6 emotions, first-frame, coords alone", "svm", "first-frame", block="coords"),
    Config(
        "logreg: 6 emotions, first-frame, coords alone", "logreg", "first-frame", block="coords"
    ),
    Config(
        "ensemble: 6 emotions, first-frame, coords alone",
        "ensemble",
        "first-frame",
        block="coords",
    ),
    Config(
        "svm: 6 emotions, first-frame, mesh + coords", "svm", "first-frame", block="mesh+coords"
    ),
    Config(
        "logreg: 6 emotions, first-frame, mesh + coords",
        "logreg",
        "first-frame",
        block="mesh+coords",
    ),
    Config(
        "ensemble: 6 emotions, first-frame, mesh + coords",
        "ensemble",
        "first-frame",
        block="mesh+coords",
    ),
    Config(
        "xgb: 6 emotions, first-frame, mesh + coords", "xgb", "first-frame", block="mesh+coords"
    ),
    # fewer, more informative features for the trees (selection inside each training fold)
    Config("xgb: strains only", "xgb", SM, block="strains"),
    Config("xgb: top 50 by F in each fold", "xgb", SM, select=50),
    Config("xgb: top 100 by F in each fold", "xgb", SM, select=100),
    Config("xgb: top 150 by F in each fold", "xgb", SM, select=150),
    Config("xgb: top 200 by F in each fold", "xgb", SM, select=200),
    Config("xgb: mesh + coords, top 200 by F", "xgb", SM, block="mesh+coords", select=200),
    # where the defaults started
    Config("before: logreg (absolute)", "logreg", mirror=False),
    Config("before: xgb (old defaults, absolute)", "xgb", params="old-xgb", mirror=False),
    Config("before: svm C=10, absolute (balanced Platt)", "svm", params="old-svm", mirror=False),
]

#: The registry defaults before this benchmark chose new ones.
OLD_PARAMS = {
    "old-xgb": {
        "n_estimators": 200,
        "max_depth": 4,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "min_child_weight": 1,
    },
    "old-svm": {"C": 10.0},
}


def landmarks_table(data: Path, cache: Path, *, single_fit: bool = False) -> pd.DataFrame:
    """The dlib landmarks of every image, as ``geoface extract`` gives them today.

    Detection is cached in ``cache/landmark-cache``, keyed by each image's content and
    the landmarker's options, so a rerun reuses it while a changed default detects again.
    ``single_fit``: each face fitted once (``--no-mirror-average``).
    """
    import subprocess

    csv = cache / ("landmarks-single-fit.csv" if single_fit else "landmarks.csv")
    cache.mkdir(parents=True, exist_ok=True)
    print(f"landmarks with dlib (cached in {cache / 'landmark-cache'}) → {csv}", flush=True)
    cmd = [
        sys.executable,
        "-m",
        "geoface",
        "extract",
        str(data / "manifest.csv"),
        "--out",
        str(cache / "features.csv"),
        "--landmarker",
        "dlib",
        "--landmarks-out",
        str(csv),
        "--cache",
        str(cache / "landmark-cache"),
        "--quiet",
        *(["--no-mirror-average"] if single_fit else []),
    ]
    subprocess.run(cmd, check=True)
    return pd.read_csv(csv, dtype={"id": str})


def build_features(lm: pd.DataFrame):
    """Absolute, subject-mean and first-frame feature tables from the landmark table.

    Every table carries the aligned coordinates (``coords="aligned"``) after the mesh
    features; a configuration's ``block`` picks its columns (the mesh columns do not
    depend on whether the coordinates are there).
    """
    from geoface.features import extract_table
    from geoface.landmarks import IMAGE_QC_COLUMNS, landmarks_from_frame

    L = landmarks_from_frame(lm, source="landmarks.csv")
    meta = lm[[c for c in ("id", "path", "subject", "sequence", "label") if c in lm]].copy()
    # the frame number of the file name orders a sequence (label-free)
    meta["frame"] = meta["path"].str.extract(r"_(\d+)\.[a-z]+$")[0].astype(float)
    qc = lm[[c for c in lm.columns if c in IMAGE_QC_COLUMNS]]
    kw = {"qc": qc} if "qc_status" in qc else {}
    tables = {
        "absolute": extract_table(L, meta, relative="none", coords="aligned", **kw),
        "subject-mean": extract_table(
            L, meta, relative="mean", relative_by="subject", coords="aligned", **kw
        ),
        "first-frame": extract_table(
            L,
            meta,
            relative="first",
            relative_by="sequence",
            relative_order="frame",
            coords="aligned",
            **kw,
        ),
    }
    return tables


def evaluate(cfg: Config, tables, fold_of, seed: int, n_boot: int) -> dict:
    import dataclasses

    from geoface.features import feature_mirror
    from geoface.models import cross_validate, get_model_spec, prepare_data

    table = tables[cfg.landmarks][cfg.features]
    data = prepare_data(table, target="label", group="subject")
    fold = fold_of(data.ids)
    cols = block_columns(table.feature_names, cfg.block)
    X, y, groups, classes, ids = data.X[:, cols], data.y, data.groups, list(data.classes), data.ids
    if cfg.features == "first-frame":
        is_first = table.frame.set_index("id").loc[data.ids, "qc_relative_fallback"].to_numpy()
        keep = ~is_first.astype(bool)
        labels = np.asarray(classes)[y[keep]]
        classes = sorted(np.unique(labels).tolist())
        X, groups, fold, ids = X[keep], groups[keep], fold[keep], data.ids[keep]
        y = np.searchsorted(classes, labels)
    spec = get_model_spec(cfg.model)
    params = OLD_PARAMS.get(cfg.params, {}) if isinstance(cfg.params, str) else cfg.params
    if params:
        build = spec.build
        spec = dataclasses.replace(spec, build=lambda s, p, b=build: b(s, {**params, **p}))
    if cfg.select:
        spec = with_selection(spec, cfg.select)
    use_mirror = spec.mirror if cfg.mirror is None else cfg.mirror
    mirror = None
    if use_mirror:
        full = feature_mirror(table.mesh, "aligned")
        mirror = pd.Index(cols).get_indexer(full[cols])  # the permutation within the block
        assert (mirror >= 0).all(), "a block must be closed under the mirror"
    t0 = time.perf_counter()
    res = cross_validate(
        spec, X, y, groups, fold, len(classes), seed=seed, keep_models=False, mirror=mirror
    )
    seconds = time.perf_counter() - t0
    row = score_row(cfg.name, y, res.proba, groups, classes, n_boot, seconds, pred=res.pred)
    return {**row, "proba": res.proba, "y": y, "ids": ids, "classes": classes}


def block_columns(names: list[str], block: str) -> np.ndarray:
    """Indices of the columns of ``block`` among the table's feature names."""
    names = pd.Series(names)
    is_coord = names.str.startswith("pt_")
    keep = {
        "mesh": ~is_coord,
        "coords": is_coord,
        "mesh+coords": pd.Series(True, index=names.index),
        "strains": names.str.endswith("_strain"),
    }[block]
    return np.flatnonzero(keep.to_numpy())


def with_selection(spec, k: int):
    """The model behind a univariate F filter (``SelectKBest``) fitted on each training fold."""
    import dataclasses

    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import Pipeline

    def build(seed, params, b=spec.build):
        return Pipeline([("select", SelectKBest(f_classif, k=k)), ("clf", b(seed, params))])

    weight = spec.sample_weight
    if weight:
        weight = "clf__" + (weight if isinstance(weight, str) else "sample_weight")
    return dataclasses.replace(spec, build=build, sample_weight=weight)


def score_row(name, y, proba, groups, classes, n_boot, seconds, *, pred=None) -> dict:
    """One row of the table: balanced accuracy with its subject-bootstrap CI, accuracy, F1."""
    from geoface.metrics import classification_metrics, subject_bootstrap

    pred = proba.argmax(axis=1) if pred is None else pred
    m = classification_metrics(y, pred, proba, classes)
    ci = subject_bootstrap(y, pred, None, groups, len(classes), n_boot=n_boot)
    return {
        "configuration": name,
        "n": len(y),
        "balanced_accuracy": m["balanced_accuracy"],
        "ci_low": ci["balanced_accuracy"]["low"],
        "ci_high": ci["balanced_accuracy"]["high"],
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "fit_s": seconds,
    }


def print_row(r: dict) -> None:
    print(
        f"| {r['configuration']:<50} | {r['n']:>3} | {r['balanced_accuracy']:.3f} "
        f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] | {r['accuracy']:.3f} | {r['macro_f1']:.3f} "
        f"| {r['fit_s']:7.1f} |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ckplus-dev"))
    parser.add_argument(
        "--cache",
        type=Path,
        help="folder for the detected landmarks (reused); default a temporary folder",
    )
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--only", nargs="*", help="run only configurations whose name contains one of these"
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="threads per model fit (default 0: every core)"
    )
    parser.add_argument("--resnet", action="store_true", help="add the ResNet18 baseline")
    parser.add_argument("--resnet-size", type=int, default=64)
    parser.add_argument("--resnet-epochs", type=int, default=8)
    args = parser.parse_args()

    if not (args.data / "manifest.csv").exists():
        print(f"skipped: {args.data}/manifest.csv is not here (the CK+ development half)")
        return 0
    from geoface.splits import make_splits

    if args.jobs > 0:  # a shared machine: cap the threads of XGBoost and the forest
        import geoface.models._registry as registry

        registry._n_jobs = lambda: args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        selected = [
            cfg for cfg in CONFIGS if not args.only or any(s in cfg.name for s in args.only)
        ]
        tables = {"default": build_features(landmarks_table(args.data, cache))}
        if any(cfg.landmarks == "single-fit" for cfg in selected):
            tables["single-fit"] = build_features(
                landmarks_table(args.data, cache, single_fit=True)
            )
        splits = make_splits(
            tables["default"]["absolute"].frame,
            group="subject",
            target="label",
            folds=args.folds,
            seed=args.seed,
        )
        faces = tables["default"]["absolute"].frame
        n_subj = faces["subject"].nunique()
        print(
            f"CK+ development half: {len(faces)} faces of {n_subj} subjects, dlib landmarks "
            "(mirror-averaged), "
            f"{args.folds} subject-grouped folds (seed {args.seed}); balanced accuracy with "
            f"its 95% subject-bootstrap CI ({args.bootstrap} replicates)\n"
        )
        print(
            f"| {'configuration':<50} | {'n':>3} | balanced acc. [95% CI] | acc.  | "
            f"m-F1  | fit (s) |"
        )
        print(f"|{'-' * 52}|{'-' * 5}|{'-' * 24}|{'-' * 7}|{'-' * 7}|{'-' * 9}|")
        rows = {}
        for cfg in selected:
            rows[cfg.name] = evaluate(cfg, tables, splits.fold_of, args.seed, args.bootstrap)
            print_row(rows[cfg.name])
        if args.resnet:
            run_resnet(args, tables["default"]["absolute"], splits, rows, Path(tmp))
    return 0


def run_resnet(args, table, splits, rows, tmp: Path) -> None:
    """The ResNet18 baseline (from scratch, bounded) and its late fusion, same faces and folds."""

    try:
        from baselines import train_baseline  # noqa: F401
    except ImportError as exc:
        print(f"ResNet18 skipped: {exc}")
        return
    import subprocess

    frame = table.frame.copy()
    frame["path"] = [str((args.data / p).resolve()) for p in frame["path"]]
    manifest = tmp / "manifest.csv"
    frame[["id", "path", "subject", "label"]].to_csv(manifest, index=False)
    split_csv = tmp / "splits.csv"
    splits.write(split_csv)
    out = tmp / "resnet"
    cmd = [
        sys.executable,
        "-m",
        "geoface",
        "baseline",
        "train",
        str(manifest),
        "--splits",
        str(split_csv),
        "--out",
        str(out),
        "--pretrained",
        "none",
        "--image-size",
        str(args.resnet_size),
        "--epochs",
        str(args.resnet_epochs),
        "--no-final",
        "--device",
        "cpu",
        "--quiet",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        print(f"ResNet18 failed: {done.stderr.strip().splitlines()[-1:]}")
        return
    oof = pd.read_csv(out / "oof_predictions.csv", dtype={"id": str})
    oof = oof[oof["status"] == "ok"]  # rows left out keep y_true but have no prediction
    classes = sorted(oof["y_true"].astype(str).unique())
    y = np.searchsorted(classes, oof["y_true"].astype(str))
    proba = oof[[f"proba_{c}" for c in classes]].to_numpy()
    subj = table.frame.set_index("id").loc[oof["id"], "subject"].to_numpy()
    entries = [("resnet18 (from scratch, bounded)", proba, seconds)]
    geo = rows.get("svm: default command")
    if geo is not None:
        # late fusion: the mean of the two models' out-of-fold probabilities, per face
        pos = pd.Index(geo["ids"]).get_indexer(oof["id"])
        if (pos >= 0).all() and list(geo["classes"]) == classes:
            fused = 0.5 * (proba + geo["proba"][pos])
            entries.append(("fused: svm (default) + resnet18, mean proba", fused, seconds))
    for name, p, secs in entries:
        print_row(score_row(name, y, p, subj, classes, args.bootstrap, secs))


if __name__ == "__main__":
    raise SystemExit(main())
