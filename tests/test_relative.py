"""Person-specific references, mirror augmentation and the ensemble model."""

import json

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.features import extract_table, feature_mirror
from geoface.features._reference import reference_mask, relative_to_reference
from geoface.models import Run, fit_run, get_model_spec
from geoface.models._cv import fit_model, mirror_augment
from geoface.simulate import simulate_landmarks


def _frame():
    return pd.DataFrame(
        {
            "subject": ["a", "a", "a", "b", "b", "c"],
            "frame": [3, 1, 2, 5, 4, 1],
            "base": [0, 1, 0, 1, 1, 0],
            "label": ["happy", "neutral", "sad", "neutral", "neutral", "fear"],
        }
    )


def test_mean_reference_is_the_mean_of_the_other_faces_never_the_row():
    frame = _frame()
    X = np.arange(12, dtype=float).reshape(6, 2) ** 1.5
    fb = np.array([100.0, 200.0])
    is_ref = reference_mask(frame, "mean", group="subject")
    res = relative_to_reference(X, frame["subject"], is_ref, fallback=fb)
    np.testing.assert_allclose(res.features[0], X[0] - X[[1, 2]].mean(axis=0))
    np.testing.assert_allclose(res.features[3], X[3] - X[4])
    # subject c has one face: it falls back, it is never its own reference (never all zeros)
    assert res.fallback.tolist() == [False] * 5 + [True]
    np.testing.assert_allclose(res.features[5], X[5] - fb)


def test_first_rule_orders_by_a_column_and_reads_no_label():
    frame = _frame()
    is_ref = reference_mask(frame, "first", group="subject", order="frame")
    assert is_ref.tolist() == [False, True, False, False, True, True]
    # labels play no part: shuffling them changes nothing
    shuffled = frame.assign(label=frame["label"].to_numpy()[::-1])
    assert (reference_mask(shuffled, "first", group="subject", order="frame") == is_ref).all()
    X = np.random.default_rng(0).normal(size=(6, 3))
    fb = np.zeros(3)
    res = relative_to_reference(X, frame["subject"], is_ref, fallback=fb)
    np.testing.assert_allclose(res.features[0], X[0] - X[1])
    np.testing.assert_allclose(res.features[2], X[2] - X[1])
    # the reference rows themselves have no other reference in their group: fallback
    assert res.fallback.tolist() == [False, True, False, False, True, True]
    np.testing.assert_allclose(res.features[1], X[1] - fb)


def test_marked_rule_and_unusable_rows():
    frame = _frame()
    is_ref = reference_mask(frame, "marked", group="subject", mark="base")
    assert is_ref.tolist() == [False, True, False, True, True, False]
    X = np.random.default_rng(1).normal(size=(6, 2))
    X[4] = np.nan  # a failed face is never a reference and stays as it is
    res = relative_to_reference(X, frame["subject"], is_ref, fallback=np.zeros(2))
    assert not res.is_reference[4]
    assert np.isnan(res.features[4]).all()
    assert res.fallback[3]  # its only other reference failed
    with pytest.raises(GeofaceError, match="mark=COLUMN"):
        reference_mask(frame, "marked", group="subject")
    with pytest.raises(GeofaceError, match="rule='median' is not one of"):
        reference_mask(frame, "median", group="subject")
    with pytest.raises(GeofaceError, match="group='session' is not a column"):
        reference_mask(frame, "first", group="session")


