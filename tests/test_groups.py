"""Metrics per group: hand-computed values, small and one-class groups, fit --eval-by."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss

from geoface.cli import main
from geoface.metrics import (
    ALL_GROUPS,
    MISSING_GROUP,
    GroupMetrics,
    group_metrics,
    group_order,
    label_strings,
    subject_bootstrap,
)

CLASSES = ["a", "b"]
# group X: 4 faces of 2 subjects; group Y: 3 faces of 2 subjects
Y_TRUE = np.array([0, 0, 1, 1, 0, 1, 1])
Y_PRED = np.array([0, 1, 1, 1, 1, 1, 0])
SUBJECTS = np.array(["s1", "s1", "s2", "s2", "s3", "s4", "s4"])
BY = np.array(["X", "X", "X", "X", "Y", "Y", "Y"], dtype=object)
PROBA = np.array(
    [[0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.1, 0.9], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]]
)


def _row(gm, name):
    table = gm.table.set_index(gm.column)
    return table.loc[name]


def test_group_metrics_match_hand_computed_values():
    gm = group_metrics(Y_TRUE, Y_PRED, PROBA, SUBJECTS, BY, CLASSES, column="site", n_boot=200)
    assert list(gm.table["site"]) == [ALL_GROUPS, "X", "Y"]
    x, y = _row(gm, "X"), _row(gm, "Y")
    # X: 3 of 4 right; recalls a 1/2, b 2/2; F1 a = 2·1/(2+1), b = 2·2/(2+3)
    assert x["accuracy"] == pytest.approx(3 / 4)
    assert x["balanced_accuracy"] == pytest.approx((1 / 2 + 1) / 2)
    assert x["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    # Y: 1 of 3 right; recalls a 0/1, b 1/2; F1 a = 0, b = 2·1/(2+2)
    assert y["accuracy"] == pytest.approx(1 / 3)
    assert y["balanced_accuracy"] == pytest.approx(1 / 4)
    assert y["macro_f1"] == pytest.approx(1 / 4)
    assert (x["n"], x["n_subjects"], y["n"], y["n_subjects"]) == (4, 2, 3, 2)
    assert x["chance_accuracy_majority"] == pytest.approx(1 / 2)
    assert y["chance_accuracy_majority"] == pytest.approx(2 / 3)
    assert y["chance_balanced_accuracy_uniform"] == pytest.approx(1 / 2)
    assert y["chance_log_loss_uniform"] == pytest.approx(np.log(2))
    # and against scikit-learn, group by group
    for name in ("X", "Y"):
        m = BY == name
        row = _row(gm, name)
        assert row["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(Y_TRUE[m], Y_PRED[m])
        )
        assert row["macro_f1"] == pytest.approx(f1_score(Y_TRUE[m], Y_PRED[m], average="macro"))
        assert row["log_loss"] == pytest.approx(log_loss(Y_TRUE[m], PROBA[m], labels=[0, 1]))
    pooled = _row(gm, ALL_GROUPS)
    assert pooled["accuracy"] == pytest.approx(4 / 7) and pooled["n"] == 7
    assert gm.confusion["X"] == [[1, 1], [0, 2]]


def test_group_intervals_are_the_subject_bootstrap_within_the_group():
    gm = group_metrics(Y_TRUE, Y_PRED, PROBA, SUBJECTS, BY, CLASSES, n_boot=300, seed=4)
    m = BY == "X"
    ci = subject_bootstrap(
        Y_TRUE[m], Y_PRED[m], PROBA[m], SUBJECTS[m], 2, n_boot=300, random_state=4
    )
    x = _row(gm, "X")
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"):
        assert x[f"{name}_low"] == pytest.approx(ci[name]["low"])
        assert x[f"{name}_high"] == pytest.approx(ci[name]["high"])
        assert x[f"{name}_low"] <= x[name] <= x[f"{name}_high"]


def test_small_one_class_missing_and_empty_groups_never_crash():
    y = np.array([0, 0, 1, 0, 1])
    pred = np.array([0, 1, 1, 0, 0])
    subjects = np.array(["s1", "s2", "s3", "s4", "s4"])
    by = np.array(["one_class", "one_class", "solo", None, None], dtype=object)
    gm = group_metrics(
        y,
        pred,
        None,
        subjects,
        by,
        CLASSES,
        column="g",
        excluded_by=np.array(["empty", "empty", "solo"], dtype=object),
        n_boot=200,
    )
    assert list(gm.table["g"]) == [ALL_GROUPS, "empty", "one_class", "solo", MISSING_GROUP]
    one = _row(gm, "one_class")
    # only class a present: balanced accuracy is its recall (1 of 2), computed on that class
    assert one["balanced_accuracy"] == pytest.approx(0.5)
    assert one["classes_present"] == "a"
    assert "one class present (a)" in one["note"]
    assert np.isfinite(one["balanced_accuracy_low"])  # two subjects: an interval
    solo = _row(gm, "solo")
    assert solo["n_subjects"] == 1 and solo["accuracy"] == 1.0
    assert np.isnan(solo["accuracy_low"]) and "no confidence interval" in solo["note"]
    assert solo["n_excluded"] == 1
    empty = _row(gm, "empty")
    assert empty["n"] == 0 and empty["n_excluded"] == 2
    assert np.isnan(empty["accuracy"]) and "no rows with a prediction" in empty["note"]
    missing = _row(gm, MISSING_GROUP)
    assert missing["n"] == 2 and missing["accuracy"] == pytest.approx(0.5)
    assert np.isnan(_row(gm, ALL_GROUPS)["log_loss"])  # no probabilities given
    assert _row(gm, ALL_GROUPS)["n_excluded"] == 3
    # a minimum size turns small groups' metrics into NaN, with a note
    gm = group_metrics(y, pred, None, subjects, by, CLASSES, column="g", n_boot=200, min_rows=2)
    assert np.isnan(_row(gm, "solo")["accuracy"])
    assert "fewer than the minimum of 2" in _row(gm, "solo")["note"]


def test_rows_without_probabilities_have_no_log_loss():
    proba = PROBA.copy()
    proba[5] = np.nan
    gm = group_metrics(Y_TRUE, Y_PRED, proba, SUBJECTS, BY, CLASSES, n_boot=200)
    assert np.isfinite(_row(gm, "X")["log_loss"])
    assert np.isnan(_row(gm, "Y")["log_loss"]) and np.isnan(_row(gm, "Y")["log_loss_low"])
    assert "1 rows without probabilities" in _row(gm, "Y")["note"]
    assert _row(gm, "Y")["accuracy"] == pytest.approx(1 / 3)


def test_json_round_trip_writes_nan_as_null():
    gm = group_metrics(Y_TRUE, Y_PRED, None, SUBJECTS, BY, CLASSES, column="site", n_boot=200)
    doc = json.loads(json.dumps(gm.to_dict(), allow_nan=False))
    assert doc["groups"][1]["site"] == "X" and doc["groups"][1]["log_loss"] is None
    back = GroupMetrics.from_dict(doc)
    pd.testing.assert_frame_equal(back.table, gm.table, check_dtype=False)
    assert back.confusion == gm.confusion and back.settings["n_boot"] == 200


def test_group_order():
    ages = ["adult", "Older child", "infant", "teenager", "younger-child"]
    assert group_order(ages) == ["infant", "younger-child", "Older child", "teenager", "adult"]
    assert group_order(["10", "9", "100", None]) == ["9", "10", "100", MISSING_GROUP]
    assert group_order(["b", "c", "a"]) == ["a", "b", "c"]
    assert group_order(["b", "c", "a"], order=["c", "zz"]) == ["c", "a", "b"]


def test_label_strings():
    assert label_strings(pd.Series([1.0, np.nan, 0.0])).tolist() == ["1", None, "0"]
    assert label_strings([True, False]).tolist() == ["1", "0"]
    assert label_strings(pd.Series([0.5, 1.0])).tolist() == ["0.5", "1.0"]
    assert label_strings(["happy", None]).tolist() == ["happy", None]


def test_plot_group_metric_draws_on_a_given_axis():
    import matplotlib.pyplot as plt

    from geoface.plotting import plot_group_metric

    gm = group_metrics(Y_TRUE, Y_PRED, PROBA, SUBJECTS, BY, CLASSES, column="site", n_boot=200)
    fig, ax = plt.subplots()
    assert plot_group_metric(gm.table, "site", ax=ax) is fig
    assert [t.get_text() for t in ax.get_xticklabels()] == ["X\nn=4", "Y\nn=3"]
    assert ax.get_legend_handles_labels()[1] == ["all groups", "chance (uniform guess)"]


# ------------------------------------------------------------------ fit --eval-by
@pytest.fixture(scope="module")
def landmark_csv(tmp_path_factory):
    """A mixed infant/adult landmark CSV with an extra age_group column and one failed face."""
    from geoface.landmarks import write_landmark_csv
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=10, takes=2, population="mixed", random_state=5)
    meta = sim.meta.copy()
    meta["age_group"] = np.where(meta["population"] == "infant", "infant", "adult")
    meta.loc[meta["subject"] == "s010", "age_group"] = np.nan  # unknown for one subject
    lm = sim.landmarks.copy()
    lm[3] = np.nan
    path = tmp_path_factory.mktemp("groups") / "landmarks.csv"
    write_landmark_csv(path, lm, meta)
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_eval_by_end_to_end(tmp_path, capsys, landmark_csv):
    features = tmp_path / "features.csv"
    assert run_cli(capsys, "extract", landmark_csv, "--out", features)[0] == 0
    table = pd.read_csv(features)
    assert "age_group" in table.columns  # extra columns of a landmark CSV reach the table
    code, out, _ = run_cli(
        capsys,
        "fit",
        features,
        "--model",
        "logreg",
        "--out",
        tmp_path / "run",
        "--eval-by",
        "age_group,population",
        "--eval-by",
        "age_group",
        "--bootstrap",
        200,
        "--quiet",
    )
    assert code == 0
    assert "by age_group (balanced accuracy, 95% CI over subjects" in out
    assert "by population" in out and "infant" in out
    run = tmp_path / "run"
    oof = pd.read_csv(run / "oof_predictions.csv", dtype={"id": str})
    assert list(oof.columns[:6]) == ["id", "fold", "subject", "age_group", "population", "status"]
    assert len(oof) == 140 and oof.loc[3, "status"] == "qc_nonfinite_landmarks"
    assert oof.loc[3, "age_group"] == table.loc[3, "age_group"]  # kept on excluded rows too
    by = pd.read_csv(run / "metrics_by_age_group.csv", keep_default_na=False, na_values=[""])
    assert list(by["age_group"]) == [ALL_GROUPS, "infant", "adult", MISSING_GROUP]
    # the numbers are those of the out-of-fold predictions of each group
    ok = oof[oof["status"] == "ok"]
    for name, rows in ok.groupby(ok["age_group"].fillna(MISSING_GROUP)):
        row = by.set_index("age_group").loc[name]
        assert row["n"] == len(rows)
        assert row["accuracy"] == pytest.approx((rows["y_true"] == rows["y_pred"]).mean())
        assert row["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(rows["y_true"], rows["y_pred"])
        )
        assert row["macro_f1"] == pytest.approx(
            f1_score(rows["y_true"], rows["y_pred"], average="macro"), abs=1e-6
        )
    assert by.set_index("age_group").loc["infant", "n_excluded"] == 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["by_group"]) == {"age_group", "population"}
    assert metrics["by_group"]["age_group"]["groups"][0]["accuracy"] == pytest.approx(
        metrics["accuracy"]
    )
    assert (run / "figures" / "balanced_accuracy_by_age_group.png").exists()
    assert (run / "figures" / "balanced_accuracy_by_population.pdf").exists()
    assert json.loads((run / "run.json").read_text())["eval_by"] == ["age_group", "population"]


def test_fit_eval_by_unknown_column_lists_the_available_ones(tmp_path, capsys, landmark_csv):
    features = tmp_path / "features.csv"
    assert run_cli(capsys, "extract", landmark_csv, "--out", features)[0] == 0
    code, _, err = run_cli(
        capsys, "fit", features, "--out", tmp_path / "run", "--eval-by", "agegroup"
    )
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("geoface: error: --eval-by 'agegroup' is not a column of the table")
    assert "'age_group'" in err and "'population'" in err and "tri_" not in err
    assert not (tmp_path / "run").exists()
    code, _, err = run_cli(
        capsys, "fit", features, "--out", tmp_path / "run", "--eval-by", "tri_000_area"
    )
    assert code == 2 and "is not a column of the table" in err
