"""Training throughput and k-fold time of the ResNet18 image baseline.

Usage::

    python benchmarks/bench_baseline.py [--images 1000] [--size 224] [--device auto]
                                        [--epochs 8] [--batch-size 256] [--folds 5]

Renders ``--images`` simulated faces at ``--size`` pixels, then

1. trains ResNet18 (``infant`` recipe, no early stop) on all of them with the
   cached-faces path and prints training images/s per epoch (the first epoch,
   which includes warm-up, is reported separately);
2. runs the full ``--folds``-fold baseline (the ``infant`` recipe, batch 64, up to
   30 epochs per fold with early stopping on an inner grouped split, then the
   held-out fold predicted) and prints its time and balanced accuracy.

Targets: ≥ 3,000 training images/s at 224 px on an H200; on CPU it only
reports.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--kfold-epochs",
        type=int,
        default=30,
        help="maximum epochs per fold in the k-fold run (early stopping)",
    )
    parser.add_argument("--kfold-batch-size", type=int, default=64)
    parser.add_argument("--skip-kfold", action="store_true")
    args = parser.parse_args()

    import numpy as np
    import torch

    from baselines import load_faces, resolve_recipe, train_baseline
    from baselines._faces import read_face_table
    from baselines._train import FaceStore, Runtime, resolve_device, train_network
    from geoface.simulate import write_simulated_dataset

    dev = resolve_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(
        f"geoface baseline benchmark on {name} (torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        csv = write_simulated_dataset(
            Path(tmp) / "sim",
            n_subjects=-(-args.images // 28),
            takes=4,
            image_size=args.size,
            random_state=0,
        )
        t_sim = time.perf_counter() - t0
        frame, base = read_face_table(csv)
        frame = frame.iloc[: args.images].reset_index(drop=True)
        t0 = time.perf_counter()
        faces = load_faces(frame, base=base, size=args.size)
        t_dec = time.perf_counter() - t0
        print(
            f"  faces        {len(faces.images)} at {args.size}px: rendered in {t_sim:.1f} s, "
            f"decoded + aligned + cached in {t_dec:.2f} s "
            f"({len(faces.images) / t_dec:,.0f} images/s)"
        )

        recipe = resolve_recipe(
            "infant", epochs=args.epochs, batch_size=args.batch_size, patience=10**6
        )
        rt = Runtime(device=dev)
        store = FaceStore(faces.images, dev)
        y = np.searchsorted(sorted(frame["label"].unique()), frame["label"].to_numpy())
        idx = np.arange(len(store))
        _, history = train_network(store, y, idx, np.array([], dtype=int), 7, recipe, rt)
        rates = [h["images_per_second"] for h in history]
        steady = statistics.median(rates[1:]) if len(rates) > 1 else rates[0]
        print(
            f"  training     ResNet18 {args.size}px, batch {args.batch_size}"
            f"{', bf16 autocast' if rt.amp_dtype else ''}, faces on "
            f"{'GPU' if store.on_device else 'host'}: first epoch {rates[0]:,.0f} images/s, "
            f"then median {steady:,.0f} images/s "
            f"(epoch {statistics.median(h['seconds'] for h in history[1:] or history):.2f} s)"
        )
        if dev.type == "cuda":
            verdict = "meets" if steady >= 3000 else "MISSES"
            print(f"  target       3,000 training images/s at 224 px: {verdict}")
        if args.skip_kfold:
            return
        t0 = time.perf_counter()
        kfold = resolve_recipe("infant", epochs=args.kfold_epochs, batch_size=args.kfold_batch_size)
        run = train_baseline(
            csv,
            Path(tmp) / "run",
            recipe=kfold,
            image_size=args.size,
            folds=args.folds,
            device=args.device,
            final=False,
            n_boot=500,
        )
        t_run = time.perf_counter() - t0
        import json

        m = json.loads((run / "metrics.json").read_text())
        n_faces = m["n_used"]
        ci = m["ci95"]["balanced_accuracy"]
        print(
            f"  {args.folds}-fold run    {n_faces} faces, batch {args.kfold_batch_size}, up to "
            f"{args.kfold_epochs} epochs per fold (early stopping): {t_run:.1f} s end to end; "
            f"held-out balanced accuracy {m['balanced_accuracy']:.3f} "
            f"[{ci['low']:.3f}, {ci['high']:.3f}] (chance {1 / len(m['classes']):.3f})"
        )


if __name__ == "__main__":
    main()
