"""What ``--overwrite`` may replace, and one-line errors for damaged run directories."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.features import FeatureTable, extract_table
from geoface.models import Run, fit_run, load_estimator
from geoface.runs import staged_directory
from geoface.simulate import simulate_landmarks


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    sim = simulate_landmarks(n_subjects=6, takes=1, random_state=3)
    lm = sim.landmarks.copy()
    lm[4] = np.nan  # a face whose landmarks failed: left out of every run
    path = tmp_path_factory.mktemp("tables") / "features.csv"
    extract_table(lm, sim.meta).write(path)
    return path


@pytest.fixture(scope="module")
def logreg_run(features, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "logreg"
    table = FeatureTable.read(features)
    return fit_run(table, out, model="logreg", folds=3, n_boot=100)


def _copy_run(run, tmp_path):
    return Path(shutil.copytree(run, tmp_path / "run"))


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------- --overwrite
def test_overwrite_refuses_a_folder_geoface_did_not_write(features, tmp_path, capsys):
    proj = tmp_path / "proj"
    proj.mkdir()
    table = proj / "features.csv"
    table.write_bytes(features.read_bytes())
    (proj / "notes.txt").write_text("months of work\n")
    code, _, err = _cli(
        capsys, "fit", features, "--model", "logreg", "--out", proj, "--overwrite", "--quiet"
    )
    assert code == 2
    assert "did not write" in _one_line(err)
    assert sorted(p.name for p in proj.iterdir()) == ["features.csv", "notes.txt"]


def test_overwrite_of_compare_explain_fuse_evaluate_outputs_refuses_a_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "data.csv").write_text("id\n1\n")
    with pytest.raises(GeofaceError, match="did not write"):
        with staged_directory(foreign, overwrite=True) as tmp:
            (tmp / "comparison.json").write_text("{}")
    assert (foreign / "data.csv").exists()


def test_overwrite_replaces_a_run_geoface_wrote(logreg_run, features, tmp_path):
    out = Path(shutil.copytree(logreg_run, tmp_path / "again"))
    (out / "stale.txt").write_text("old\n")
    fit_run(FeatureTable.read(features), out, model="logreg", folds=3, n_boot=100, overwrite=True)
    assert not (out / "stale.txt").exists() and (out / "run.json").exists()


def test_out_dot_overwrite_is_refused_before_any_work(features, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x\n")
    monkeypatch.chdir(work)
    calls = []
    with pytest.raises(GeofaceError, match="working folder"):
        fit_run(
            FeatureTable.read(features),
            ".",
            model="logreg",
            folds=3,
            n_boot=100,
            overwrite=True,
            progress=calls.append,
        )
    assert calls == []  # refused before any cross-validation
    assert sorted(os.listdir(work)) == ["keep.txt"]
    assert not [p for p in os.listdir(tmp_path) if ".old." in p]


# ------------------------------------------------------- damaged run directories
@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_truncated_model_file_is_a_one_line_error_in_predict_and_explain(
    logreg_run, features, tmp_path, capsys, damage
):
    run = _copy_run(logreg_run, tmp_path)
    for model_file in (run / "model").glob("*.skops"):
        data = model_file.read_bytes()
        model_file.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    code, _, err = _cli(capsys, "predict", run, features, "--out", tmp_path / "p.csv")
    assert code == 2 and "cannot load model file" in _one_line(err)
    code, _, err = _cli(
        capsys, "explain", run, "--features", features, "--out", tmp_path / "ex", "--no-figures"
    )
    assert code == 2 and "cannot load model file" in _one_line(err)


@pytest.mark.parametrize("content", [b"", b"\x00\x01not json"])
def test_emptied_xgboost_model_file_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "final.ubj"
    path.write_bytes(content)
    with pytest.raises(GeofaceError, match="cannot load model file"):
        load_estimator(path, "xgboost")


@pytest.mark.parametrize("file", ["run.json", "metrics.json", "model/model.json"])
def test_invalid_json_in_a_run_is_a_one_line_error(logreg_run, features, tmp_path, capsys, file):
    run = _copy_run(logreg_run, tmp_path)
    (run / file).write_text('{"model": "logreg", ')
    code, _, err = _cli(capsys, "predict", run, features, "--out", tmp_path / "p.csv")
    assert code == 2 and file.split("/")[-1] in _one_line(err)
    code, _, err = _cli(
        capsys, "explain", run, "--features", features, "--out", tmp_path / "ex", "--no-figures"
    )
    assert code == 2 and file.split("/")[-1] in _one_line(err)


def test_feature_sidecar_without_a_mesh_is_a_one_line_error(features, tmp_path):
    from geoface.features import sidecar_paths

    table = tmp_path / "features.csv"
    table.write_bytes(features.read_bytes())
    meta, _ = sidecar_paths(table)
    meta.write_text("{}")
    with pytest.raises(GeofaceError, match="no mesh entry"):
        FeatureTable.read(table)


def test_newer_run_directory_schema_is_refused_with_the_fix(logreg_run, tmp_path):
    import json

    run = _copy_run(logreg_run, tmp_path)
    info = json.loads((run / "run.json").read_text())
    assert info["schema_version"] == 1
    (run / "run.json").write_text(json.dumps({**info, "schema_version": 99}))
    with pytest.raises(GeofaceError, match="upgrade geoface"):
        Run(run)


def test_check_table_of_a_run_without_mesh_hash_is_a_one_line_error(logreg_run, features):
    run = Run(logreg_run)
    del run.model_info["mesh_hash"]
    with pytest.raises(GeofaceError, match="not fitted on a feature table"):
        run.check_table(FeatureTable.read(features))


# ------------------------------------------------------------ oof_predictions.csv
def test_rows_left_out_keep_subject_and_true_label(logreg_run, features):
    table = pd.read_csv(features, dtype={"id": str, "subject": str, "label": str})
    oof = pd.read_csv(logreg_run / "oof_predictions.csv", dtype=str, keep_default_na=False)
    left_out = oof["status"] != "ok"
    assert left_out.sum() == 1
    row = oof[left_out].iloc[0]
    truth = table.set_index("id").loc[row["id"]]
    assert row["fold"] == "" and row["y_pred"] == ""
    assert row["subject"] == truth["subject"] and row["y_true"] == truth["label"]


def test_rows_left_out_of_a_cnn_run_keep_subject_and_true_label(tmp_path):
    pytest.importorskip("torch")
    from baselines import resolve_recipe, train_baseline
    from geoface.simulate import write_simulated_dataset

    csv = write_simulated_dataset(
        tmp_path / "sim", n_subjects=4, takes=1, image_size=64, random_state=2
    )
    frame = pd.read_csv(csv, dtype=str)
    (csv.parent / "images" / "empty.png").write_bytes(b"")
    frame.loc[3, "path"] = "images/empty.png"
    manifest = csv.parent / "manifest_empty.csv"
    frame.to_csv(manifest, index=False)
    path = train_baseline(
        manifest,
        tmp_path / "cnn",
        recipe=resolve_recipe("infant", epochs=1, batch_size=16),
        folds=2,
        image_size=32,
        device="cpu",
        final=False,
        n_boot=200,
    )
    oof = pd.read_csv(path / "oof_predictions.csv", dtype=str, keep_default_na=False)
    assert oof.loc[3, "status"] == "unreadable" and oof.loc[3, "y_pred"] == ""
    assert oof.loc[3, "subject"] == frame.loc[3, "subject"]
    assert oof.loc[3, "y_true"] == frame.loc[3, "label"]
