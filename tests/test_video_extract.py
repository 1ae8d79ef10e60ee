"""``geoface extract`` on videos: frame tables from videos made here (simulated faces, real
photographs panned and cut, two faces crossing, damaged files), sampling, folds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main
from geoface.features import FeatureTable

from ._videos import (
    HELEN,
    audio_only,
    corrupt,
    empty_file,
    helen_photo,
    not_a_video,
    photo_frames,
    simulated_expression_frames,
    truncate,
    two_faces_crossing,
    write_video,
)

pytest.importorskip("av")
pytest.importorskip("dlib")

SIZE = (320, 240)


@pytest.fixture(scope="module")
def sim_video(tmp_path_factory):
    """20 frames of a simulated face going neutral → happy → neutral, with the truth."""
    folder = tmp_path_factory.mktemp("sim")
    frames, truth = simulated_expression_frames(20, size=SIZE)
    return write_video(folder / "sim.mp4", frames, fps=25, gop=10), truth


def _extract(video, out, **options):
    from geoface.video import extract_videos

    options.setdefault("landmarker", "dlib")
    options.setdefault("progress", False)
    return extract_videos(video, out, **options)


def test_simulated_expression_gives_one_row_per_frame(sim_video, tmp_path):
    video, truth = sim_video
    result = _extract(video, tmp_path / "f.parquet", segment_frames=8)
    table = FeatureTable.read(result.path)
    frame = table.frame
    assert len(frame) == 20 and result.n_rows == 20
    assert frame["frame"].tolist() == list(range(20))
    assert frame["id"].tolist() == [f"sim#{k}" for k in range(20)]
    assert (frame["video"] == "sim").all()
    np.testing.assert_allclose(frame["time_s"], np.arange(20) / 25, atol=1e-6)
    assert (frame["qc_status"] == "ok").all()
    assert np.isfinite(table.features).all()
    # one track through the three segments (stitched)
    assert frame["track_id"].nunique() == 1
    # the landmarks are near the simulator's truth (in original pixels)
    lm = pd.read_parquet(result.landmarks_path)
    xy = lm[[f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]].to_numpy()
    found = np.stack([xy[:, :68], xy[:, 68:]], axis=-1)
    iod = np.linalg.norm(truth[:, 36:42].mean(1) - truth[:, 42:48].mean(1), axis=1)
    error = np.linalg.norm(found - truth, axis=2).mean(1) / iod
    assert np.median(error) < 0.15
    info = table.info
    assert info["feature_names"] and info["mesh_hash"] == table.mesh.hash
    video_info = info["video"]
    assert video_info["decoder"]["library"] == "PyAV"
    assert video_info["segments"] == {"n": 3, "computed": 3, "reused": 0}
    stream = video_info["videos"][0]
    assert stream["codec"] and stream["width"] == SIZE[0] and stream["rotation"] == 0
    assert video_info["qc_counts"] == {"ok": 20}
    # a second run reuses every part
    again = _extract(video, tmp_path / "g.parquet", segment_frames=8)
    assert again.info["segments"] == {"n": 3, "computed": 0, "reused": 3}
    pd.testing.assert_frame_equal(FeatureTable.read(again.path).frame, frame)


def test_photo_panned_zoomed_rotated_and_cut_to_no_face_and_back(tmp_path):
    """A HELEN photograph panned and zoomed, stored turned with a rotation tag, cut to grey
    frames and back: the face is lost on the cut, found again after it, and its landmarks
    (in the upright frame's pixels) are near the photograph's annotation."""
    blank = range(6, 10)
    frames, truth = photo_frames(helen_photo(0), 16, size=SIZE, blank=blank, face_height=0.55)
    video = write_video(tmp_path / "pan.mp4", frames, fps=25, gop=8, rotation=270)
    result = _extract(video, tmp_path / "f.parquet", segment_frames=8, redetect_every=4)
    assert result.info["videos"][0]["rotation"] == 270
    frame = pd.read_parquet(result.path)
    assert frame["frame"].tolist() == list(range(16))
    status = frame.set_index("frame")["qc_status"]
    assert set(status[list(blank)]) <= {"no_face", "lost_track"}
    assert (status.drop(list(blank)) == "ok").sum() >= 10
    back = frame[(frame["frame"] >= 12) & (frame["qc_status"] == "ok")]
    assert len(back) >= 3  # the face is found again after the cut
    usable = frame["qc_status"] == "ok"
    features = frame.loc[usable, [c for c in frame.columns if c.startswith(("tri_", "edge_"))]]
    assert np.isfinite(features.to_numpy()).all()
    assert frame.loc[~usable, "tri_000_area"].isna().all()
    lm = pd.read_parquet(result.landmarks_path)
    found = np.stack([lm[[f"x_{i}" for i in range(68)]], lm[[f"y_{i}" for i in range(68)]]], -1)
    ok = usable.to_numpy()
    iod = np.linalg.norm(truth[ok, 36:42].mean(1) - truth[ok, 42:48].mean(1), axis=1)
    error = np.linalg.norm(found[ok] - truth[ok], axis=2).mean(1) / iod
    assert np.median(error) < 0.15


def test_two_faces_crossing_keep_their_track_ids(tmp_path):
    frames, _ = two_faces_crossing(16, size=(480, 360), face_height=0.4)
    video = write_video(tmp_path / "two.mp4", frames, fps=25, gop=8)
    result = _extract(video, tmp_path / "f.parquet", faces="all", segment_frames=8)
    frame = pd.read_parquet(result.path)
    found = frame[frame["track_id"].notna()]
    assert found["track_id"].nunique() == 2
    assert frame["id"].is_unique and found["id"].str.contains("#t").all()
    # each track stays on one face: the first moves right, the second left
    for _, rows in found.groupby("track_id"):
        x = (rows["qc_box_x"] + rows["qc_box_w"] / 2).to_numpy()
        steps = np.sign(np.diff(x))
        assert abs(steps.sum()) >= len(steps) - 2


def test_folder_mixing_images_and_damaged_videos_gives_one_table(sim_video, tmp_path):
    import shutil

    video, _ = sim_video
    folder = tmp_path / "in"
    folder.mkdir()
    frames, _ = simulated_expression_frames(8, size=SIZE, seed=1)
    good = write_video(folder / "good.mp4", frames, fps=25, gop=4, faststart=True)
    truncate(good, 0.6, dst=folder / "cut.mp4")
    corrupt(video, dst=folder / "corrupt.mp4", where=0.5, n_bytes=3000)
    empty_file(folder / "empty.mp4")
    audio_only(folder / "sound.mp4")
    not_a_video(folder / "text.mp4")
    shutil.copy(helen_photo(0), folder / "photo.jpg")
    result = _extract(folder, tmp_path / "f.parquet")
    table = FeatureTable.read(result.path)
    frame = table.frame
    assert result.n_videos == 6 and result.n_images == 1
    by_video = frame.groupby("video", dropna=False)["qc_status"].agg(list)
    assert by_video["empty"] == ["empty_video"]
    assert by_video["sound"] == ["no_video_stream"]
    assert by_video["text"] == ["unreadable_video"]
    assert by_video["good"] == ["ok"] * 8
    # damaged files: their good frames, and a status for every other frame
    assert len(by_video["corrupt"]) == 20 and "ok" in by_video["corrupt"]
    assert "unreadable_frame" in by_video["corrupt"]
    assert len(by_video["cut"]) == 8 and by_video["cut"][:2] == ["ok", "ok"]
    assert "missing_frames" in by_video["cut"]
    photo = frame[frame["id"] == "photo"]
    assert len(photo) == 1 and photo["qc_status"].iloc[0] == "ok"
    assert pd.isna(photo["video"].iloc[0]) and pd.isna(photo["frame"].iloc[0])
    failed = frame[frame["video"].isin(["empty", "sound", "text"])]
    assert (failed["frame"] == -1).all() and failed["time_s"].isna().all()
    assert set(frame["path"]) >= {"good.mp4", "cut.mp4", "photo.jpg", "empty.mp4"}


def test_manifest_columns_reach_every_frame_and_csv_on_request(sim_video, tmp_path):
    video, _ = sim_video
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"path": [str(video)], "subject": ["inf01"], "age_months": [7]}).to_csv(
        manifest, index=False
    )
    result = _extract(manifest, tmp_path / "f.csv", every=5)
    frame = FeatureTable.read(result.path).frame
    assert frame["frame"].tolist() == [0, 5, 10, 15]
    assert (frame["subject"] == "inf01").all() and (frame["age_months"] == 7).all()
    assert result.landmarks_path.name == "f.landmarks.csv"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"every": 4}, [0, 4, 8, 12, 16]),
        ({"fps": 5}, [0, 5, 10, 15]),
        ({"start": 0.2, "end": 0.4}, [5, 6, 7, 8, 9]),  # end excluded
    ],
)
def test_sampling_options_choose_frames_by_time(sim_video, tmp_path, options, expected):
    from geoface.video import extract_videos

    video, _ = sim_video
    result = extract_videos(
        video, tmp_path / "f.parquet", landmarker="dlib", progress=False, **options
    )
    frame = pd.read_parquet(result.path)
    assert frame["frame"].tolist() == expected
    np.testing.assert_allclose(frame["time_s"], np.array(expected) / 25, atol=1e-6)


def test_cli_extract_video_and_overlay(sim_video, tmp_path, capsys):
    import av

    video, _ = sim_video
    out = tmp_path / "f.parquet"
    overlay = tmp_path / "check.mp4"
    code = main(
        [
            "extract",
            str(video),
            "--out",
            str(out),
            "--landmarker",
            "dlib",
            "--every",
            "2",
            "--smooth",
            "none",
            "--overlay-video",
            str(overlay),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "10 rows from 1 video →" in printed and "overlay video" in printed
    with av.open(str(overlay)) as container:
        n = sum(1 for _ in container.decode(video=0))
    assert n == 10
    meta = json.loads((tmp_path / "f.meta.json").read_text())
    assert meta["video"]["smoothing"]["method"] == "none"
    assert meta["video"]["sampling"]["every"] == 2


def test_frames_of_one_subject_never_in_two_folds(tmp_path):
    from geoface.splits import make_splits

    rows = []
    for s in range(6):
        for video in range(2):
            for k in range(5):
                rows.append(
                    {
                        "id": f"s{s}v{video}#{k}",
                        "video": f"s{s}v{video}",
                        "subject": f"s{s}",
                        "label": ["happy", "sad"][(s + video) % 2],
                        "qc_status": "ok",
                    }
                )
    frame = pd.DataFrame(rows)
    splits = make_splits(frame, folds=3, seed=0)
    assert splits.group == "subject"
    assert (splits.frame.groupby("subject")["fold"].nunique() == 1).all()
    # without a subject column the frames of one video stay together
    by_video = make_splits(frame.drop(columns="subject"), folds=3, seed=0)
    assert by_video.group == "video"
    assert (by_video.frame.groupby("video")["fold"].nunique() == 1).all()


def test_helen_is_there():
    assert HELEN.is_dir()


@pytest.mark.parametrize(
    ("method", "params"),
    [("one-euro", {"min_cutoff": 0.5, "beta": 2.0}), ("savgol", {"window_s": 0.2})],
)
def test_smoothing_across_segments_equals_smoothing_the_whole_track(
    sim_video, tmp_path, method, params
):
    from geoface.video import smooth_landmarks

    video, _ = sim_video
    cache = tmp_path / "cache"
    raw = _extract(video, tmp_path / "raw.parquet", segment_frames=6, cache=cache)
    smoothed = _extract(
        video,
        tmp_path / "s.parquet",
        segment_frames=6,
        cache=cache,
        smooth=method,
        smooth_params=params,
    )
    assert smoothed.info["segments"]["reused"] == 4  # the raw parts serve both
    assert smoothed.info["smoothing"]["method"] == method

    def points(path):
        lm = pd.read_parquet(path)
        xy = lm[[f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]].to_numpy()
        return np.stack([xy[:, :68], xy[:, 68:]], axis=-1), lm["time_s"].to_numpy()

    before, times = points(raw.landmarks_path)
    after, _ = points(smoothed.landmarks_path)
    expected, _ = smooth_landmarks(before, times, method, **params)
    np.testing.assert_allclose(after, expected, atol=1e-9)
    assert not np.allclose(after, before)


def test_fit_predict_explain_evaluate_accept_a_frame_table(tmp_path, capsys, monkeypatch):
    """Labels from folder names, subjects from a manifest column; folds by subject."""
    rows = []
    for s in range(3):
        for label in ("happy", "sad"):
            frames, _ = simulated_expression_frames(6, size=SIZE, label=label, seed=s)
            folder = tmp_path / "videos" / label
            folder.mkdir(parents=True, exist_ok=True)
            write_video(folder / f"s{s}.mp4", frames, fps=25)
            rows.append({"path": f"videos/{label}/s{s}.mp4", "subject": f"s{s}"})
    pd.DataFrame(rows).assign(label=lambda d: d["path"].str.split("/").str[1]).to_csv(
        tmp_path / "m.csv", index=False
    )
    monkeypatch.chdir(tmp_path)
    steps = [
        ["extract", "m.csv", "--out", "frames.parquet", "--landmarker", "dlib", "--every", "2"],
        ["extract", "videos", "--out", "folder.parquet", "--landmarker", "dlib", "--every", "2"],
        ["split", "frames.parquet", "--folds", "3", "--out", "splits.csv"],
        ["split", "folder.parquet", "--folds", "2", "--out", "by_video.csv"],
        ["fit", "frames.parquet", "--model", "logreg", "--splits", "splits.csv", "--out",
         "runs/lr", "--bootstrap", "100", "--quiet"],
        ["predict", "runs/lr", "folder.parquet", "--out", "pred.csv"],
        ["explain", "runs/lr", "--out", "ex", "--no-figures", "--bootstrap", "100"],
        ["evaluate", "pred.csv", "--truth", "folder.parquet", "--by", "label", "--out", "ev",
         "--bootstrap", "100"],
    ]  # fmt: skip
    for step in steps:
        assert main([*step, *(["--quiet"] if step[0] == "extract" else [])]) == 0, step
    out = capsys.readouterr().out
    assert "of 3 subjects in 3 folds" in out and "of 6 videos in 2 folds" in out
    folder_table = pd.read_parquet("folder.parquet")
    assert set(folder_table["label"]) == {"happy", "sad"}
    splits = pd.read_csv("splits.csv")
    frames = pd.read_parquet("frames.parquet").merge(splits, on="id")
    assert (frames.groupby("subject_x")["fold"].nunique() == 1).all()
    by_video = pd.read_csv("by_video.csv")
    assert "video" in by_video.columns
    assert (by_video.groupby("video")["fold"].nunique() == 1).all()
    predicted = pd.read_csv("pred.csv")
    assert len(predicted) == len(folder_table)


def test_phone_video_with_rotation_tag_and_variable_frame_rate(tmp_path):
    """Frames are turned upright by the container's tag; time comes from the timestamps."""
    frames, truth = simulated_expression_frames(10, size=(240, 320))
    times = np.cumsum([0, 0.04, 0.04, 0.1, 0.02, 0.04, 0.2, 0.04, 0.04, 0.033])
    video = write_video(tmp_path / "phone.mp4", frames, times=times, rotation=90)
    result = _extract(video, tmp_path / "f.parquet")
    frame = pd.read_parquet(result.path)
    stream = result.info["videos"][0]
    assert stream["rotation"] == 90 and (stream["width"], stream["height"]) == (240, 320)
    assert stream["vfr"]
    np.testing.assert_allclose(frame["time_s"], times, atol=2e-3)
    assert (frame["qc_status"] == "ok").sum() >= 8
    lm = pd.read_parquet(result.landmarks_path)
    ok = (lm["qc_status"] == "ok").to_numpy()
    found = np.stack([lm[[f"x_{i}" for i in range(68)]], lm[[f"y_{i}" for i in range(68)]]], -1)
    iod = np.linalg.norm(truth[:, 36:42].mean(1) - truth[:, 42:48].mean(1), axis=1)
    error = np.linalg.norm(found - truth, axis=2).mean(1) / iod
    assert np.median(error[ok]) < 0.15  # upright, in the displayed frame's pixels


def test_video_above_the_pixel_budget_is_one_too_large_row(sim_video, tmp_path):
    video, _ = sim_video
    result = _extract(video, tmp_path / "f.parquet", max_pixels=10_000)
    frame = pd.read_parquet(result.path)
    assert frame["qc_status"].tolist() == ["too_large"] and frame["frame"].tolist() == [-1]
    assert result.info["videos"][0]["status"] == "too_large"


def test_a_video_landmark_table_is_read_back_as_landmarks(sim_video, tmp_path, capsys):
    video, _ = sim_video
    result = _extract(video, tmp_path / "f.csv", every=4)
    again = tmp_path / "again.csv"
    assert main(["extract", str(result.landmarks_path), "--out", str(again)]) == 0
    a = FeatureTable.read(result.path).frame
    b = FeatureTable.read(again).frame
    assert b["id"].tolist() == a["id"].tolist()
    names = [c for c in a.columns if c.startswith(("tri_", "edge_"))]
    np.testing.assert_allclose(b[names].to_numpy(float), a[names].to_numpy(float), atol=1e-6)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_relative_mean_over_chunks_equals_the_whole_table_rule(sim_video, tmp_path, fmt):
    from geoface.features import extract_table

    video, _ = sim_video
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"path": [str(video)] * 3, "subject": ["a", "a", "b"]}).to_csv(
        manifest, index=False
    )
    result = _extract(
        manifest,
        tmp_path / f"f.{fmt}",
        every=2,
        segment_frames=4,
        relative="mean",
        relative_by="subject",
    )
    table = FeatureTable.read(result.path)
    assert table.info["options"]["relative"]["rule"] == "mean"
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    lm = read(result.landmarks_path)
    points = np.stack([lm[[f"x_{i}" for i in range(68)]], lm[[f"y_{i}" for i in range(68)]]], -1)
    whole = extract_table(
        points,
        lm[["id", "subject"]],
        qc=lm[["qc_status"]],
        relative="mean",
        relative_by="subject",
    )
    names = table.feature_names
    tolerance = 1e-9 if fmt == "parquet" else 1e-5  # CSV keeps 10 significant digits
    np.testing.assert_allclose(
        table.frame[names].to_numpy(float), whole.frame[names].to_numpy(float), atol=tolerance
    )
    assert (table.frame["qc_relative_fallback"] == whole.frame["qc_relative_fallback"]).all()


