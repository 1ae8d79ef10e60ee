"""Time to predict, segment, draw, re-reference and explain an hour of frames.

Usage::

    python benchmarks/bench_predict_frames.py [--frames 108000] [--videos 4] [--model xgb]
                                              [--threads 2] [--explain-rows 108000]

Fits a ``--model`` run on simulated faces of the seven classes, then builds a
frame table of ``--frames`` rows (30 frames/s over ``--videos`` videos: 108,000
rows is one hour; each track rests and shows an expression episode every 10 s,
1 % of frames lost to QC) written as Parquet, and prints the seconds of:

* ``geoface predict RUN FRAMES --out pred.csv --segments seg.csv --smooth median
  --window 0.5 --min-duration 0.5`` end to end (read, predict, CSV, segments),
  and of ``Run.predict`` alone (target: under a minute on 2 cores);
* ``--figures``: one time-course figure per video;
* ``geoface rebase`` with the ``quiet`` rule (streamed in row groups);
* tree SHAP of the final model on ``--explain-rows`` frames (0: skipped), in
  chunks of ``--explain-chunk`` frames each summed by region at once (the region
  × time table of the heat maps).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    print(f"{label}: {seconds:.2f} s")
    return seconds, out


def frame_table(n_frames: int, n_videos: int, seed: int = 0):
    """A simulated frame table (FeatureTable) of ``n_frames`` rows at 30 frames/s."""
    import numpy as np
    import pandas as pd

    from geoface.features import extract_table
    from geoface.mesh import default_template
    from geoface.simulate import EXPRESSIONS, expression_displacement, sample_identity

    rng = np.random.default_rng(seed)
    per = n_frames // n_videos
    template = np.array(default_template())
    moving = [c for c in EXPRESSIONS if c != "neutral"]
    lms, metas = [], []
    for v in range(n_videos):
        identity = sample_identity(template, rng, infant=True)
        t = np.arange(per) / 30.0
        # an episode of 2–5 s every 10 s, ramps of 0.4 s
        cycle = t % 10.0
        length = 2.0 + 3.0 * rng.random(int(t[-1] // 10) + 1)
        label_of = rng.choice(moving, len(length))
        k = (t // 10).astype(int)
        amp = np.clip(np.minimum((cycle - 3.0) / 0.4, (3.0 + length[k] - cycle) / 0.4), 0, 1)
        disp = np.stack([expression_displacement(c) for c in moving])
        index = {c: i for i, c in enumerate(moving)}
        which = np.array([index[c] for c in label_of[k]])
        shapes = identity[None] + amp[:, None, None] * disp[which]
        angle = np.radians(3.0 * np.sin(t / 7.0))
        c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
        x, y = shapes[..., 0], shapes[..., 1]
        shapes = np.stack([c * x - s * y, s * x + c * y], axis=-1)
        lm = np.array([320.0, 200.0]) + 60.0 * shapes
        lm += 0.004 * 60.0 * rng.standard_normal(lm.shape)
        video = f"infant{v + 1:02d}/visit1"
        meta = pd.DataFrame(
            {
                "id": [f"{video}#{i}" for i in range(per)],
                "path": f"{video}.mp4",
                "subject": f"s{v + 1:03d}",
                "video": video,
                "frame": np.arange(per),
                "time_s": t,
                "track_id": 0,
            }
        )
        lms.append(lm)
        metas.append(meta)
    landmarks = np.concatenate(lms)
    meta = pd.concat(metas, ignore_index=True)
    lost = rng.random(len(meta)) < 0.01
    landmarks[lost] = np.nan
    qc = pd.DataFrame({"qc_status": np.where(lost, "no_face", "ok")})
    return extract_table(landmarks, meta, qc=qc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=108_000)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--model", default="xgb")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--explain-rows", type=int, default=108_000)
    parser.add_argument("--explain-chunk", type=int, default=10_800)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    import matplotlib

    matplotlib.use("Agg")
    from geoface.cli import main as geoface
    from geoface.evaluate import region_contributions_over_time
    from geoface.explain import explain_run
    from geoface.features import FeatureTable, extract_table
    from geoface.models import Run, fit_run
    from geoface.simulate import simulate_landmarks

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sim = simulate_landmarks(n_subjects=6, takes=2, random_state=0)
        _timed(
            f"fit {args.model} on {len(sim.meta)} simulated faces",
            lambda: fit_run(
                extract_table(sim.landmarks, sim.meta),
                tmp / "run",
                model=args.model,
                folds=3,
                n_boot=100,
            ),
        )
        _, table = _timed(
            f"simulate and extract {args.frames:,} frames",
            lambda: frame_table(args.frames, args.videos),
        )
        frames = tmp / "frames.parquet"
        table.write(frames)
        del table
        print(f"frame table: {frames.stat().st_size / 1e6:.0f} MB Parquet")

        run = Run(tmp / "run")
        loaded = FeatureTable.read(frames)
        _timed("Run.predict alone", lambda: run.predict(loaded))
        argv = ["predict", str(tmp / "run"), str(frames), "--out", str(tmp / "pred.csv")]
        argv += ["--segments", str(tmp / "seg.csv"), "--smooth", "median", "--window", "0.5"]
        argv += ["--min-duration", "0.5"]
        total, status = _timed(
            "geoface predict (read, predict, CSV, segments)", lambda: geoface(argv)
        )
        assert status == 0
        verdict = "under" if total < 60 else "OVER"
        print(f"  prediction of {args.frames:,} frames: {total:.1f} s ({verdict} the 60 s target)")
        argv_fig = [*argv[:4], str(tmp / "pred2.csv"), "--figures", str(tmp / "figures")]
        _timed("geoface predict --figures (one figure per video)", lambda: geoface(argv_fig))
        _timed(
            "geoface rebase --rule quiet (streamed)",
            lambda: geoface(["rebase", str(frames), "--out", str(tmp / "rebased.parquet")]),
        )
        if args.explain_rows:
            # in chunks, each reduced to regions at once: the SHAP values of an hour of frames
            # (108,000 × 602 features × 7 classes) would take 3.6 GB
            n = min(args.explain_rows, len(loaded.frame))
            t0 = time.perf_counter()
            parts = []
            for a in range(0, n, args.explain_chunk):
                rows = loaded.frame.iloc[a : min(n, a + args.explain_chunk)]
                part = FeatureTable(
                    frame=rows.reset_index(drop=True), mesh=loaded.mesh, info=loaded.info
                )
                expl = explain_run(run, part, final=True, n_jobs=args.threads)
                parts.append(region_contributions_over_time(expl, part.frame))
            seconds = time.perf_counter() - t0
            regions = sum(len(p) for p in parts)
            print(
                f"explain {n:,} frames (final model, tree SHAP, {args.threads} threads, chunks of "
                f"{args.explain_chunk:,}) and sum by region ({regions:,} region rows): "
                f"{seconds:.1f} s"
            )


if __name__ == "__main__":
    main()
