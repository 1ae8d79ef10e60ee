"""Draw the README's video-analysis figures from simulated data (nothing is downloaded).

    python scripts/make_time_course_figure.py [--out docs]

A logistic-regression run on simulated faces (neutral, happy, surprise) predicts
a simulated 20-second face track (10 frames/s) whose episodes are known, with a
second of lost face; the coded events are the known episodes. Writes
``time_course.png`` (probabilities, QC gap, coded events and model segments)
and ``region_time.png`` (SHAP by region over time for "happy").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EPISODES = (("happy", 3.0, 6.0), ("surprise", 9.0, 10.5), ("happy", 14.0, 17.5))


def main() -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from geoface.coding import segments_from_proba
    from geoface.evaluate import region_contributions_over_time
    from geoface.explain import explain_run
    from geoface.features import extract_table
    from geoface.models import Run, fit_run
    from geoface.plotting import plot_region_time, plot_time_course, save_figure
    from geoface.simulate import simulate_landmarks
    from tests._video_frames import simulate_track

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()

    sim = simulate_landmarks(
        n_subjects=8, takes=4, classes=("neutral", "happy", "surprise"), random_state=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = fit_run(
            extract_table(sim.landmarks, sim.meta), Path(tmp) / "run", model="logreg", n_boot=100
        )
        lm, meta = simulate_track(seconds=20.0, episodes=EPISODES, seed=5)
        lost = meta["time_s"].between(11.5, 12.45).to_numpy()
        lm[lost] = np.nan
        qc = pd.DataFrame({"qc_status": np.where(lost, "no_face", "ok")})
        table = extract_table(lm, meta.drop(columns=["true", "amplitude"]), qc=qc)
        run = Run(run_dir)
        pred = pd.concat([table.frame[["video", "time_s", "track_id"]], run.predict(table)], axis=1)
        seg = segments_from_proba(pred, smooth="median", window_s=0.5, min_duration_s=0.5)
        events = pd.DataFrame(
            [
                {"video": "infant01/visit1", "onset_s": a, "offset_s": b, "label": c}
                for c, a, b in EPISODES
            ]
        )
        fig = plot_time_course(
            pred, events=events, segments=seg, title="infant01/visit1 (simulated)"
        )
        save_figure(fig, args.out / "time_course", formats=("png",), dpi=90)
        plt.close(fig)
        expl = explain_run(run, table, final=True)
        long = region_contributions_over_time(expl, table.frame, class_name="happy")
        fig = plot_region_time(long, title="contributions to 'happy' by region (SHAP)")
        save_figure(fig, args.out / "region_time", formats=("png",), dpi=90)
        plt.close(fig)
    print(f"→ {args.out / 'time_course.png'}, {args.out / 'region_time.png'}")


if __name__ == "__main__":
    main()
