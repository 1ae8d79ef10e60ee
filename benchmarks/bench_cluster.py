"""Landmark throughput on a Dask LocalCluster against worker count, per-task overhead, and a
projection for a cohort of 11 million frames.

Run (nice, it uses every core for a minute or two)::

    nice -n 10 python benchmarks/bench_cluster.py            # real photographs when present
    python benchmarks/bench_cluster.py --images DIR --n 64 --workers 1 2 4

What it measures, on this machine:

* the landmark step (dlib: HOG detection + 68-point fit, at most 640 px) run here in one
  process with one thread, then as tasks on a LocalCluster of 1 and 2 worker processes
  (one thread each; workers warmed up first: cluster start and model loading excluded,
  they are paid once per worker);
* the per-task overhead of the executor (empty tasks on 2 workers);
* from the one-worker cost per frame: the core-hours of an 11-million-frame cohort and the
  wall time on a few cluster sizes (with the measured parallel efficiency);
* the size of a video segment task as sent to the cluster, with its video's frame-time
  index inside (as before) and slim (the index sent once per video), for a 30-minute
  recording at 30 frames/s (``--task-sizes`` alone: only this, in a second).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELEN = ROOT.parent / "shared" / "data" / "helen"
COHORT_FRAMES = 11_000_000  # 200 infants × 3 sessions × 20 min at ~15 frames/s kept


def _images(folder: Path | None, n: int, tmp: Path) -> tuple[Path, str]:
    import pandas as pd

    if folder is None and HELEN.is_dir():
        folder = HELEN
    if folder is not None:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))[:n]
        what = f"{len(files)} photographs from {folder}"
    else:
        from geoface.simulate import simulate_landmarks, write_simulated_dataset

        data = simulate_landmarks(n_subjects=max(1, n // 7 + 1), takes=1, random_state=0)
        csv = write_simulated_dataset(tmp / "sim", data=data)
        files = [tmp / "sim" / p for p in pd.read_csv(csv)["path"]][:n]
        what = f"{len(files)} rendered faces (no photographs found)"
    manifest = tmp / "manifest.csv"
    pd.DataFrame({"path": [str(f) for f in files]}).to_csv(manifest, index=False)
    return manifest, what


def _tasks(manifest: Path, cache: Path, chunk: int):
    from geoface.cluster import plan_image_tasks
    from geoface.cluster._images import _fingerprint
    from geoface.landmarks import DEFAULT_MAX_PIXELS, find_images, make_landmarker

    options = {"name": "dlib", "detector": "auto", "device": "cpu", "weights_dir": None}
    options.update(batch_size=None, detect_side=None, mirror_average=False, upsample=None)
    backend = make_landmarker(**options)
    return plan_image_tasks(
        find_images(manifest),
        landmarker=options,
        fingerprint=_fingerprint(backend),
        cache_dir=cache,
        chunk=chunk,
        max_side=640,
        max_pixels=DEFAULT_MAX_PIXELS,
    )


def _fresh(tmp: Path, name: str) -> Path:
    path = tmp / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def segment_task_sizes(minutes: float = 30.0, fps: float = 30.0, segment_frames: int = 256):
    """Pickled bytes of one segment task, full and slim, and of the video's index (sent once)."""
    import pickle
    from fractions import Fraction

    import numpy as np

    from geoface.cluster import slim_segment
    from geoface.video import VideoInfo, plan_segments

    n = int(minutes * 60 * fps)
    pts = np.arange(n, dtype=np.int64) * 512  # a 15360 Hz time base, as FFmpeg's mp4 muxer
    info = VideoInfo(
        path="/project/videos/infant-017-session-2.mp4", container="mov,mp4,m4a,3gp,3g2,mj2",
        codec="h264", width=1280, height=720, rotation=0, nominal_fps=fps, measured_fps=fps,
        vfr=False, duration_s=n / fps, n_frames=n, times=pts / 15360.0, has_audio=True,
        bytes=400_000_000, sha1="0" * 40, time_base=Fraction(1, 15360), pts=pts,
        keyframes=np.arange(0, n, 250, dtype=np.int64),
    )  # fmt: skip
    tasks = plan_segments(
        info,
        np.arange(n),
        "/project/geoface-cache/video/x",
        segment_frames=segment_frames,
        landmarker={"name": "dlib", "detector": "auto"},
        tracker={"faces": "largest"},
    )
    full = len(pickle.dumps(tasks[0], protocol=5))
    slim = len(pickle.dumps(slim_segment(tasks[0]), protocol=5))
    index = len(pickle.dumps(info, protocol=5))
    return {
        "frames": n,
        "segments": len(tasks),
        "task_bytes_full": full,
        "task_bytes_slim": slim,
        "index_bytes": index,
        "video_bytes_full": full * len(tasks),
        "video_bytes_slim": slim * len(tasks) + index,
    }


