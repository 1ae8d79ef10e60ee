"""``geoface label-frames``: a frame table labelled from a coding file, counts printed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main


@pytest.fixture(scope="module")
def frames_path(tmp_path_factory):
    """A small frame table: two videos of 60 frames at 30 frames/s, features on the mesh."""
    from geoface.features import extract_table
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=4, takes=5, random_state=0)
    n = 120
    landmarks = np.resize(sim.landmarks, (n, 68, 2))
    video = np.repeat(["infant01/visit1", "infant02/visit1"], 60)
    frame = np.tile(np.arange(60), 2)
    meta = pd.DataFrame(
        {
            "id": [f"{v}#{f}" for v, f in zip(video, frame, strict=True)],
            "path": [f"{v}.mp4" for v in video],
            "subject": [v.split("/")[0] for v in video],
            "label": "video-level",
            "video": video,
            "frame": frame,
            "time_s": frame / 30.0,
            "track_id": 0,
        }
    )
    path = tmp_path_factory.mktemp("frames") / "frames.parquet"
    extract_table(landmarks, meta).write(path)
    return path


def test_label_frames_from_an_elan_export(tmp_path, frames_path, capsys):
    coding = tmp_path / "visit1.txt"
    coding.write_text(
        "Expression\t\t0.500\t1.000\t0.500\tsmile\n"
        "Expression\t\t0.800\t1.200\t0.400\tcry\n"
        "Expression\t\t5.000\t6.000\t1.000\tsmile\n"
        "Gaze\t\t0.000\t2.000\t2.000\tscreen\n",
        encoding="utf-8",
    )
    out = tmp_path / "labelled.parquet"
    argv = ["label-frames", frames_path, "--coding", coding, "--layout", "elan"]
    argv += ["--tier", "Expression", "--video", "infant01/visit1", "--out", out]
    assert main([str(a) for a in argv]) == 0
    printed = capsys.readouterr().out
    assert "3 events read" in printed and "outside_video 1" in printed
    assert "overlapping 6" in printed  # 0.8 ≤ t < 1.0 at 30 frames/s
    from geoface.features import FeatureTable

    table = FeatureTable.read(out)
    frame = table.frame
    assert len(frame) == 120
    assert (frame["label_before"] == "video-level").all()
    t, v1 = frame["time_s"].to_numpy(), (frame["video"] == "infant01/visit1").to_numpy()
    assert frame.loc[v1 & np.isclose(t, 0.5), "label"].item() == "smile"
    assert frame.loc[v1 & np.isclose(t, 1.1), "label"].item() == "cry"
    assert frame.loc[v1 & np.isclose(t, 0.9), "label_status"].item() == "overlapping"
    assert (frame.loc[~v1, "label_status"] == "unlabelled").all()
    # smile 0.5–1.0 s holds 15 frames, cry 0.8–1.2 s 12; 6 are in both
    assert table.info["coding"]["counts"]["frames"]["ok"] == (15 - 6) + (12 - 6)
    events = pd.read_csv(tmp_path / "labelled.events.csv")
    assert events["status"].tolist() == ["ok", "ok", "outside_video"]


def test_label_frames_errors_are_one_line(tmp_path, frames_path, capsys):
    coding = tmp_path / "two_tiers.txt"
    coding.write_text("A\t\t0.5\t1.0\t0.5\tx\nB\t\t0.5\t1.0\t0.5\ty\n", encoding="utf-8")
    out = tmp_path / "o.parquet"
    argv = ["label-frames", frames_path, "--coding", coding, "--layout", "elan", "--out", out]
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tier" in err[0]
    # the events file may not replace the coding file
    clash = tmp_path / "o.events.csv"
    clash.write_text("video,onset_s,offset_s,label\n", encoding="utf-8")
    argv = ["label-frames", frames_path, "--coding", clash, "--layout", "events", "--out", out]
    assert main([str(a) for a in argv]) == 2
    assert "o.events.csv" in capsys.readouterr().err
    assert not out.exists()
