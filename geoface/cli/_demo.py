"""``geoface demo``: the whole pipeline on simulated faces, offline, in seconds."""

from __future__ import annotations

import time
from pathlib import Path

from ._argtypes import int_at_least, positive_int, random_seed


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the pipeline on the embedded simulated data and write figures",
        description="Simulate infant faces, extract mesh features, draw the figures and "
        "cross-validate XGBoost, an SVM and a small ResNet18 on the same subject-grouped folds, "
        "explain the XGBoost model by facial region, fuse geometry with the CNN, compare every "
        "model on the same faces and write an HTML report: everything runs offline.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("geoface-demo"),
        help="output folder (default ./geoface-demo)",
    )
    p.add_argument(
        "--subjects",
        type=int_at_least(5, " (the demo makes 5 folds)"),
        default=30,
        help="simulated subjects (default 30)",
    )
    p.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    p.add_argument(
        "--baseline-epochs",
        type=positive_int,
        default=3,
        help="epochs of the quick CNN baseline (default 3)",
    )
    p.add_argument(
        "--baseline-size",
        type=positive_int,
        default=48,
        help="image size of the quick CNN baseline (default 48 px)",
    )


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import cv2
    import matplotlib.pyplot as plt

    from ..features import extract_table
    from ..landmarks import read_landmark_csv
    from ..plotting import plot_faces, plot_mesh, plot_region_profile, region_profile, save_figure
    from ..simulate import simulate_landmarks, write_simulated_dataset

    t0 = time.perf_counter()
    out: Path = args.out
    figs = out / "figures"

    print(f"[1/8] simulating {args.subjects} infant subjects × 7 expressions × 4 takes")
    data = simulate_landmarks(n_subjects=args.subjects, population="infant", random_state=args.seed)
    csv = write_simulated_dataset(out / "data", data, progress=True)

    print("[2/8] extracting mesh features")
    landmarks, meta = read_landmark_csv(csv)
    table = extract_table(landmarks, meta, source=str(csv))
    table_path = table.write(out / "features.csv")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(table.qc_counts().items()))
    print(
        f"      {len(table.frame)} faces, {len(table.feature_names)} features "
        f"(mesh {table.mesh.hash}: {table.mesh.n_triangles} triangles, "
        f"{table.mesh.n_edges} edges) → {table_path}; qc: {counts}"
    )

    print("[3/8] drawing figures")
    written = []
    fig = plot_mesh(table.mesh)
    written += save_figure(fig, figs / "mesh")
    plt.close(fig)
    first = table.frame.groupby("label", sort=True).head(1)
    idx = first.index.to_numpy()
    images = [cv2.imread(str(out / "data" / p), cv2.IMREAD_GRAYSCALE) for p in first["path"]]
    fig = plot_faces(landmarks[idx], images=images, titles=first["label"].tolist(), mesh=table.mesh)
    written += save_figure(fig, figs / "examples")
    plt.close(fig)
    fig = plot_region_profile(table)
    written += save_figure(fig, figs / "region_profile")
    plt.close(fig)

    prof = region_profile(table)
    print(
        "\n|Mean change in edge strain| from each subject's neutral face "
        "(mean per edge of each region):"
    )
    print(prof.round(3).to_string())
    print("\nGround truth check: the region each class deforms most is one its AUs move")
    hits = 0
    classes = [c for c in prof.columns if c != "neutral"]
    for c in classes:
        top = prof[c].idxmax()
        ok = top in data.moved_regions[c]
        hits += ok
        print(
            f"  {c:<9} top region {top:<9} {'yes' if ok else 'NO'} "
            f"(moves: {', '.join(sorted(data.moved_regions[c]))})"
        )
    print(f"  {hits}/{len(classes)} classes")
    print(
        f"\n[4/8] subject-grouped cross-validation (5 folds, seed {args.seed}): XGBoost and RBF-SVM"
    )
    from ..models import Run, fit_run
    from ..splits import make_splits
    from ._fit import summary_lines

    splits = make_splits(table.frame, folds=5, seed=args.seed)
    splits.write(out / "splits.csv")
    for model in ("xgb", "svm"):
        run_dir = fit_run(
            table,
            out / "runs" / model,
            model=model,
            splits=splits,
            seed=args.seed,
            overwrite=True,
            command=["geoface", "demo"],
            table_path=str(table_path),
        )
        for line in summary_lines(Run(run_dir).metrics):
            print("      " + line)
        written += sorted((run_dir / "figures").glob("*.png"))
    print("\n[5/8] SHAP explanations of the XGBoost run by facial region (out of fold)")
    written += _explain_step(out, data.moved_regions, args.seed)
    print(
        f"\n[6/8] ResNet18 image baseline on the rendered faces, same folds "
        f"({args.baseline_size} px, {args.baseline_epochs} epochs, from scratch)"
    )
    from baselines import resolve_recipe, train_baseline

    recipe = resolve_recipe("infant", epochs=args.baseline_epochs, batch_size=32)
    cnn_dir = train_baseline(
        csv,
        out / "runs" / "resnet18",
        recipe=recipe,
        splits=splits,
        image_size=args.baseline_size,
        seed=args.seed,
        final=False,
        overwrite=True,
        command=["geoface", "demo"],
    )
    for line in summary_lines(Run(cnn_dir).metrics):
        print("      " + line)
    written += sorted((cnn_dir / "figures").glob("*.png"))
    written += _fuse_compare_report_step(out, args.seed)
    print(f"\nfigures: {', '.join(str(p) for p in written if p.suffix == '.png')}")
    print(f"demo finished in {time.perf_counter() - t0:.1f} s → {out}")
    return 0


