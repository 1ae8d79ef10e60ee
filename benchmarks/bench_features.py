"""Throughput of landmarks → mesh features, on one CPU core.

Usage::

    python benchmarks/bench_features.py [--faces 100000] [--repeats 5]

Simulates ``--faces`` synthetic faces (subjects × expressions × takes, with
pose and noise), then times :func:`geoface.features.compute_geometry` — inter-
ocular distance, roll, similarity (Procrustes) alignment to the template for
the shape-fit QC, triangle areas and angles, edge strains — pinned to one
core with single-threaded BLAS. Prints faces per second (median of the
repeats) against the target of 100,000 faces/s.
"""

from __future__ import annotations

import os

# one core: set before NumPy loads its BLAS
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

TARGET = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--chunk", type=int, default=None, help="faces per block (default: library's)"
    )
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from geoface.features import compute_geometry
    from geoface.mesh import Mesh
    from geoface.simulate import simulate_landmarks

    t0 = time.perf_counter()
    per_subject = 7 * 4
    sim = simulate_landmarks(n_subjects=-(-args.faces // per_subject), takes=4, random_state=0)
    landmarks = np.ascontiguousarray(sim.landmarks[: args.faces])
    t_sim = time.perf_counter() - t0
    mesh = Mesh.default()
    kw = {} if args.chunk is None else {"chunk": args.chunk}
    compute_geometry(landmarks[:1000], mesh, **kw)  # warm-up

    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        result = compute_geometry(landmarks, mesh, **kw)
        times.append(time.perf_counter() - t)
    best, median = min(times), statistics.median(times)
    n_ok = int((result.status == "ok").sum())

    print(
        f"geoface feature benchmark  ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, 1 core)"
    )
    print(f"  faces                 {len(landmarks):,} ({n_ok:,} ok), simulated in {t_sim:.1f} s")
    print(
        f"  mesh                  {mesh.n_triangles} triangles, {mesh.n_edges} edges "
        f"→ {result.features.shape[1]} features/face"
    )
    print(f"  time per run          median {median:.3f} s, best {best:.3f} s ({args.repeats} runs)")
    print(
        f"  throughput            {len(landmarks) / median:,.0f} faces/s (median), "
        f"{len(landmarks) / best:,.0f} faces/s (best)"
    )
    verdict = "meets" if len(landmarks) / median >= TARGET else "MISSES"
    print(f"  target                {TARGET:,} faces/s on one core: {verdict}")


if __name__ == "__main__":
    main()
