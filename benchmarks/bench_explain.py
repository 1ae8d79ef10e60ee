"""Time of SHAP explanations: tree SHAP on 10,000 faces and the SVM's partition explainer.

Usage::

    python benchmarks/bench_explain.py [--faces 10000] [--svm-faces 1000] [--skip-svm]

Simulates faces, extracts the full feature set (602 features on the default
mesh) and

* fits the default XGBoost model (7 classes) on 2,000 of them and times
  ``explain_run(..., final=True)`` on all ``--faces`` faces — reading the
  rows, XGBoost's TreeSHAP (the tree explainer) and the sums into triangles,
  edges and regions — then ``shap.TreeExplainer`` on the same faces for
  comparison and the region table with its subject bootstrap. Target on a
  2-core machine: tree SHAP under 60 s.
* cross-validates the default RBF-SVM on ``--svm-faces`` faces and times the
  out-of-fold partition explainer on all of them with the defaults
  (20 background centres, 300 evaluations per face, every core).

Other jobs on the machine slow both down: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TARGET_TREE = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=10_000)
    parser.add_argument("--svm-faces", type=int, default=1_000)
    parser.add_argument("--skip-svm", action="store_true")
    args = parser.parse_args()

    from geoface.explain import explain_run, region_table
    from geoface.explain._engines import import_shap
    from geoface.features import FeatureTable, extract_table
    from geoface.models import Run, fit_run
    from geoface.simulate import simulate_landmarks

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = max(args.faces, args.svm_faces)
    sim = simulate_landmarks(n_subjects=-(-n // 28), takes=4, random_state=0)
    table = extract_table(sim.landmarks[:n], sim.meta.iloc[:n])

    def subset(k: int) -> FeatureTable:
        return FeatureTable(table.frame.iloc[:k].reset_index(drop=True), table.mesh, table.info)

    print(
        f"geoface explain benchmark: {len(table.feature_names)} features, {cpus} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        big = subset(args.faces)
        t0 = time.perf_counter()
        run_dir = fit_run(subset(2000), Path(tmp) / "xgb", model="xgb", folds=2, n_boot=200)
        print(f"  xgb fitted on 2,000 faces in {time.perf_counter() - t0:.1f} s (not timed below)")
        t0 = time.perf_counter()
        expl = explain_run(run_dir, big, final=True)
        regions = expl.region_values()
        t_tree = time.perf_counter() - t0
        shape = "×".join(str(s) for s in expl.values.shape)
        verdict = "meets" if t_tree < TARGET_TREE else "MISSES"
        print(
            f"  tree SHAP (XGBoost TreeSHAP) + sums into {regions.shape[1]} regions: "
            f"{expl.n_faces:,} faces, values {shape}, {t_tree:.1f} s "
            f"({expl.n_faces / t_tree:,.0f} faces/s)  target < {TARGET_TREE:.0f} s: {verdict}"
        )
        shap = import_shap()
        model, _ = Run(run_dir).final_model()
        t0 = time.perf_counter()
        shap.TreeExplainer(model).shap_values(expl.features)
        print(f"  shap.TreeExplainer on the same faces: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        region_table(expl, n_boot=1000)
        print(
            f"  region table, 1,000 subject-bootstrap replicates: {time.perf_counter() - t0:.1f} s"
        )

        if not args.skip_svm:
            t0 = time.perf_counter()
            svm_dir = fit_run(subset(args.svm_faces), Path(tmp) / "svm", model="svm", n_boot=200)
            print(
                f"  svm cross-validated on {args.svm_faces:,} faces in "
                f"{time.perf_counter() - t0:.1f} s (not timed below)"
            )
            t0 = time.perf_counter()
            svm = explain_run(svm_dir, subset(args.svm_faces), max_rows=0)
            t_svm = time.perf_counter() - t0
            cost = svm.info["cost"]
            print(
                f"  partition explainer (svm, out of fold): {svm.n_faces:,} faces in {t_svm:.1f} s "
                f"({t_svm / svm.n_faces:.2f} s/face; {cost['model_evaluations']:,} model "
                f"evaluations, ≤ {cost['per_face_at_most']:,} per face)"
            )
    print(f"  load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