def test_extract_table_relative_option_is_recorded_and_mirror_equivariant(mesh):
    sim = simulate_landmarks(n_subjects=3, takes=1, random_state=2)
    plain = extract_table(sim.landmarks, sim.meta)
    rel = extract_table(sim.landmarks, sim.meta, relative="mean")
    auto = extract_table(sim.landmarks, sim.meta, relative="auto")
    info = rel.info["options"]["relative"]
    assert info["rule"] == "mean" and info["by"] == "subject"
    assert auto.info["options"]["relative"]["rule"] == "mean"
    assert plain.info["options"]["relative"]["rule"] == "none"
    assert "qc_relative_fallback" in rel.frame and not rel.frame["qc_relative_fallback"].any()
    names = rel.feature_names
    subj = sim.meta["subject"].to_numpy()
    X = plain.frame[names].to_numpy()
    first = np.flatnonzero(subj == subj[0])
    expected = X[first[0]] - X[first[1:]].mean(axis=0)
    np.testing.assert_allclose(rel.frame[names].to_numpy()[first[0]], expected, atol=1e-9)
    # a mirrored dataset gives the mirror-permuted relative features
    from geoface.mesh import mirror_shapes

    mirrored = extract_table(mirror_shapes(sim.landmarks), sim.meta, relative="mean")
    perm = feature_mirror(mesh)
    np.testing.assert_allclose(
        mirrored.frame[names].to_numpy(), rel.frame[names].to_numpy()[:, perm], atol=1e-6
    )
    no_subject = extract_table(sim.landmarks, sim.meta.drop(columns="subject"), relative="auto")
    assert no_subject.info["options"]["relative"]["rule"] == "none"
    with pytest.raises(GeofaceError, match="'session', which is not a column"):
        extract_table(sim.landmarks, sim.meta, relative="mean", relative_by="session")


def test_mirror_augmentation_doubles_training_rows_only(mesh):
    perm = feature_mirror(mesh)
    X = np.random.default_rng(0).normal(size=(5, len(perm)))
    y = np.arange(5)
    X2, y2 = mirror_augment(X, y, perm)
    assert X2.shape == (10, len(perm))
    np.testing.assert_array_equal(X2[:5], X)
    np.testing.assert_array_equal(X2[5:], X[:, perm])
    np.testing.assert_array_equal(y2, np.r_[y, y])
    assert mirror_augment(X, y, None)[0] is X


def test_fit_run_mirror_is_recorded_and_predicts_held_out_faces_once(tmp_path, mesh):
    sim = simulate_landmarks(n_subjects=6, takes=1, random_state=3)
    table = extract_table(sim.landmarks, sim.meta)
    path = fit_run(table, tmp_path / "m", model="logreg", folds=3, n_boot=100, mirror=True)
    info = json.loads((path / "run.json").read_text())
    assert info["mirror_augmentation"] is True
    oof = Run(path).oof_predictions()
    assert len(oof) == len(table.frame)  # held-out rows are never duplicated
    metrics = json.loads((path / "metrics.json").read_text())
    folds = metrics["overfitting"]["folds"]
    n_rows = len(table.frame)
    assert all(f["n_train"] + f["n_test"] == n_rows for f in folds)
    # a mirror-augmented model sees a mirrored face as the face itself (symmetric training set)
    run = Run(path)
    model, _ = run.final_model()
    X = table.frame[table.feature_names].to_numpy()
    perm = feature_mirror(mesh)
    np.testing.assert_allclose(
        model.predict_proba(X[:, perm]).mean(axis=0), model.predict_proba(X).mean(axis=0), atol=0.05
    )


def test_ensemble_is_a_registry_model_that_saves_and_predicts(tmp_path):
    sim = simulate_landmarks(n_subjects=6, takes=1, random_state=5)
    table = extract_table(sim.landmarks, sim.meta)
    path = fit_run(table, tmp_path / "e", model="ensemble", folds=3, n_boot=100)
    run = Run(path)
    pred = run.predict(table)
    proba = pred[[f"proba_{c}" for c in run.classes]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    from geoface.models._data import prepare_data

    data = prepare_data(table, target="label", group="subject")
    fresh, _, _ = fit_model(
        get_model_spec("ensemble"), data.X, data.y, data.groups, seed=0, n_classes=7
    )
    # the soft vote is the mean of its members' probabilities
    members = fresh.named_steps["clf"].estimators_
    scaled = fresh.named_steps["scale"].transform(data.X)
    mean = np.mean([m.predict_proba(scaled) for m in members], axis=0)
    np.testing.assert_allclose(fresh.predict_proba(data.X), mean, atol=1e-12)
    assert json.loads((path / "metrics.json").read_text())["balanced_accuracy"] > 0.5
