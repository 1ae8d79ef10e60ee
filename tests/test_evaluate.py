"""geoface evaluate: joins by id, unmatched rows, unseen classes, errors, the cross-age recipe."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from geoface.cli import main
from geoface.evaluate import evaluate_predictions, parse_relabel
from geoface.metrics import ALL_GROUPS


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def files(tmp_path):
    """Eight predictions (one failed), truth for seven of them plus one without a prediction."""
    pred = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(1, 9)],
            "status": ["ok"] * 7 + ["qc_no_face"],
            "y_pred": ["a", "b", "b", "b", "b", "b", "a", None],
            "proba_a": [0.8, 0.4, 0.3, 0.1, 0.3, 0.2, 0.6, np.nan],
            "proba_b": [0.2, 0.6, 0.7, 0.9, 0.7, 0.8, 0.4, np.nan],
        }
    )
    truth = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4", "p5", "p6", "p8", "t9"],
            "label": ["a", "a", "b", "b", "a", "b", "a", "b"],
            "subject": ["s1", "s1", "s2", "s2", "s3", "s4", "s5", "s6"],
            "age_group": ["adult", "adult", "adult", "adult", "infant", "infant", "adult", "adult"],
        }
    )
    pred.to_csv(tmp_path / "pred.csv", index=False)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    return tmp_path


def test_evaluate_joins_truth_by_id_and_reports_unmatched_rows(files, capsys):
    out = files / "eval"
    code, printed, _ = run_cli(
        capsys,
        "evaluate",
        files / "pred.csv",
        "--truth",
        files / "truth.csv",
        "--by",
        "age_group",
        "--out",
        out,
        "--bootstrap",
        200,
    )
    assert code == 0
    assert "8 prediction rows: ok 6, no_truth 1, qc_no_face 1" in printed
    assert "1 prediction rows have no id in --truth (status no_truth), e.g. ['p7']" in printed
    assert "1 rows of --truth have no prediction, e.g. ['t9']" in printed
    rows = pd.read_csv(out / "evaluated_rows.csv")
    assert rows["status"].tolist() == ["ok"] * 6 + ["no_truth", "qc_no_face"]
    assert rows.loc[6, "id"] == "p7" and pd.isna(rows.loc[6, "y_true"])
    by = pd.read_csv(out / "metrics_by_age_group.csv", keep_default_na=False, na_values=[""])
    by = by.set_index("age_group")
    assert list(by.index) == [ALL_GROUPS, "infant", "adult", "(missing)"]
    # adult: p1 a→a, p2 a→b, p3 b→b, p4 b→b: accuracy 3/4, recalls 1/2 and 1
    assert by.loc["adult", "n"] == 4 and by.loc["adult", "n_subjects"] == 2
    assert by.loc["adult", "accuracy"] == pytest.approx(0.75)
    assert by.loc["adult", "balanced_accuracy"] == pytest.approx(0.75)
    assert by.loc["adult", "n_excluded"] == 1  # p8 failed QC
    # infant: p5 a→b, p6 b→b; two subjects, so an interval
    assert by.loc["infant", "accuracy"] == pytest.approx(0.5)
    assert by.loc["infant", "log_loss"] == pytest.approx(-(np.log(0.3) + np.log(0.8)) / 2)
    assert by.loc["(missing)", "n"] == 0 and by.loc["(missing)", "n_excluded"] == 1  # p7
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["n"] == 6 and metrics["overall"]["accuracy"] == pytest.approx(4 / 6)
    assert metrics["overall"]["confusion_matrix"]["counts"] == [[1, 2], [0, 3]]
    info = json.loads((out / "evaluate.json").read_text())
    assert info["truth"]["truth_without_prediction_ids"] == ["t9"]
    assert info["command"][:2] == ["geoface", "evaluate"] or info["command"][0] == "geoface"
    assert "| adult | 4 | 2 | 0.750" in (out / "metrics_by_age_group.md").read_text()
    assert "## By age_group" in (out / "report.md").read_text()
    for name in ("balanced_accuracy_by_age_group", "confusion_by_age_group", "confusion_matrix"):
        assert (out / "figures" / f"{name}.png").exists()


def test_two_truth_files_are_joined_by_id(files, capsys):
    """Labels from a manifest, age groups from an age-group table: the CNN route of the recipe."""
    truth = pd.read_csv(files / "truth.csv")
    truth.drop(columns="age_group").to_csv(files / "labels.csv", index=False)
    ages = truth[["id", "age_group"]].assign(status="ok")
    ages.loc[ages["id"] == "p1", "age_group"] = None  # the manifest has no age: stays missing
    ages.to_csv(files / "ages.csv", index=False)
    code, _, _ = run_cli(
        capsys,
        "evaluate",
        files / "pred.csv",
        "--truth",
        files / "labels.csv",
        "--truth",
        files / "ages.csv",
        "--by",
        "age_group",
        "--out",
        files / "eval2",
        "--bootstrap",
        200,
    )
    assert code == 0
    by = pd.read_csv(files / "eval2" / "metrics_by_age_group.csv", keep_default_na=False)
    by = by.set_index("age_group")
    assert by.loc["adult", "n"] == 3 and by.loc["infant", "n"] == 2  # p1 moved to (missing)
    info = json.loads((files / "eval2" / "evaluate.json").read_text())
    assert [Path(t).name for t in info["inputs"]["truth"]] == ["labels.csv", "ages.csv"]


def test_unseen_classes_excluded_counted_or_relabelled(files):
    pred = pd.read_csv(files / "pred.csv")
    truth = pd.read_csv(files / "truth.csv")
    truth.loc[truth["id"] == "p3", "label"] = "contempt"
    common = dict(by=["age_group"], truth=truth, n_boot=200)
    ev = evaluate_predictions(pred, **common)
    assert ev.info["unseen_classes"] == {"contempt": 1}
    assert ev.rows.set_index("id").loc["p3", "status"] == "unseen_class"
    assert ev.overall["n"] == 5 and ev.info["classes"] == ["a", "b"]
    ev = evaluate_predictions(pred, unseen="count", **common)
    assert ev.info["classes"] == ["a", "b", "contempt"]
    assert ev.overall["n"] == 6 and ev.overall["accuracy"] == pytest.approx(3 / 6)
    adult = ev.by_group["age_group"].table.set_index("age_group").loc["adult"]
    assert adult["accuracy"] == pytest.approx(2 / 4)
    assert np.isnan(adult["log_loss"]) and "without probabilities" in adult["note"]
    infant = ev.by_group["age_group"].table.set_index("age_group").loc["infant"]
    assert np.isfinite(infant["log_loss"])
    ev = evaluate_predictions(pred, relabel=parse_relabel("contempt=b"), **common)
    assert ev.info["unseen_classes"] == {} and ev.overall["n"] == 6
    assert ev.overall["accuracy"] == pytest.approx(4 / 6)


def test_predictions_without_y_pred_and_with_every_column_inside(files):
    pred = pd.read_csv(files / "pred.csv").drop(columns=["y_pred", "status"])
    truth = pd.read_csv(files / "truth.csv")
    pred = pred.merge(truth, on="id", how="left")
    ev = evaluate_predictions(pred, by=["age_group"], group="id", n_boot=200)
    # y_pred is the most probable class; p8 has no probabilities, p7 no label
    statuses = ev.rows.set_index("id")["status"]
    assert statuses["p8"] == "no_prediction" and statuses["p7"] == "missing_target"
    assert ev.rows.set_index("id").loc["p1", "y_pred"] == "a"
    assert ev.overall["n_subjects"] == 6  # every face its own subject
    assert ev.info["sources"] == {
        "target": "predictions",
        "group": "id",
        "by": {"age_group": "predictions"},
    }


def test_evaluate_a_run_directory_by_a_joined_column(tmp_path, capsys):
    from geoface.features import extract_table
    from geoface.models import fit_run
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=6, takes=1, random_state=2)
    run = fit_run(
        extract_table(sim.landmarks, sim.meta),
        tmp_path / "run",
        model="logreg",
        folds=3,
        n_boot=100,
    )
    ages = sim.meta[["id"]].assign(site=np.where(sim.meta["subject"] < "s004", "A", "B"))
    ages.to_csv(tmp_path / "sites.csv", index=False)
    code, out, _ = run_cli(
        capsys,
        "evaluate",
        run,
        "--truth",
        tmp_path / "sites.csv",
        "--by",
        "site",
        "--out",
        tmp_path / "eval",
        "--bootstrap",
        100,
    )
    assert code == 0 and "by site" in out
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    oof = pd.read_csv(run / "oof_predictions.csv")
    assert metrics["overall"]["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(oof["y_true"], oof["y_pred"])
    )
    info = json.loads((tmp_path / "eval" / "evaluate.json").read_text())
    assert info["sources"]["target"] == "predictions (y_true)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--by", "agegroup", "--truth", "truth.csv"],
            "--by 'agegroup' is not a column of the predictions or --truth; choose one of",
        ),
        (["--by", "age_group"], "join them with --truth FILE"),
        (
            ["--by", "age_group", "--truth", "truth.csv", "--group", "child"],
            "(or --group id when every face is its own subject)",
        ),
        (["--by", "age_group", "--truth", "dup.csv"], "repeats 1 id(s), e.g. ['p1']"),
        (["--by", "age_group", "--truth", "noid.csv"], "has no 'id' column"),
        (
            ["--by", "age_group", "--truth", "truth.csv", "--relabel", "angry"],
            "--relabel 'angry' is not OLD=NEW",
        ),
        (["--by", "age_group", "--truth", "missing.csv"], "does not exist"),
    ],
)
def test_evaluate_errors_are_one_line(files, capsys, argv, message):
    truth = pd.read_csv(files / "truth.csv")
    pd.concat([truth, truth.head(1)]).to_csv(files / "dup.csv", index=False)
    truth.drop(columns="id").to_csv(files / "noid.csv", index=False)
    argv = [files / a if str(a).endswith(".csv") else a for a in argv]
    code, _, err = run_cli(capsys, "evaluate", files / "pred.csv", *argv, "--out", files / "ev")
    assert code == 2 and err.count("\n") == 1 and err.startswith("geoface: error: ")
    assert message in err
    assert "'age_group'" in err or "agegroup" not in message
    assert not (files / "ev").exists()


def test_evaluate_refuses_an_existing_folder(files, capsys):
    (files / "ev").mkdir()
    code, _, err = run_cli(
        capsys,
        "evaluate",
        files / "pred.csv",
        "--truth",
        files / "truth.csv",
        "--by",
        "age_group",
        "--out",
        files / "ev",
    )
    assert code == 2 and "exists; choose another --out or add --overwrite" in err


def test_cross_age_recipe_on_simulated_faces(tmp_path, capsys):
    """The README's recipe, geoface steps only: fit on infants, predict others, evaluate by age.

    The age estimator's step is replaced by the simulator's known ages.
    """

    def ok(*argv):
        code, out, err = run_cli(capsys, *argv)
        assert code == 0, err
        return out

    ok(
        "simulate",
        "--out",
        tmp_path / "infants",
        "--subjects",
        8,
        "--takes",
        2,
        "--population",
        "infant",
        "--no-images",
        "--seed",
        1,
    )
    ok(
        "simulate",
        "--out",
        tmp_path / "others",
        "--subjects",
        8,
        "--takes",
        1,
        "--population",
        "mixed",
        "--no-images",
        "--seed",
        2,
    )
    ok("extract", tmp_path / "infants" / "landmarks.csv", "--out", tmp_path / "infants.csv")
    ok("extract", tmp_path / "others" / "landmarks.csv", "--out", tmp_path / "others.csv")
    ok("split", tmp_path / "infants.csv", "--folds", 4, "--out", tmp_path / "splits.csv")
    ok(
        "fit",
        tmp_path / "infants.csv",
        "--model",
        "logreg",
        "--splits",
        tmp_path / "splits.csv",
        "--out",
        tmp_path / "runs" / "infant",
        "--bootstrap",
        100,
        "--quiet",
    )
    ok(
        "predict",
        tmp_path / "runs" / "infant",
        tmp_path / "others.csv",
        "--out",
        tmp_path / "predictions.csv",
    )
    # what the age estimator writes: id, estimated age, age group
    meta = pd.read_csv(tmp_path / "others" / "landmarks.csv", usecols=["id", "age_months"])
    years = meta["age_months"] / 12
    ages = pd.DataFrame(
        {
            "id": meta["id"],
            "age": years,
            "age_group": pd.cut(
                years,
                [0, 3, 8, 12, 17, 200],
                labels=["infant", "younger_child", "older_child", "teenager", "adult"],
            ).astype(str),
        }
    )
    ages.to_csv(tmp_path / "ages.csv", index=False)
    out = ok(
        "evaluate",
        tmp_path / "predictions.csv",
        "--truth",
        tmp_path / "ages.csv",
        "--by",
        "age_group",
        "--out",
        tmp_path / "eval",
        "--bootstrap",
        200,
    )
    assert "by age_group" in out
    by = pd.read_csv(tmp_path / "eval" / "metrics_by_age_group.csv").set_index("age_group")
    assert list(by.index) == [ALL_GROUPS, "infant", "adult"]
    pred = pd.read_csv(tmp_path / "predictions.csv").merge(ages, on="id")
    for group, rows in pred.groupby("age_group"):
        assert by.loc[group, "n"] == len(rows) == 28
        assert by.loc[group, "n_subjects"] == 4
        assert by.loc[group, "accuracy"] == pytest.approx((rows["label"] == rows["y_pred"]).mean())
    assert by.loc["infant", "balanced_accuracy"] > 2 / 7  # learnt, well above chance
