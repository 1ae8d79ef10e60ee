"""Video analysis on simulated frame tables: person-specific baselines (quiet, marked, streamed),
predictions over time as segments and figures, evaluation against a coding file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.features import FeatureTable, extract_table, quiet_reference_mask, rebase_frames

from ._video_frames import EPISODES, frame_table, simulate_track

TOLERANCE_S = 0.3  # onsets and offsets of segments against the known half-amplitude times


def _strains(table: FeatureTable) -> list[str]:
    return [c for c in table.feature_names if c.endswith("_strain")]


# ------------------------------------------------------------------ baselines
def test_quiet_baseline_makes_a_neutral_frame_s_strains_zero():
    lm, meta = simulate_track(noise=0.0, jitter_deg=0.0)
    table = extract_table(lm, meta, relative="quiet", relative_by="video", relative_order="time_s")
    frame = table.frame
    strains = frame[_strains(table)].to_numpy()
    rest = (frame["amplitude"] == 0).to_numpy()
    apex = (frame["true"] == "happy").to_numpy()
    assert np.abs(strains[rest]).max() < 1e-9
    assert np.abs(strains[apex]).mean() > 0.02
    assert table.info["options"]["relative"]["rule"] == "quiet"


def test_quiet_frames_are_resting_frames_with_noise_and_head_motion():
    lm, meta = simulate_track(seed=3)
    table = extract_table(lm, meta)
    mask = quiet_reference_mask(
        table.features, meta["video"], meta["time_s"].to_numpy(), fraction=0.2, min_frames=10
    )
    assert mask.sum() == 20  # 20 % of 100 frames
    assert set(meta.loc[mask, "true"]) == {"neutral"}
    # a neutral frame's strains are close to 0 once referenced, far below the apex
    rel = extract_table(lm, meta, relative="quiet", relative_by="video", relative_order="time_s")
    s = rel.frame[_strains(rel)]
    apex = s[meta["true"] == "happy"].mean().abs()
    moved = apex.nlargest(20).index  # the strains the smile moves most
    neutral = s.loc[meta["amplitude"] == 0, moved].mean().abs()
    assert neutral.max() < 0.1 * apex[moved].min()


def test_quiet_rule_refuses_bad_fractions():
    X = np.zeros((4, 3))
    with pytest.raises(GeofaceError, match=r"fraction=0 must lie in \(0, 1\]"):
        quiet_reference_mask(X, np.zeros(4), fraction=0)
    with pytest.raises(GeofaceError, match="min_frames"):
        quiet_reference_mask(X, np.zeros(4), min_frames=0)


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Two simulated tracks (10 s at 10 fps), half a second of no_face in each."""
    table = frame_table(gap=(5.0, 5.5))
    path = tmp_path_factory.mktemp("frames") / "frames.parquet"
    table.write(path)
    return path


@pytest.mark.parametrize("rule", ["quiet", "first", "mean", "marked"])
def test_streamed_rebase_equals_the_whole_table_at_once(tmp_path, frames, rule):
    table = FeatureTable.read(frames)
    frame = table.frame.assign(base=table.frame["true"] == "neutral")
    frame["track"] = frame["video"] + "#" + frame["track_id"].astype(str)
    source = tmp_path / "in.parquet"
    FeatureTable(frame=frame, mesh=table.mesh, info=table.info).write(source)
    out = tmp_path / f"{rule}.parquet"
    done = rebase_frames(
        source, out, by=("track",), rule=rule, mark="base", batch_rows=37, min_frames=5
    )
    streamed = FeatureTable.read(out)
    # the same rule on the whole table in memory
    usable = table.usable
    from geoface.features._reference import reference_mask, relative_to_reference

    X = table.features
    is_ref = reference_mask(
        frame,
        rule,
        group="track",
        order="time_s",
        mark="base",
        usable=usable,
        features=X,
        min_frames=5,
    )
    res = relative_to_reference(X, frame["track"].to_numpy(), is_ref, fallback=X[0], usable=usable)
    own = usable & ~res.fallback  # rows with a reference other than the mesh template
    np.testing.assert_allclose(streamed.features[own], res.features[own], atol=1e-9)
    assert np.isnan(streamed.features[~usable]).all()
    assert streamed.frame["qc_relative_reference"].to_numpy().tolist() == is_ref.tolist()
    assert streamed.frame["qc_relative_fallback"].to_numpy().tolist() == res.fallback.tolist()
    assert done["n_reference"] == int(is_ref.sum())
    assert done["n_fallback"] == int(res.fallback.sum()) == (2 if rule == "first" else 0)
    assert streamed.info["options"]["relative"]["rule"] == rule
    assert list(streamed.frame["id"]) == list(frame["id"])


