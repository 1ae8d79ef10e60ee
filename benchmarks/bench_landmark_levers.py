"""Landmark denoising levers of the dlib backend, measured.

Usage::

    python benchmarks/bench_landmark_levers.py [--data ../shared/data] [--scales 1 0.25]
                                               [--upsample 200] [--ckplus 314]

For every variant of the dlib backend — plain, ``mirror_average``,
``upsample``, both — it fits the same detected face boxes (dlib's HOG
detector, the largest face of each image, as ``geoface extract`` does) and
reports:

* on ``helen/`` (50 photographs with 300-W ground truth), at each
  ``--scales`` factor (0.25 turns its 300–500 px faces into faces of about
  100 px, like 128-px crops; the ground truth is scaled with the image):
  NME mean / median (outer-corner IOD), AUC at 0.08 and failure rate, from
  :func:`geoface.landmarks.score_landmarks`, with faces the detector missed
  counted as failures;
* on ``ckplus-dev/`` (128-px grey crops, no ground truth): the detection rate
  and the left/right disagreement — the NME between the fit of the image and
  the fit of its mirror image mapped back (0 for a landmarker that treats
  both sides alike; mirror averaging makes it 0 by construction, so it is
  reported for the variants without it).

Nothing is written; the scaled HELEN images live in memory only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _largest(boxes: np.ndarray) -> np.ndarray | None:
    if not len(boxes):
        return None
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[int(np.argmax(area))]


def _load(path: Path, scale: float) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    if scale != 1.0:
        h, w = img.shape[:2]
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def _fit_all(images, boxes, landmarker) -> np.ndarray:
    out = np.full((len(images), 68, 2), np.nan)
    for k, (img, box) in enumerate(zip(images, boxes, strict=True)):
        if box is not None:
            out[k] = landmarker.fit([img], [box[None]])[0][0]
    return out


def _variants(upsample: int):
    from geoface.landmarks import DlibLandmarker

    return {
        "plain": DlibLandmarker(detector="none", mirror_average=False, upsample=0),
        "mirror": DlibLandmarker(detector="none", mirror_average=True, upsample=0),
        f"upsample {upsample}": DlibLandmarker(
            detector="none", mirror_average=False, upsample=upsample
        ),
        f"mirror + upsample {upsample}": DlibLandmarker(
            detector="none", mirror_average=True, upsample=upsample
        ),
    }


def _mirror_fit(images, boxes, landmarker) -> np.ndarray:
    from geoface import MIRROR_PERMUTATION

    flipped, fboxes = [], []
    for img, box in zip(images, boxes, strict=True):
        w = img.shape[1]
        flipped.append(np.ascontiguousarray(img[:, ::-1]))
        fboxes.append(
            None if box is None else np.array([w - 1 - box[2], box[1], w - 1 - box[0], box[3]])
        )
    pts = _fit_all(flipped, fboxes, landmarker)
    for k, img in enumerate(images):
        pts[k, :, 0] = img.shape[1] - 1 - pts[k, :, 0]
    return pts[:, MIRROR_PERMUTATION]


def helen(data: Path, scales, upsample: int) -> None:
    from geoface.landmarks import HogDetector, read_landmark_input, score_landmarks

    truth, meta = read_landmark_input(data / "helen")
    ids = meta["id"].tolist()
    detector = HogDetector(n_jobs=1)
    variants = _variants(upsample)
    print("HELEN (50 faces, 300-W truth), NME by outer-corner IOD")
    print(
        f"{'scale':>5}  {'variant':<24} {'detected':>8} {'mean':>7} {'median':>7} "
        f"{'AUC@.08':>7} {'fail':>6} {'s':>5}"
    )
    for scale in scales:
        images = [_load(data / "helen" / p, scale) for p in meta["path"]]
        boxes = [_largest(b) for b, _ in detector.detect(images)]
        sizes = [max(b[2] - b[0], b[3] - b[1]) for b in boxes if b is not None]
        print(f"  scale {scale}: median face box {np.median(sizes):.0f} px")
        true = (truth + 0.5) * scale - 0.5
        base = None
        for name, lm in variants.items():
            t0 = time.perf_counter()
            pred = _fit_all(images, boxes, lm)
            dt = time.perf_counter() - t0
            scores = score_landmarks(pred, true, predicted_ids=ids, truth_ids=ids)
            s = scores.summary
            nme = scores.nme
            if base is None:
                base, paired = nme, ""
            else:
                both = np.isfinite(base) & np.isfinite(nme) & (np.minimum(base, nme) < 0.08)
                diff = nme[both] - base[both]
                rng = np.random.default_rng(0)
                boot = [np.median(rng.choice(diff, len(diff))) for _ in range(2000)]
                lo, hi = np.percentile(boot, [2.5, 97.5])
                paired = (
                    f"  vs plain: median paired change {np.median(diff):+.4f} "
                    f"[{lo:+.4f}, {hi:+.4f}], better on {np.mean(diff < 0):.0%}"
                )
            print(
                f"{scale:>5}  {name:<24} {s['n_scored']:>8} {s['nme_mean']:>7.4f} "
                f"{s['nme_median']:>7.4f} {s['auc']:>7.4f} {s['failure_rate']:>6.1%} "
                f"{dt:>5.1f}{paired}"
            )


def ckplus(data: Path, n: int, upsample: int) -> None:
    import pandas as pd

    from geoface.landmarks import DlibLandmarker, HogDetector, score_landmarks

    root = data / "ckplus-dev"
    manifest = pd.read_csv(root / "manifest.csv").head(n)
    images = [_load(root / p, 1.0) for p in manifest["path"]]
    boxes = [_largest(b) for b, _ in HogDetector(n_jobs=1).detect(images)]
    found = [b is not None for b in boxes]
    sizes = [max(b[2] - b[0], b[3] - b[1]) for b in boxes if b is not None]
    print(
        f"\nCK+ dev ({len(images)} crops of 128 px): HOG detected {sum(found)} "
        f"({np.mean(found):.1%}), median face box {np.median(sizes):.0f} px"
    )
    print(f"{'variant':<24} {'L/R disagreement (NME) mean':>28} {'median':>8}")
    for name, lm in {
        "plain": DlibLandmarker(detector="none", mirror_average=False, upsample=0),
        f"upsample {upsample}": DlibLandmarker(
            detector="none", mirror_average=False, upsample=upsample
        ),
    }.items():
        a = _fit_all(images, boxes, lm)
        b = _mirror_fit(images, boxes, lm)
        ok = np.array(found)
        ids = [str(k) for k in range(int(ok.sum()))]
        s = score_landmarks(a[ok], b[ok], predicted_ids=ids, truth_ids=ids).summary
        print(f"{name:<24} {s['nme_mean']:>28.4f} {s['nme_median']:>8.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.25])
    ap.add_argument("--upsample", type=int, default=200)
    ap.add_argument("--ckplus", type=int, default=314, help="CK+ crops to use (0: skip)")
    args = ap.parse_args()
    if (args.data / "helen").is_dir():
        helen(args.data, args.scales, args.upsample)
    else:
        print(f"skipped HELEN: {args.data / 'helen'} is absent")
    if args.ckplus and (args.data / "ckplus-dev").is_dir():
        ckplus(args.data, args.ckplus, args.upsample)


if __name__ == "__main__":
    main()
