import json

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    from geoface.features import extract_table
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=10, takes=2, random_state=8)
    lm = sim.landmarks.copy()
    lm[5] = np.nan
    path = tmp_path_factory.mktemp("tables") / "features.csv"
    extract_table(lm, sim.meta).write(path)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_split_fit_predict_end_to_end(tmp_path, capsys, features):
    code, out, _ = run(
        capsys, "split", features, "--out", tmp_path / "splits.csv", "--folds", 5, "--seed", 3
    )
    assert code == 0 and "139 faces of 10 subjects in 5 folds" in out
    assert "qc_nonfinite_landmarks 1" in out
    code, out, _ = run(
        capsys,
        "fit",
        features,
        "--model",
        "svm",
        "--splits",
        tmp_path / "splits.csv",
        "--out",
        tmp_path / "run",
        "--bootstrap",
        300,
    )
    assert code == 0
    assert "balanced accuracy" in out and "chance:" in out and "overfitting:" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["balanced_accuracy"] > 0.7  # chance is 1/7
    assert metrics["ci95"]["balanced_accuracy"]["low"] > 1 / 7
    splits_in_run = pd.read_csv(tmp_path / "run" / "splits.csv")
    pd.testing.assert_frame_equal(splits_in_run, pd.read_csv(tmp_path / "splits.csv"))
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["mirror_augmentation"] is True  # the default
    assert run_json["command"][:2] == ["geoface", "fit"] or run_json["command"][0] == "geoface"
    code, out, _ = run(
        capsys, "predict", tmp_path / "run", features, "--out", tmp_path / "pred.csv"
    )
    assert code == 0 and "ok 139" in out and "qc_nonfinite_landmarks 1" in out
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 140 and pd.isna(pred.loc[5, "y_pred"])
    assert list(pred.columns[:5]) == ["id", "subject", "label", "status", "y_pred"]
    assert (pred["y_pred"] == pred["label"]).mean() > 0.9  # final model on its own data


def test_fit_without_splits_and_loso(tmp_path, capsys, features):
    code, out, _ = run(
        capsys,
        "fit",
        features,
        "--model",
        "logreg",
        "--folds",
        "loso",
        "--out",
        tmp_path / "loso",
        "--bootstrap",
        200,
        "--no-mirror",
        "--quiet",
    )
    assert code == 0 and "10 folds" in out
    assert "fold 0:" not in out  # --quiet
    info = json.loads((tmp_path / "loso" / "run.json").read_text())
    assert info["mirror_augmentation"] is False and info["mirror_note"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "xgboost"], "invalid choice: 'xgboost'"),
        (["--target", "emotion"], "no 'emotion' column"),
        (["--group", "infant"], "no 'infant' column"),
        (["--folds", "50"], "only 10 subjects for 50 folds"),
    ],
)
def test_fit_errors_are_one_line(tmp_path, capsys, features, args, message):
    code, _, err = run(capsys, "fit", features, "--out", tmp_path / "r", *args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert ("--" + args[0].lstrip("-")) in err  # names the option to change
    assert not (tmp_path / "r").exists()


def test_predict_refuses_foreign_tables(tmp_path, capsys, features):
    from geoface.features import extract_table
    from geoface.simulate import simulate_landmarks

    assert (
        run(
            capsys,
            "fit",
            features,
            "--model",
            "logreg",
            "--folds",
            2,
            "--out",
            tmp_path / "run",
            "--bootstrap",
            200,
            "--quiet",
        )[0]
        == 0
    )
    other = tmp_path / "other.csv"
    extract_table(simulate_landmarks(n_subjects=2, takes=1).landmarks, mesh="fit").write(other)
    code, _, err = run(capsys, "predict", tmp_path / "run", other, "--out", tmp_path / "p.csv")
    assert code == 2 and "re-extract it with the model's mesh" in err
    assert not (tmp_path / "p.csv").exists()
    code, _, err = run(capsys, "predict", tmp_path, features, "--out", tmp_path / "p.csv")
    assert code == 2 and "is not a geoface run directory" in err
