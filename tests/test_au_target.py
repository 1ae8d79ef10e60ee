"""Action Units as targets: simulated AU columns, fit --target AU12, its SHAP regions."""

import json

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.simulate import (
    ACTION_UNITS,
    AU_COLUMNS,
    EXPRESSION_AUS,
    au_moved_regions,
    simulate_landmarks,
    write_simulated_dataset,
)


@pytest.fixture(scope="module")
def au_sim():
    return simulate_landmarks(n_subjects=10, takes=2, action_units=True, random_state=3)


def test_simulated_action_units_vary_around_the_prototypes(au_sim):
    meta = au_sim.meta
    assert list(AU_COLUMNS) == [f"AU{au}" for au in ACTION_UNITS]
    assert set(AU_COLUMNS) <= set(meta.columns)
    assert set(np.unique(meta[list(AU_COLUMNS)])) == {0, 1}
    happy = meta["label"] == "happy"
    # mostly the prototype (6 + 12), but not always, and sometimes elsewhere
    assert 0.6 < meta.loc[happy, "AU12"].mean() < 1.0
    assert 0.0 < meta.loc[~happy, "AU12"].mean() < 0.2
    assert meta.loc[meta["label"] == "neutral", list(AU_COLUMNS)].to_numpy().mean() < 0.15
    for label, aus in EXPRESSION_AUS.items():
        rows = meta["label"] == label
        for au in aus:
            assert meta.loc[rows, f"AU{au}"].mean() > 0.6


def test_action_units_keep_the_rest_of_the_simulation(au_sim):
    plain = simulate_landmarks(n_subjects=10, takes=2, random_state=3)
    assert not set(AU_COLUMNS) & set(plain.meta.columns)
    cols = ["id", "subject", "label", "intensity", "yaw_deg", "roll_deg", "age_months"]
    pd.testing.assert_frame_equal(au_sim.meta[cols], plain.meta[cols])
    # the geometry follows the AUs shown: faces that show their prototype exactly match
    aus = au_sim.meta[list(AU_COLUMNS)].to_numpy()
    proto = np.array(
        [[int(au in EXPRESSION_AUS[lab]) for au in ACTION_UNITS] for lab in plain.meta["label"]]
    )
    same = (aus == proto).all(axis=1)
    assert 0.2 < same.mean() < 0.6  # P(no AU missed or added) ≈ 0.85^k · 0.95^(13 − k)
    np.testing.assert_allclose(au_sim.landmarks[same], plain.landmarks[same])
    assert not np.allclose(au_sim.landmarks[~same], plain.landmarks[~same])
    with pytest.raises(GeofaceError, match=r"au_miss=1\.5 and au_extra=0\.05 must lie in \[0, 1\]"):
        simulate_landmarks(n_subjects=2, takes=1, action_units=True, au_miss=1.5)


def test_au_ground_truth_and_cli(tmp_path, capsys):
    assert au_moved_regions(12) == {"mouth", "cheeks"}
    assert au_moved_regions(1) == {"brows", "glabella"}
    code = main(
        [
            "simulate",
            "--out",
            str(tmp_path / "sim"),
            "--subjects",
            "2",
            "--takes",
            "1",
            "--no-images",
            "--action-units",
        ]
    )
    capsys.readouterr()
    assert code == 0
    frame = pd.read_csv(tmp_path / "sim" / "landmarks.csv")
    assert frame[list(AU_COLUMNS)].isin([0, 1]).all().all()
    truth = json.loads((tmp_path / "sim" / "ground_truth.json").read_text())
    assert truth["action_units"]["names"]["AU12"] == "lip corner puller"
    assert truth["action_units"]["moved_regions"]["AU12"] == ["cheeks", "mouth"]
    assert truth["params"]["action_units"] is True
    write_simulated_dataset(tmp_path / "plain", render=False, n_subjects=2, takes=1)
    plain = json.loads((tmp_path / "plain" / "ground_truth.json").read_text())
    assert "action_units" not in plain


def test_au12_from_geometry_is_learnt_and_explained_by_the_mouth(tmp_path, au_sim):
    from geoface.explain import explain_run, region_table
    from geoface.features import extract_table
    from geoface.models import Run, fit_run

    table = extract_table(au_sim.landmarks, au_sim.meta)
    path = fit_run(
        table, tmp_path / "au12", model="xgb", target="AU12", n_boot=200, eval_by=["label"]
    )
    run = Run(path)
    assert run.classes == ["0", "1"]
    m = run.metrics
    assert m["target"] == "AU12" and m["chance"]["uniform"]["balanced_accuracy"] == 0.5
    assert m["balanced_accuracy"] > 0.75
    assert m["ci95"]["balanced_accuracy"]["low"] > 0.6  # well above chance
    # happy faces mostly show AU12, the others mostly not: per-label rows, one class or two
    happy = next(g for g in m["by_group"]["label"]["groups"] if g["label"] == "happy")
    assert happy["classes_present"] == "0;1"
    # which part of the face the model reads AU12 from: the mouth and the cheeks beside it
    ranks = region_table(explain_run(path, table=table), n_boot=100)
    ranks = ranks[(ranks["class"] == "1") & (ranks["over"] == "all")].sort_values("rank")
    top = ranks["region"].tolist()
    assert set(top[:2]) == au_moved_regions(12) and "mouth" in top[:2]
    assert ranks.set_index("region").loc["mouth", "share"] > 0.25
    # predictions of the final model name the classes "0" and "1"
    pred = run.predict(table)
    assert set(pred["y_pred"]) <= {"0", "1"} and {"proba_0", "proba_1"} <= set(pred.columns)


def test_au_column_with_empty_cells_names_classes_0_and_1(au_sim):
    from geoface.features import extract_table
    from geoface.models import prepare_data

    meta = au_sim.meta.copy()
    meta["AU12"] = meta["AU12"].astype(float)
    meta.loc[:4, "AU12"] = np.nan  # uncoded faces
    data = prepare_data(extract_table(au_sim.landmarks, meta), target="AU12", group="subject")
    assert data.classes == ["0", "1"]
    assert data.excluded == {"missing_target": 5}
