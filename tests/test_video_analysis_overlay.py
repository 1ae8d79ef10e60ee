"""Predictions of frames drawn back onto their video (``predict --overlay-video``), and predict
reading a Parquet frame table in batches of rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main
from geoface.features import extract_table

from ._videos import simulated_expression_frames, write_video

N_FRAMES = 20
LOST = (8, 9)  # frames without a face


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A logistic-regression run on simulated faces of three classes."""
    from geoface.models import fit_run
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(
        n_subjects=6, takes=4, classes=("neutral", "happy", "surprise"), random_state=0
    )
    out = tmp_path_factory.mktemp("run") / "run"
    fit_run(extract_table(sim.landmarks, sim.meta), out, model="logreg", folds=3, n_boot=100)
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 2-second simulated clip (10 frames/s), its frame table and its landmark table."""
    folder = tmp_path_factory.mktemp("clip")
    videos = folder / "videos"
    videos.mkdir()
    images, lm = simulated_expression_frames(N_FRAMES, size=(320, 180))
    write_video(videos / "clip.mp4", images, fps=10)
    lm = lm.copy()
    status = np.full(N_FRAMES, "ok", dtype=object)
    status[list(LOST)] = "no_face"
    lm[list(LOST)] = np.nan
    lo, hi = lm.min(axis=1), lm.max(axis=1)  # NaN where lost
    meta = pd.DataFrame(
        {
            "id": [f"clip#{k}" for k in range(N_FRAMES)],
            "path": "clip.mp4",
            "video": "clip",
            "frame": np.arange(N_FRAMES),
            "time_s": np.arange(N_FRAMES) / 10,
            "track_id": 0,
        }
    )
    qc = pd.DataFrame(
        {
            "qc_status": status,
            "qc_box_x": lo[:, 0],
            "qc_box_y": lo[:, 1],
            "qc_box_w": hi[:, 0] - lo[:, 0],
            "qc_box_h": hi[:, 1] - lo[:, 1],
        }
    )
    table = extract_table(lm, meta, qc=qc, source=str(videos))
    landmarks = folder / "frames.landmarks.parquet"
    xy = {f"x_{k}": lm[:, k, 0] for k in range(68)} | {f"y_{k}": lm[:, k, 1] for k in range(68)}
    pd.DataFrame({"id": meta["id"], "video": meta["video"], **xy}).to_parquet(landmarks)
    table.info["landmarks_table"] = str(landmarks)
    table.write(folder / "frames.parquet")
    return folder, images, qc


def _decoded(path):
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_overlay_video_shows_class_and_probability(run_dir, clip, tmp_path, capsys):
    folder, images, qc = clip
    out = tmp_path / "overlay.mp4"
    argv = ["predict", str(run_dir), str(folder / "frames.parquet"), "--out"]
    assert main([*argv, str(tmp_path / "pred.csv"), "--overlay-video", str(out)]) == 0
    assert "overlay video of clip (20 frames)" in capsys.readouterr().out
    frames = _decoded(out)
    assert len(frames) == N_FRAMES and frames[0].shape == images[0].shape
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert pred.loc[list(LOST), "status"].eq("qc_no_face").all()
    # an ok frame: under the face box, the label's dark panel and probability bar
    k = 15
    x, y, h = (int(qc.loc[k, c]) for c in ("qc_box_x", "qc_box_y", "qc_box_h"))
    top = y + h + 6
    panel = (slice(top, min(top + 18, 180)), slice(x + 2, x + 90))
    diff = np.abs(frames[k].astype(int) - images[k].astype(int))
    assert diff[panel].mean() > 40
    assert frames[k][panel].mean() < images[k][panel].mean() - 30  # a dark panel
    # a frame without a face shows its status at the top left, under the title
    lost = np.abs(frames[LOST[0]].astype(int) - images[LOST[0]].astype(int))
    assert lost[30:50, 6:90].mean() > 40
    # the label is what the predictions say: the bar is as long as the probability
    assert np.isfinite(pred.loc[k, [c for c in pred.columns if c.startswith("proba_")]]).all()


def test_overlay_of_one_video_and_refusals(run_dir, clip, tmp_path, capsys):
    folder, _, _ = clip
    argv = ["predict", str(run_dir), str(folder / "frames.parquet")]
    argv += ["--out", str(tmp_path / "p.csv")]
    ov = ["--overlay-video", str(tmp_path / "o.mp4")]
    assert main([*argv, "--overlay-for", "clip"]) == 2
    assert "choose(s) the overlay: add --overlay-video" in capsys.readouterr().err
    assert main([*argv, *ov, "--overlay-for", "other"]) == 2
    assert "'other' is not a video of" in capsys.readouterr().err
    assert main([*argv, *ov, "--video-root", str(tmp_path)]) == 2
    assert "was not found" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "o.mp4").exists()
    assert main([*argv, *ov, "--overlay-for", "clip"]) == 0
    assert len(_decoded(tmp_path / "o.mp4")) == N_FRAMES


def test_streamed_predictions_equal_the_whole_table(run_dir, clip, tmp_path):
    folder, _, _ = clip
    argv = ["predict", str(run_dir), str(folder / "frames.parquet"), "--out"]
    assert main([*argv, str(tmp_path / "a.csv"), "--batch-rows", "3"]) == 0
    assert main([*argv, str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # a CSV table is read whole and predicted the same
    from geoface.features import FeatureTable

    FeatureTable.read(folder / "frames.parquet").write(tmp_path / "frames.csv")
    assert (
        main(
            [
                "predict",
                str(run_dir),
                str(tmp_path / "frames.csv"),
                "--out",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    a, c = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(a.drop(columns="path"), c.drop(columns="path"))