def _fuse_compare_report_step(out: Path, seed: int) -> list[Path]:
    """Fuse geometry with the CNN, compare every run on the same faces, write the report."""
    from ..compare import compare_runs
    from ..fusion import fuse_runs
    from ..models import Run
    from ..report import write_report
    from ._compare import comparison_lines
    from ._fit import summary_lines

    runs = out / "runs"
    print(
        "\n[7/8] fusing geometry and pixels on the same folds: late (stacked out-of-fold "
        "probabilities) and early (CNN embeddings joined to the mesh features, XGBoost)"
    )
    for method in ("stack", "concat"):
        fused = fuse_runs(
            [runs / "xgb", runs / "resnet18"],
            runs / f"fused-{method}",
            method=method,
            seed=seed,
            overwrite=True,
            command=["geoface", "demo"],
        )
        for line in summary_lines(Run(fused).metrics):
            print("      " + line)
    names = ("xgb", "svm", "resnet18", "fused-stack", "fused-concat")
    print("\n[8/8] comparing the five runs on the same faces, and the report")
    comparison = compare_runs([runs / n for n in names], seed=seed)
    folder = comparison.write(out / "compare", overwrite=True)
    print("\n".join(comparison_lines(comparison)))
    report = write_report(
        [runs / n for n in names], out / "report.html", explain_dirs=[out / "explain" / "xgb"]
    )
    print(f"  → {folder}; report: {report}")
    return sorted((folder / "figures").glob("*.png"))


def _explain_step(out: Path, moved: dict, seed: int) -> list[Path]:
    """Explain the demo's XGBoost run, write its region maps and check them against the truth."""
    import pandas as pd

    from ..explain import explain_run, ground_truth_check, write_explanation
    from ..models import Run

    run_dir = out / "runs" / "xgb"
    expl = explain_run(run_dir, seed=seed)
    folder = write_explanation(
        expl,
        out / "explain" / "xgb",
        figures=("regions", "maps", "contrast"),
        metrics=Run(run_dir).metrics,
        overwrite=True,
        seed=seed,
    )
    regions = pd.read_csv(folder / "regions.csv")
    regions = regions[regions["over"] == "all"]
    info = expl.info
    print(
        f"      {info['n_faces']} faces explained by the fold models that did not train on "
        f"them ({info['explainer']} explainer, {info['space']} space) in "
        f"{info['timings_seconds']['total']:.1f} s; additivity error "
        f"{info['additivity_max_error']:.1g} → {folder}"
    )
    print(
        "\nGround truth check: each class's most important region (mean |SHAP|, total per "
        "region) is one its AUs move"
    )
    check = ground_truth_check(regions, moved)
    for _, row in check.iterrows():
        print(
            f"  {row['class']:<9} top region {row['top_region']:<9} "
            f"{'yes' if row['top_is_moved'] else 'NO'} (moves: {row['moved_regions']})"
        )
    print(f"  {int(check['top_is_moved'].sum())}/{len(check)} classes")
    return sorted((folder / "figures").glob("*.png"))
