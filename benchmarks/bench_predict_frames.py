"""Time to predict, segment, draw, re-reference and explain an hour of frames.

Usage::

    python benchmarks/bench_predict_frames.py [--frames 108000] [--videos 4] [--model xgb]
                                              [--threads 2] [--explain-rows 108000]
                                              [--row-group 16384] [--compare-with DIR]

Fits a ``--model`` run on simulated faces of the seven classes, then builds a
frame table of ``--frames`` rows (30 frames/s over ``--videos`` videos: 108,000
rows is one hour; each track rests and shows an expression episode every 10 s,
1 % of frames lost to QC) written as Parquet, and prints the seconds of:

* ``geoface predict RUN FRAMES --out pred.csv --segments seg.csv --smooth median
  --window 0.5 --min-duration 0.5`` end to end (read, predict, CSV, segments),
  and of ``Run.predict`` alone (target: under a minute on 2 cores);
* ``--figures``: one time-course figure per video;
* ``geoface rebase`` with the ``quiet`` rule (streamed in row groups);
* tree SHAP of the final model on ``--explain-rows`` frames (0: skipped):
  ``geoface explain --region-sums-only`` (chunks of ``--explain-chunk`` frames,
  each summed by region at once: the region × time table of the heat maps).

The table is written in row groups of ``--row-group`` rows, as ``geoface
extract`` writes frame tables. ``geoface predict`` and ``geoface explain`` run
in child processes, each reporting its peak resident memory (``VmHWM``);
``--compare-with DIR`` runs ``geoface predict`` once more with the ``geoface``
package of another checkout (``DIR`` on ``PYTHONPATH``), e.g. to compare the
memory of two versions.
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


def _child(argv: list[str], pythonpath: str | None = None) -> tuple[float, float]:
    """Run ``geoface ARGV`` in a child process; its wall seconds and peak RSS in MB."""
    import subprocess
    import sys

    # VmHWM: the peak resident memory of the child's own address space (exec starts a new
    # one); ru_maxrss would carry over the parent's peak at fork time
    code = (
        "import sys\n"
        "from geoface.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]\n"
        "print(f'peak_rss_mb={int(hwm.split()[1]) / 1024:.0f}')\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"geoface {argv[0]} failed: {done.stderr.strip()[-2000:]}")
    rss = float(done.stdout.rsplit("peak_rss_mb=", 1)[1].split()[0])
    return seconds, rss


def write_row_groups(path: Path, rows: int) -> int:
    """Rewrite a Parquet table in row groups of ``rows`` rows; their number."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=rows)
    tmp.replace(path)
    return pq.ParquetFile(path).num_row_groups


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
    parser.add_argument("--row-group", type=int, default=16_384)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["figures", "rebase"], help="steps left out"
    )
    parser.add_argument("--compare-with", help="another checkout whose geoface predict to time")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    import matplotlib

    matplotlib.use("Agg")
    from geoface.cli import main as geoface
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
        groups = write_row_groups(frames, args.row_group)
        print(f"frame table: {frames.stat().st_size / 1e6:.0f} MB Parquet, {groups} row groups")

        run = Run(tmp / "run")
        loaded = FeatureTable.read(frames)
        _timed("Run.predict alone", lambda: run.predict(loaded))
        del loaded
        argv = ["predict", str(tmp / "run"), str(frames), "--out", str(tmp / "pred.csv")]
        argv += ["--segments", str(tmp / "seg.csv"), "--smooth", "median", "--window", "0.5"]
        argv += ["--min-duration", "0.5"]
        total, rss = _child(argv)
        print(f"geoface predict (read, predict, CSV, segments): {total:.2f} s, peak {rss:.0f} MB")
        verdict = "under" if total < 60 else "OVER"
        print(f"  prediction of {args.frames:,} frames: {total:.1f} s ({verdict} the 60 s target)")
        if args.compare_with:
            other = [*argv[:4], str(tmp / "pred_other.csv"), *argv[5:]]
            seconds, rss_other = _child(other, pythonpath=args.compare_with)
            print(
                f"geoface predict of {args.compare_with}: {seconds:.2f} s, peak {rss_other:.0f} MB"
            )
        argv_fig = [*argv[:4], str(tmp / "pred2.csv"), "--figures", str(tmp / "figures")]
        if "figures" not in args.skip:
            _timed("geoface predict --figures (one figure per video)", lambda: geoface(argv_fig))
        if "rebase" not in args.skip:
            _timed(
                "geoface rebase --rule quiet (streamed)",
                lambda: geoface(["rebase", str(frames), "--out", str(tmp / "rebased.parquet")]),
            )
        if args.explain_rows:
            # region sums only: the SHAP values of an hour of frames per feature
            # (108,000 × 602 features × 7 classes) would take 3.6 GB
            n = min(args.explain_rows, args.frames)
            part = frames
            if n < args.frames:
                loaded = FeatureTable.read(frames)
                part = tmp / "explained.parquet"
                rows = loaded.frame.iloc[:n].reset_index(drop=True)
                FeatureTable(frame=rows, mesh=loaded.mesh, info=loaded.info).write(part)
                del loaded, rows
            argv_x = ["explain", str(tmp / "run"), "--features", str(part), "--final"]
            argv_x += ["--region-sums-only", "--chunk-rows", str(args.explain_chunk)]
            argv_x += ["--no-figures", "--bootstrap", "0", "--threads", str(args.threads)]
            argv_x += ["--out", str(tmp / "expl"), "--quiet"]
            seconds, rss = _child(argv_x)
            print(
                f"geoface explain --region-sums-only of {n:,} frames (final model, tree SHAP, "
                f"{args.threads} threads, chunks of {args.explain_chunk:,}): {seconds:.1f} s, "
                f"peak {rss:.0f} MB"
            )


if __name__ == "__main__":
    main()
