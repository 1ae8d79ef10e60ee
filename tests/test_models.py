import json

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.features import FeatureTable, extract_table, feature_mirror
from geoface.models import MODELS, Run, cross_validate, fit_run, get_model_spec, prepare_data
from geoface.simulate import simulate_landmarks
from geoface.splits import make_splits


@pytest.fixture(scope="module")
def table():
    sim = simulate_landmarks(n_subjects=8, takes=2, random_state=4)
    lm = sim.landmarks.copy()
    lm[0] = np.nan  # one failed face
    return extract_table(lm, sim.meta)


@pytest.fixture(scope="module")
def xgb_run(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xgb"
    return fit_run(table, out, model="xgb", folds=4, seed=1, n_boot=300)


def test_run_directory_is_complete(xgb_run, table):
    names = {p.name for p in xgb_run.iterdir()}
    assert {
        "metrics.json",
        "oof_predictions.csv",
        "splits.csv",
        "run.json",
        "model",
        "figures",
    } <= names
    metrics = json.loads((xgb_run / "metrics.json").read_text())
    assert metrics["excluded"] == {"qc_nonfinite_landmarks": 1}
    assert metrics["n_used"] == len(table.frame) - 1
    assert metrics["balanced_accuracy"] > 0.6  # chance is 1/7
    ci = metrics["ci95"]["balanced_accuracy"]
    assert ci["low"] <= metrics["balanced_accuracy"] <= ci["high"]
    assert metrics["chance"]["uniform"]["balanced_accuracy"] == pytest.approx(1 / 7)
    assert len(metrics["overfitting"]["folds"]) == 4
    fold0 = metrics["overfitting"]["folds"][0]
    assert fold0["gap_accuracy"] == pytest.approx(fold0["train_accuracy"] - fold0["test_accuracy"])
    run = json.loads((xgb_run / "run.json").read_text())
    assert run["seed"] == 1 and run["model"] == "xgb" and "xgboost" in run["versions"]
    assert run["timings_seconds"]["total"] > 0
    for name in ("confusion_matrix", "per_class_f1", "overfitting"):
        assert (xgb_run / "figures" / f"{name}.pdf").exists()
        assert (xgb_run / "figures" / f"{name}.png").exists()
    assert (xgb_run / "model" / "final.ubj").exists()
    assert len(list((xgb_run / "model").glob("fold_*.ubj"))) == 4


def test_oof_keeps_every_row(xgb_run, table):
    oof = pd.read_csv(xgb_run / "oof_predictions.csv", dtype={"id": str})
    assert oof["id"].tolist() == table.frame["id"].tolist()
    assert oof.loc[0, "status"] == "qc_nonfinite_landmarks" and pd.isna(oof.loc[0, "y_pred"])
    ok = oof["status"] == "ok"
    proba = oof.loc[ok, [c for c in oof.columns if c.startswith("proba_")]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # out-of-fold: each row's fold model never saw its subject
    splits = pd.read_csv(xgb_run / "splits.csv", dtype=str)
    assert splits.groupby("subject")["fold"].nunique().max() == 1


def test_same_seed_same_results(table, xgb_run, tmp_path):
    again = fit_run(table, tmp_path / "again", model="xgb", folds=4, seed=1, n_boot=300)
    a = pd.read_csv(xgb_run / "oof_predictions.csv")
    b = pd.read_csv(again / "oof_predictions.csv")
    pd.testing.assert_frame_equal(a, b)
    ma = json.loads((xgb_run / "metrics.json").read_text())
    mb = json.loads((again / "metrics.json").read_text())
    assert ma["ci95"] == mb["ci95"]


@pytest.mark.parametrize("model", ["xgb", "svm", "svm-linear", "logreg", "rf", "ensemble"])
def test_save_load_predict_gives_identical_probabilities(table, tmp_path, model):
    path = fit_run(table, tmp_path / model, model=model, folds=2, seed=0, n_boot=200)
    run = Run(path)
    pred = run.predict(table)
    _, present = run.final_model()
    from geoface.models._cv import fit_model
    from geoface.models._data import prepare_data as prep

    data = prep(table, target="label", group="subject")
    spec = get_model_spec(model)
    assert json.loads((path / "run.json").read_text())["mirror_augmentation"] is spec.mirror
    mirror = feature_mirror(table.mesh) if spec.mirror else None
    fresh, fresh_present, _ = fit_model(
        spec, data.X, data.y, data.groups, seed=0, n_classes=len(data.classes), mirror=mirror
    )
    np.testing.assert_array_equal(present, fresh_present)
    ok = pred["status"] == "ok"
    cols = [f"proba_{c}" for c in run.classes]
    np.testing.assert_allclose(
        pred.loc[ok, cols].to_numpy(), fresh.predict_proba(data.X), rtol=1e-6, atol=1e-9
    )
    assert pred.loc[~ok, "y_pred"].isna().all()


def test_permutation_p_value_small_for_signal_large_for_shuffled(table, tmp_path):
    real = fit_run(table, tmp_path / "real", model="logreg", folds=2, permutations=9, n_boot=200)
    p_real = json.loads((real / "metrics.json").read_text())["permutation_test"]["p_value"]
    assert p_real == pytest.approx(0.1)  # the smallest p possible with 9 permutations
    shuffled = table.frame.copy()
    rng = np.random.default_rng(0)
    shuffled["label"] = rng.permutation(shuffled["label"].to_numpy())
    noise = FeatureTable(shuffled, table.mesh, table.info)
    null = fit_run(noise, tmp_path / "null", model="logreg", folds=2, permutations=9, n_boot=200)
    p_null = json.loads((null / "metrics.json").read_text())["permutation_test"]["p_value"]
    assert p_null > 0.2


def test_tuning_reports_chosen_parameters(table, tmp_path):
    path = fit_run(table, tmp_path / "tuned", model="logreg", folds=2, tune=True, n_boot=200)
    metrics = json.loads((path / "metrics.json").read_text())
    assert len(metrics["tuned_params"]) == 2
    assert all(p["C"] in MODELS["logreg"].search_space["C"] for p in metrics["tuned_params"])
    assert metrics["final_params"]["C"] in MODELS["logreg"].search_space["C"]


def test_any_class_column_can_be_the_target(table, tmp_path):
    frame = table.frame.copy()
    frame["au12"] = np.where(frame["label"] == "happy", "present", "absent")
    t = FeatureTable(frame, table.mesh, table.info)
    path = fit_run(t, tmp_path / "au", model="logreg", target="au12", folds=2, n_boot=200)
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["classes"] == ["absent", "present"] and metrics["balanced_accuracy"] > 0.8


def test_bad_inputs_are_explained_or_counted(table, tmp_path):
    with pytest.raises(GeofaceError, match=r"model='xgboost' is not one of \{'xgb', 'svm'"):
        get_model_spec("xgboost")
    with pytest.raises(GeofaceError, match="no 'emotion' column for --target"):
        prepare_data(table, target="emotion", group="subject")
    with pytest.raises(GeofaceError, match="no 'infant' column for --group"):
        prepare_data(table, target="label", group="infant")
    one = FeatureTable(table.frame.assign(label="happy"), table.mesh, table.info)
    with pytest.raises(GeofaceError, match=r"has 1 class \('happy'\).*at least two"):
        prepare_data(one, target="label", group="subject")
    frame = table.frame.copy()
    frame.loc[3, "tri_000_area"] = np.inf
    frame.loc[4, "edge_001_strain"] = np.nan
    data = prepare_data(
        FeatureTable(frame, table.mesh, table.info), target="label", group="subject"
    )
    assert data.excluded == {"nonfinite_features": 2, "qc_nonfinite_landmarks": 1}
    text = table.frame.copy()
    text["tri_002_area"] = text["tri_002_area"].astype(str)
    text.loc[5, "tri_002_area"] = "oops"
    with pytest.raises(GeofaceError, match=r"\['tri_002_area'\] hold non-numeric values"):
        prepare_data(FeatureTable(text, table.mesh, table.info), target="label", group="subject")
    other = make_splits(table.frame, folds=2)
    other.frame.loc[0, "id"] = "stranger"
    with pytest.raises(GeofaceError, match="names 1 id\\(s\\) the table lacks"):
        prepare_data(table, target="label", group="subject", splits=other)
    existing = tmp_path / "exists"
    existing.mkdir()
    with pytest.raises(GeofaceError, match="exists; choose another --out or add --overwrite"):
        fit_run(table, existing)


def test_rows_kept_as_the_largest_of_several_faces_are_used(table, xgb_run):
    frame = table.frame.copy()
    frame.loc[[1, 2], "qc_status"] = ["multiple_faces", "fallback_box"]
    t = FeatureTable(frame, table.mesh, table.info)
    data = prepare_data(t, target="label", group="subject")
    assert data.used[[1, 2]].all() and data.excluded == {"qc_nonfinite_landmarks": 1}
    pred = Run(xgb_run).predict(t)
    assert (pred.loc[[1, 2], "status"] == "ok").all()


def test_predict_refuses_other_meshes_and_features(xgb_run, table):
    run = Run(xgb_run)
    other = extract_table(simulate_landmarks(n_subjects=2, takes=1).landmarks, mesh="fit")
    with pytest.raises(GeofaceError, match=r"built on mesh \w+ but the model on"):
        run.predict(other)
    info = dict(table.info, feature_names=table.feature_names[:-1])
    fewer = FeatureTable(table.frame.drop(columns=table.feature_names[-1]), table.mesh, info)
    with pytest.raises(GeofaceError, match="feature names differ"):
        run.predict(fewer)


def test_cross_validate_handles_a_class_missing_from_a_training_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = np.r_[np.zeros(18, int), np.ones(18, int), np.full(4, 2)]
    groups = np.r_[np.arange(36) % 6, np.full(4, 9)]
    folds = np.where(groups == 9, 2, groups % 2)  # class 2 exists only in fold 2
    res = cross_validate(get_model_spec("logreg"), X, y, groups, folds, 3, keep_models=False)
    assert (res.proba[folds == 2, 2] == 0).all()  # its training folds never saw class 2
    assert (res.proba[folds == 0, 2] > 0).all()
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0)


def test_mirror_augmentation_follows_the_model_default_and_can_be_turned_off(table, tmp_path):
    tree = next(name for name, spec in MODELS.items() if spec.mirror)
    off = fit_run(table, tmp_path / "off", model=tree, folds=2, n_boot=100, mirror=False)
    assert json.loads((off / "run.json").read_text())["mirror_augmentation"] is False
    # a table whose columns are not the mesh's own features: the default is skipped, with a note
    info = dict(table.info, feature_names=table.feature_names[:-1])
    fewer = FeatureTable(table.frame.drop(columns=table.feature_names[-1]), table.mesh, info)
    notes = []
    path = fit_run(
        fewer, tmp_path / "fewer", model=tree, folds=2, n_boot=100, progress=notes.append
    )
    run = json.loads((path / "run.json").read_text())
    assert run["mirror_augmentation"] is False
    assert "skipped" in run["mirror_note"] and any("skipped" in n for n in notes)
    with pytest.raises(GeofaceError, match="mesh's own feature columns"):
        fit_run(fewer, tmp_path / "asked", model=tree, folds=2, n_boot=100, mirror=True)
