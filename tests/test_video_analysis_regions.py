"""Explanations of frames kept as region sums only: equal to the full values summed by region,
written and read back, and enough for the region × time heat map."""

from __future__ import annotations

import numpy as np
import pytest

from geoface.cli import main
from geoface.explain import Explanation, RegionExplanation, explain_run, region_table
from geoface.features import FeatureTable

from ._video_frames import frame_table


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A logistic-regression run and a frame table of two simulated tracks (a gap in each)."""
    from geoface.features import extract_table
    from geoface.models import fit_run
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(
        n_subjects=6, takes=4, classes=("neutral", "happy", "surprise"), random_state=0
    )
    folder = tmp_path_factory.mktemp("regions")
    fit_run(extract_table(sim.landmarks, sim.meta), folder / "run", model="logreg", folds=3)
    frame_table(gap=(5.0, 5.5)).write(folder / "frames.parquet")
    return folder


def test_region_sums_equal_the_full_values_summed(setup):
    table = FeatureTable.read(setup / "frames.parquet")
    full = explain_run(setup / "run", table, final=True)
    sums = explain_run(setup / "run", table, final=True, region_sums_only=True, chunk_rows=7)
    assert isinstance(sums, RegionExplanation)
    assert sums.region_values().shape == (full.n_faces, len(full.hierarchy.regions), 3)
    np.testing.assert_allclose(sums.region_values(), full.region_values(), atol=1e-9)
    np.testing.assert_allclose(sums.output, full.output, atol=1e-9)
    assert sums.predicted.tolist() == full.predicted.tolist()
    assert sums.ids.tolist() == full.ids.tolist()
    assert sums.info["skipped"] == full.info["skipped"] == {"qc_no_face": 10}
    a = region_table(full, n_boot=20)
    b = region_table(sums, n_boot=20)
    np.testing.assert_allclose(a["mean_abs_total"], b["mean_abs_total"], atol=1e-9)


def test_explain_command_writes_region_sums_for_the_heat_map(setup, tmp_path, capsys):
    from geoface.evaluate import region_contributions_over_time

    out = tmp_path / "expl"
    argv = ["explain", str(setup / "run"), "--features", str(setup / "frames.parquet")]
    argv += ["--final", "--out", str(out), "--bootstrap", "20"]
    assert main([*argv, "--region-sums-only", "--chunk-rows", "30"]) == 0
    assert (out / "region_values.npz").exists() and not (out / "shap_values.npz").exists()
    assert (out / "regions.csv").exists() and not (out / "triangles.csv").exists()
    expl = Explanation.read(out)
    assert isinstance(expl, RegionExplanation)
    frames = FeatureTable.read(setup / "frames.parquet").frame
    long = region_contributions_over_time(expl, frames, class_name="happy")
    full = explain_run(setup / "run", FeatureTable.read(setup / "frames.parquet"), final=True)
    expected = region_contributions_over_time(full, frames, class_name="happy")
    np.testing.assert_allclose(long["value"], expected["value"], atol=1e-6)
    assert long[["id", "region"]].equals(expected[["id", "region"]])
    capsys.readouterr()


def test_long_frame_tables_need_region_sums(setup, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("geoface.cli._explain.FRAME_ROWS_FULL", 50)
    argv = ["explain", str(setup / "run"), "--features", str(setup / "frames.parquet")]
    argv += ["--final", "--no-figures", "--bootstrap", "0", "--out"]
    assert main([*argv, str(tmp_path / "a")]) == 2
    assert "add --region-sums-only" in capsys.readouterr().err
    assert main([*argv, str(tmp_path / "b"), "--chunk-rows", "5"]) == 2
    assert "--chunk-rows sets the chunks of --region-sums-only" in capsys.readouterr().err
    assert main([*argv, str(tmp_path / "c"), "--max-rows", "40"]) == 0  # a sample is fine
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