def test_rebase_refuses_an_unsorted_track_and_a_relative_table(tmp_path, frames):
    table = FeatureTable.read(frames)
    shuffled = table.frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    path = tmp_path / "shuffled.parquet"
    FeatureTable(frame=shuffled, mesh=table.mesh, info=table.info).write(path)
    with pytest.raises(GeofaceError, match="not in time_s order"):
        rebase_frames(path, tmp_path / "x.parquet")
    rebase_frames(frames, tmp_path / "once.parquet", rule="first")
    with pytest.raises(GeofaceError, match="already relative"):
        rebase_frames(tmp_path / "once.parquet", tmp_path / "twice.parquet")


def test_rebase_command_marked_by_a_coding_file(tmp_path, frames, capsys):
    coding = tmp_path / "neutral.csv"
    pd.DataFrame(
        {
            "video": ["infant01/visit1", "infant02/visit1"],
            "onset_s": [0.0, 0.0],
            "offset_s": [1.5, 1.5],
            "label": ["Neutral", "neutral"],
        }
    ).to_csv(coding, index=False)
    out = tmp_path / "rebased.csv"
    argv = ["rebase", str(frames), "--out", str(out), "--rule", "marked"]
    assert main([*argv, "--coding", str(coding), "--layout", "events"]) == 0
    printed = capsys.readouterr().out
    assert "30 frames inside 'neutral' events" in printed
    rebased = FeatureTable.read(out)
    ref = rebased.frame["qc_relative_reference"].astype(bool)
    assert ref.sum() == 30 and (rebased.frame.loc[ref, "time_s"] < 1.5).all()
    assert rebased.info["options"]["relative"]["mark"] == "given"
    # options that belong to another rule are refused in one line, before any work
    assert main([*argv[:-2], "--mark", "x", "--out", str(tmp_path / "y.csv")]) == 2
    assert "--mark names a baseline for --rule marked" in capsys.readouterr().err
    assert main([*argv]) == 2
    assert "needs exactly one of --mark" in capsys.readouterr().err


