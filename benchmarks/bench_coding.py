"""Time to label an hour of frames from a coding file, and to cut its probabilities into segments.

Usage::

    python benchmarks/bench_coding.py [--frames 108000] [--videos 4] [--events 2000]
                                      [--classes 7] [--repeat 3]

Builds a frame table of ``--frames`` rows (30 frames/s, spread over ``--videos``
videos: 108,000 rows is one hour), ``--events`` coded events of random classes and
lengths (some overlapping, some outside the videos), and per-frame probabilities of
``--classes`` classes with episodes and noise. Prints the best of ``--repeat``
runs of :func:`geoface.coding.label_frames` and of
:func:`geoface.coding.segments_from_proba` with each smoother.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=108_000)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from geoface.coding import label_frames, segments_from_proba

    rng = np.random.default_rng(0)
    per_video = args.frames // args.videos
    video = np.repeat([f"infant{i:02d}/visit1" for i in range(args.videos)], per_video)
    t = np.tile(np.arange(per_video) / 30.0, args.videos)
    frames = pd.DataFrame({"video": video, "time_s": t, "track_id": 0})
    span = per_video / 30.0
    onset = rng.uniform(-0.02 * span, 1.02 * span, args.events)
    classes = [f"c{k}" for k in range(args.classes)]
    events = pd.DataFrame(
        {
            "video": rng.choice(np.unique(video), args.events),
            "onset_s": onset,
            "offset_s": onset + rng.exponential(3.0, args.events),
            "label": rng.choice(classes, args.events),
            "subject": "",
            "source_row": np.arange(args.events) + 2,
            "status": "ok",
            "note": "",
        }
    )
    seconds, (_, _, counts) = _best(lambda: label_frames(frames, events), args.repeat)
    print(f"label_frames: {len(frames):,} frames, {len(events):,} events: {seconds:.3f} s")
    print(f"  frames {counts['frames']}; events {counts['events']}")

    # probabilities: episodes of 1–5 s of one class over a noisy background
    logits = rng.normal(0, 1.0, (len(frames), args.classes))
    episode = np.repeat(rng.integers(0, args.classes, len(frames) // 90 + 1), 90)[: len(frames)]
    logits[np.arange(len(frames)), episode] += 2.0
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    pred = frames.assign(**{f"proba_{c}": proba[:, k] for k, c in enumerate(classes)})
    pred.loc[rng.random(len(pred)) < 0.01, f"proba_{classes[0]}"] = np.nan  # 1 % QC gaps
    for smooth in ("none", "median", "ema"):
        seconds, seg = _best(
            lambda smooth=smooth: segments_from_proba(
                pred, smooth=smooth, window_s=0.5, min_duration_s=0.5
            ),
            args.repeat,
        )
        print(f"segments_from_proba smooth={smooth}: {seconds:.3f} s → {len(seg):,} segments")


if __name__ == "__main__":
    main()