def test_segments_in_lockstep_write_the_same_parts_as_one_by_one(sim_video, tmp_path):
    """The batched path (for FAN on a GPU) gives the parts :func:`run_segment` gives."""
    from geoface.video import (
        Sampling,
        landmarker_spec,
        plan_segments,
        probe_video,
        resolve_landmarker,
        run_segment,
        run_segments_together,
    )

    video, _ = sim_video
    info = probe_video(video)
    kept = Sampling(every=2).select(info.times)
    _, spec = resolve_landmarker({"name": "dlib", **landmarker_spec(n_jobs=1)})
    plan = {"segment_frames": 3, "landmarker": spec, "tracker": {"redetect_every": 2}}
    one = plan_segments(info, kept, tmp_path / "one", **plan)
    lockstep = plan_segments(info, kept, tmp_path / "lockstep", **plan)
    assert len(one) == 4
    parts_one = [run_segment(t) for t in one]
    parts_lockstep = run_segments_together(lockstep)
    for a, b in zip(parts_one, parts_lockstep, strict=True):
        assert a.name == b.name
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_no_cache_leaves_no_parts_and_an_empty_range_is_one_row(sim_video, tmp_path):
    video, _ = sim_video
    result = _extract(video, tmp_path / "f.parquet", use_cache=False, every=10)
    assert pd.read_parquet(result.path)["frame"].tolist() == [0, 10]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "f.featuremap.csv",
        "f.landmarks.parquet",
        "f.meta.json",
        "f.parquet",
    ]
    late = _extract(video, tmp_path / "g.parquet", start=5.0)
    frame = pd.read_parquet(late.path)
    assert frame["qc_status"].tolist() == ["empty_video"] and frame["frame"].tolist() == [-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--smooth-beta", "2"], "without --smooth"),
        (["--relative", "first"], "--relative first"),
        (["--smooth", "savgol", "--smooth-beta", "2"], "no parameter"),
        (["--mesh", "fit"], "--mesh fit"),
        (["--coords", "aligned"], "--coords aligned"),
    ],
)
def test_video_option_mistakes_are_one_line_errors(sim_video, tmp_path, capsys, extra, message):
    video, _ = sim_video
    code = main(["extract", str(video), "--out", str(tmp_path / "f.parquet"), *extra])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
    assert not (tmp_path / "f.parquet").exists()