def _print_task_sizes() -> None:
    s = segment_task_sizes()
    print(
        f"  video segment task, 30 min at 30 frames/s ({s['frames']:,} frames, "
        f"{s['segments']} segments of 256): {s['task_bytes_full'] / 1e3:,.1f} kB with the "
        f"frame-time index inside, {s['task_bytes_slim'] / 1e3:,.1f} kB slim (index "
        f"{s['index_bytes'] / 1e3:,.1f} kB, sent once); the whole video: "
        f"{s['video_bytes_full'] / 1e6:,.1f} MB sent before, "
        f"{s['video_bytes_slim'] / 1e6:,.2f} MB now"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=None, help="folder of images")
    parser.add_argument("--n", type=int, default=32, help="images (default 32)")
    parser.add_argument("--chunk", type=int, default=4, help="images per task (default 4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--empty", type=int, default=200, help="empty tasks (default 200)")
    parser.add_argument(
        "--task-sizes", action="store_true", help="only the video segment task sizes"
    )
    args = parser.parse_args(argv)
    if args.task_sizes:
        _print_task_sizes()
        return 0

    from distributed import Client, LocalCluster

    from geoface.cluster import ProbeTask, probe_task, run_image_task, run_tasks

    tmp = Path(tempfile.mkdtemp(prefix="geoface-bench-cluster-"))
    try:
        manifest, what = _images(args.images, args.n, tmp)
        print(f"bench_cluster: {what}; dlib (HOG + 68 points, ≤ 640 px), chunk {args.chunk}")
        tasks = _tasks(manifest, _fresh(tmp, "warm"), args.chunk)
        n = sum(len(t) for t in tasks)

        # here: one process, one thread (the landmarker loaded by a warm-up task first)
        run_tasks(tasks[:1], run_image_task, threads=1, progress=False)
        tasks = _tasks(manifest, _fresh(tmp, "here"), args.chunk)
        here = run_tasks(tasks, run_image_task, threads=1, progress=False)
        rate_here = n / here.elapsed_s
        print(f"  here, 1 process × 1 thread: {rate_here:6.2f} images/s ({n} images)")

        rates = {}
        for w in args.workers:
            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
            )
            with Client(cluster) as client:
                start_s = time.perf_counter() - t0
                warm = _tasks(manifest, _fresh(tmp, f"warm{w}"), 1)[: 2 * w]
                run_tasks(warm, run_image_task, cluster=client, threads=1, progress=False)
                tasks = _tasks(manifest, _fresh(tmp, f"c{w}"), args.chunk)
                run = run_tasks(tasks, run_image_task, cluster=client, threads=1, progress=False)
                rates[w] = n / run.elapsed_s
                busy = ", ".join(
                    f"{v['tasks']} tasks/{v['busy_s']:.1f} s" for v in run.workers.values()
                )
                print(
                    f"  LocalCluster {w} worker(s) × 1 thread: {rates[w]:6.2f} images/s "
                    f"(speed-up {rates[w] / rate_here:.2f}× vs here; cluster start "
                    f"{start_s:.1f} s; per worker: {busy})"
                )
                if w == max(args.workers):
                    empty = [ProbeTask(i) for i in range(args.empty)]
                    run_tasks(empty[:20], probe_task, cluster=client, progress=False)
                    er = run_tasks(empty, probe_task, cluster=client, progress=False)
                    overhead_ms = 1000 * er.elapsed_s / args.empty
                    print(
                        f"  per-task overhead, {w} workers: {overhead_ms:.1f} ms per empty task "
                        f"({args.empty / er.elapsed_s:.0f} tasks/s)"
                    )
            cluster.close()
        here_empty = run_tasks(
            [ProbeTask(i) for i in range(args.empty)], probe_task, progress=False
        )
        print(
            f"  per-task overhead here (no cluster): "
            f"{1000 * here_empty.elapsed_s / args.empty:.2f} ms per empty task"
        )

        # projection from the one-worker cost per frame
        w1 = min(rates)
        per_frame = 1 / rates[w1]
        core_h = COHORT_FRAMES * per_frame / 3600
        eff = rates[max(rates)] / (rates[w1] * max(rates) / w1) if len(rates) > 1 else 1.0
        print(
            f"  projection, {COHORT_FRAMES / 1e6:.0f} M frames at {per_frame * 1000:.0f} ms per "
            f"frame and worker: {core_h:,.0f} core-hours; parallel efficiency measured "
            f"{eff:.2f} ({min(rates)}→{max(rates)} workers)"
        )
        chunk64 = 64 * per_frame * 1000
        print(
            f"  with 64 frames per task, a task lasts ~{chunk64 / 1000:.1f} s: the per-task "
            f"overhead is {100 * overhead_ms / chunk64:.2f} % of it"
        )
        for workers in (2, 64, 256, 1024):
            hours = core_h / (workers * min(1.0, eff))
            print(f"    {workers:5d} workers: {hours:10,.1f} h wall ({hours / 24:,.1f} days)")
        _print_task_sizes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