# ------------------------------------------------------------------ predictions over time
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A logistic-regression run on simulated faces of three classes."""
    from geoface.models import fit_run
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(
        n_subjects=6, takes=4, classes=("neutral", "happy", "surprise"), random_state=0
    )
    table = extract_table(sim.landmarks, sim.meta)
    out = tmp_path_factory.mktemp("run") / "run"
    fit_run(table, out, model="logreg", folds=3, n_boot=100)
    return out


def write_boris(path, episodes=EPISODES):
    """A BORIS tabular export coding the known episodes of both simulated videos."""
    rows = []
    for video in ("infant01/visit1", "infant02/visit1"):
        for label, on, off in episodes:
            for kind, time in (("START", on), ("STOP", off)):
                rows.append(
                    {
                        "Observation id": "obs",
                        "Media file name": f"{video}.mp4",
                        "Subject": "infant",
                        "Behavior": label,
                        "Behavior type": kind,
                        "Time": time,
                    }
                )
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def predicted(run_dir, frames, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pred")
    coding = write_boris(folder / "boris.tsv")
    argv = ["predict", str(run_dir), str(frames), "--out", str(folder / "pred.csv")]
    argv += ["--events", str(coding), "--layout", "boris"]
    argv += ["--segments", str(folder / "segments.csv"), "--smooth", "median", "--window", "0.5"]
    argv += ["--min-duration", "0.5", "--figures", str(folder / "figures")]
    assert main(argv) == 0
    return folder


def test_segments_recover_known_onsets_and_offsets(predicted):
    seg = pd.read_csv(predicted / "segments.csv")
    for video in ("infant01/visit1", "infant02/visit1"):
        part = seg[(seg["video"] == video) & (seg["label"] != "neutral")]
        assert len(part) == len(EPISODES), part
        for (label, onset, offset), row in zip(EPISODES, part.itertuples(), strict=True):
            assert row.label == label
            assert abs(row.onset_s - onset) <= TOLERANCE_S, (row, onset)
            assert abs(row.offset_s - offset) <= TOLERANCE_S, (row, offset)
    record = json.loads((predicted / "pred.predict.json").read_text())
    assert record["events"]["counts"] == {"ok": 4}
    assert record["segments"]["smooth"] == "median" and record["segments"]["window_s"] == 0.5
    assert record["segments"]["min_duration_s"] == 0.5


def test_predictions_of_frames_keep_the_gap_and_time(predicted):
    pred = pd.read_csv(predicted / "pred.csv")
    assert {"video", "time_s", "track_id", "frame"} <= set(pred.columns)
    gap = pred["time_s"].between(5.0, 5.45)
    assert (pred.loc[gap, "status"] == "qc_no_face").all() and gap.sum() == 10
    assert pred.loc[gap, "proba_happy"].isna().all()


def test_time_course_figures_are_written_and_readable(predicted):
    figures = sorted((predicted / "figures").glob("*.png"))
    assert [f.name for f in figures] == ["infant01__visit1.png", "infant02__visit1.png"]
    from PIL import Image

    for f in figures:
        assert f.stat().st_size > 10_000
        with Image.open(f) as im:
            assert im.size[0] > 600 and len(np.unique(np.asarray(im.convert("L")))) > 10


def test_frame_options_without_segments_are_refused(run_dir, frames, tmp_path, capsys):
    argv = ["predict", str(run_dir), str(frames), "--out", str(tmp_path / "p.csv")]
    assert main([*argv, "--smooth", "ema"]) == 2
    assert "--smooth shape(s) segments: add --segments" in capsys.readouterr().err
    assert main([*argv, "--segments", str(tmp_path / "s.csv"), "--events", "x.tsv"]) == 2
    assert "--events draw(s) coded events: add --figures" in capsys.readouterr().err
    assert main([*argv, "--segments", str(tmp_path / "s.csv"), "--window", "1"]) == 2
    assert "add --smooth median or ema" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_evaluate_frames_against_a_coding_file(predicted, tmp_path, capsys):
    coding = write_boris(tmp_path / "boris.tsv")
    out = tmp_path / "eval"
    argv = ["evaluate", str(predicted / "pred.csv"), "--by", "video", "--out", str(out)]
    argv += ["--events", str(coding), "--layout", "boris", "--tolerance", "0.3"]
    argv += ["--smooth", "median", "--min-duration", "0.5", "--bootstrap", "100"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "frame labels from" in printed and "overall" in printed
    agreement = pd.read_csv(out / "event_agreement.csv").set_index("class")
    assert agreement.loc["overall", "n_coded"] == 4
    assert agreement.loc["happy", "recall"] == 1.0 and agreement.loc["surprise", "recall"] == 1.0
    assert (out / "segments.csv").exists() and (out / "events.csv").exists()
    assert "## Events against the coding file" in (out / "report.md").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    # frames outside every coded event have no label: only the coded frames are scored
    assert metrics["status_counts"]["missing_target"] > 0
    assert metrics["overall"]["accuracy"] > 0.8
    info = json.loads((out / "evaluate.json").read_text())
    assert info["events"]["tolerance_s"] == 0.3
    # event options without --events are refused
    assert main([*argv[:6], "--tolerance", "1", "--overwrite"]) == 2
    assert "belong(s) with --events" in capsys.readouterr().err


def test_region_contributions_over_time_as_a_heat_map(run_dir, frames, tmp_path):
    from geoface.evaluate import region_contributions_over_time
    from geoface.explain import explain_run
    from geoface.plotting import plot_region_time, save_figure

    table = FeatureTable.read(frames)
    one = table.frame["video"] == "infant01/visit1"
    part = FeatureTable(
        frame=table.frame[one].reset_index(drop=True), mesh=table.mesh, info=table.info
    )
    expl = explain_run(run_dir, part, final=True)
    long = region_contributions_over_time(expl, part.frame, class_name="happy")
    assert set(long.columns) >= {"time_s", "region", "value", "class"}
    by_time = long.pivot_table(index="time_s", columns="region", values="value")
    # the mouth drives 'happy' at the apex, not at rest
    mouth = [c for c in by_time.columns if "mouth" in c]
    apex = by_time.loc[3.0, mouth].sum()
    rest = by_time.loc[0.5, mouth].sum()
    assert apex > rest
    fig = plot_region_time(long, title="happy")
    written = save_figure(fig, tmp_path / "regions", formats=("png",), dpi=80)
    assert written[0].stat().st_size > 5_000


def test_rebase_reads_and_writes_csv_as_parquet(tmp_path, frames):
    table = FeatureTable.read(frames)
    csv = tmp_path / "frames.csv"
    table.write(csv)
    rebase_frames(frames, tmp_path / "a.parquet", rule="quiet", batch_rows=50)
    rebase_frames(csv, tmp_path / "b.csv", rule="quiet", batch_rows=50)
    a, b = FeatureTable.read(tmp_path / "a.parquet"), FeatureTable.read(tmp_path / "b.csv")
    np.testing.assert_allclose(a.features, b.features, atol=1e-6, equal_nan=True)  # CSV: 10 digits
    assert a.frame["qc_relative_reference"].tolist() == b.frame["qc_relative_reference"].tolist()


def test_streamed_quiet_rule_follows_interleaved_tracks(tmp_path, frames):
    # two faces in one video (faces=all): their rows alternate in time order
    table = FeatureTable.read(frames)
    frame = table.frame.assign(
        track_id=(table.frame["video"] == "infant02/visit1").astype(int), video="v"
    )
    frame = frame.sort_values(["time_s", "track_id"], kind="stable").reset_index(drop=True)
    source = tmp_path / "two_faces.parquet"
    FeatureTable(frame=frame, mesh=table.mesh, info=table.info).write(source)
    rebase_frames(source, tmp_path / "out.parquet", batch_rows=29)
    streamed = FeatureTable.read(tmp_path / "out.parquet")
    usable = frame["qc_status"].eq("ok").to_numpy()
    expected = quiet_reference_mask(
        frame[table.feature_names].to_numpy(),
        frame["track_id"].to_numpy(),
        frame["time_s"].to_numpy(),
        usable=usable,
    )
    assert streamed.frame["qc_relative_reference"].tolist() == expected.tolist()
