"""Age estimation with the ResNet baseline: regression head, run directory, age groups.

CPU, tiny images, one epoch: the run-directory tests check the format, not skill;
the learning test trains one small network on faces whose age is drawn into them.
"""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from baselines import BaselineRun, resolve_recipe
from baselines._age import age_strata
from baselines._net import build_net, load_checkpoint
from baselines._objectives import make_objective, regression_loss
from baselines._targets import age_unit_of, age_values
from baselines._train import FaceStore, Runtime, forward_all, train_network
from geoface import GeofaceError
from geoface.age_groups import AGE_GROUPS, DEFAULT_AGE_BINS, assign_age_groups, parse_age_bins
from geoface.cli import main
from geoface.metrics import regression_bootstrap, regression_metrics
from geoface.splits import make_splits

TINY = ["--epochs", "1", "--batch-size", "16", "--image-size", "32", "--bootstrap", "100"]


def _age_of(subject_index: np.ndarray, take: np.ndarray) -> np.ndarray:
    """A known age per face: subjects 6 years apart, takes 0.25 years apart."""
    return 1.0 + 6.0 * subject_index + 0.25 * take


@pytest.fixture(scope="module")
def aged(tmp_path_factory):
    """Simulated faces with an ``age_years`` column (one blank) and shared folds on disk."""
    from geoface.simulate import write_simulated_dataset

    out = tmp_path_factory.mktemp("aged")
    csv = write_simulated_dataset(out, n_subjects=4, takes=1, image_size=48, random_state=3)
    frame = pd.read_csv(csv, dtype={"id": str, "subject": str})
    subject_index = frame["subject"].astype("category").cat.codes.to_numpy()
    ages = _age_of(subject_index, np.arange(len(frame)) % 7)
    ages[5] = np.nan
    # "mood" is a text column, for the non-numeric error
    extra = pd.DataFrame({"age_years": ages, "mood": "calm"}, index=frame.index)
    frame = pd.concat([frame, extra], axis=1).copy()  # one block per dtype
    manifest = out / "aged.csv"
    frame.to_csv(manifest, index=False)
    splits = make_splits(frame.assign(qc_status="ok"), folds=2, seed=0)
    splits_csv = splits.write(out / "splits.csv")
    return manifest, splits_csv, frame


@pytest.fixture(scope="module")
def age_run(aged, tmp_path_factory):
    manifest, splits_csv, _ = aged
    out = tmp_path_factory.mktemp("runs") / "age"
    argv = ["baseline", "train", str(manifest), "--out", str(out), "--task", "age"]
    argv += ["--splits", str(splits_csv), "--device", "cpu", "--quiet", *TINY]
    assert main(argv) == 0
    return out


# ----------------------------------------------------------------------------- age groups


def test_age_groups_at_their_edges():
    ages = [0.0, 3.999, 4.0, 7.99, 8.0, 12.99, 13.0, 17.999, 18.0, 90.0]
    expected = ["infant", "infant", "younger_child", "younger_child", "older_child"]
    expected += ["older_child", "teenager", "teenager", "adult", "adult"]
    assert assign_age_groups(ages).tolist() == expected
    assert DEFAULT_AGE_BINS == (0, 4, 8, 13, 18) and len(AGE_GROUPS) == 5
    # missing, negative and infinite ages get no group
    assert assign_age_groups([np.nan, -0.5, np.inf]).tolist() == [None, None, None]
    custom = assign_age_groups([2.9, 3.0, 19.9, 20.0], bins=[0, 3, 8, 13, 20])
    assert custom.tolist() == ["infant", "younger_child", "teenager", "adult"]
    two = assign_age_groups(np.array([[1.0], [30.0]]), bins=[0, 18], labels=["minor", "major"])
    assert two.tolist() == ["minor", "major"]


def test_age_bins_are_checked_and_parsed():
    with pytest.raises(GeofaceError, match="must increase strictly"):
        assign_age_groups([1], bins=[0, 8, 4, 13, 18])
    with pytest.raises(GeofaceError, match="5 age bins need 5 labels, got 2"):
        assign_age_groups([1], labels=["young", "old"])
    assert parse_age_bins(None) == (DEFAULT_AGE_BINS, AGE_GROUPS)
    assert parse_age_bins("0,3,8,13,20") == ((0, 3, 8, 13, 20), AGE_GROUPS)
    assert parse_age_bins("0,2,5") == ((0, 2, 5), ("0-2", "2-5", "5+"))
    assert parse_age_bins("0,18", "minor,adult")[1] == ("minor", "adult")
    with pytest.raises(GeofaceError, match="comma-separated numbers"):
        parse_age_bins("0,four,8")


# ----------------------------------------------------------------------------- metrics


def test_regression_metrics_match_scikit_learn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(0)
    y = rng.uniform(0, 40, 50)
    p = y + rng.normal(0, 3, 50)
    m = regression_metrics(y, p)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)))
    assert m["r2"] == pytest.approx(r2_score(y, p))
    assert m["bias"] == pytest.approx(np.mean(p - y))
    assert regression_metrics(np.ones(3), np.array([1.0, 2.0, 3.0]))["r2"] is None


def test_subject_bootstrap_of_errors():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(12), 4)
    y = rng.uniform(0, 20, len(groups))
    p = y + rng.normal(0, 2, len(groups))
    ci = regression_bootstrap(y, p, groups, n_boot=300, random_state=0)
    point = regression_metrics(y, p)
    for name in ("mae", "rmse", "r2", "bias"):
        assert ci[name]["low"] <= point[name] <= ci[name]["high"]
    assert ci["n_groups"] == 12
    perfect = regression_bootstrap(y, y, groups, n_boot=50)
    assert perfect["mae"]["low"] == perfect["mae"]["high"] == 0.0


# ----------------------------------------------------------------------------- targets


def test_age_column_parsing():
    frame = pd.DataFrame({"age_years": ["1.5", "", None, "30"], "label": ["a", "b", "c", "d"]})
    np.testing.assert_array_equal(age_values(frame, "age_years"), [1.5, np.nan, np.nan, 30.0])
    with pytest.raises(GeofaceError, match=r"4 value\(s\) of 'label' are not a number"):
        age_values(frame, "label")
    frame.loc[0, "age_years"] = "-2"
    with pytest.raises(GeofaceError, match="not valid ages"):
        age_values(frame, "age_years")
    with pytest.raises(GeofaceError, match="no 'age' column"):
        age_values(frame, "age")
    assert age_unit_of("age_months") == "months" and age_unit_of("age_years") == "years"
    assert age_unit_of("age", "months") == "months"


def test_age_strata_keep_enough_subjects_per_bin():
    groups = np.repeat([f"s{i}" for i in range(20)], 3)
    ages = np.repeat(np.arange(20, dtype=float), 3)
    strata = age_strata(ages, groups, 2)
    per_subject = pd.Series(strata).groupby(groups).nunique()
    assert (per_subject == 1).all()  # a subject's faces share a stratum
    assert pd.Series(strata).groupby(groups).first().value_counts().min() >= 2
    assert len(set(strata)) == 5
    assert set(age_strata(ages[:6], groups[:6], 5)) == {"all"}


# ----------------------------------------------------------------------------- network


def test_regression_head_has_one_output_and_rescales():
    net, _ = build_net("resnet50", 1, dropout=0.0, regression=True)
    assert net.head.out_features == 1 and net.aux_head is None and net.embedding_dim == 2048
    net.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        raw = net(x)[0]
        net.target_mean.fill_(10.0)
        net.target_scale.fill_(2.0)
        scaled = net(x)[0]
    assert raw.shape == (2, 1)
    torch.testing.assert_close(scaled, raw * 2 + 10)


def test_regression_objective_standardises_the_ages():
    net, _ = build_net("resnet18", 1, regression=True)
    y = np.array([10.0, 20.0, 30.0, np.nan])
    obj = make_objective(
        "regression", y, np.arange(3), net, n_classes=1, loss="l1", device=torch.device("cpu")
    )
    assert float(net.target_mean) == pytest.approx(20.0)
    assert float(net.target_scale) == pytest.approx(np.std([10, 20, 30]))
    out = torch.tensor([[12.0], [20.0], [24.0]])
    b = torch.arange(3)
    expected = np.mean(np.abs([2.0, 0.0, -6.0])) / np.std([10, 20, 30])
    assert float(obj.loss(net, out, None, b)) == pytest.approx(expected, rel=1e-5)
    assert float(obj.score(out, b)) == pytest.approx(8.0)
    with pytest.raises(GeofaceError, match="loss='l2' is not one of"):
        regression_loss("l2")


def test_age_head_learns_an_easy_target():
    """Faces whose age is drawn into them as the size of a disc: the regression head on a
    frozen (random) backbone learns it, beating the training mean on held-out faces."""
    import cv2

    rng = np.random.default_rng(0)
    n = 48
    ages = rng.uniform(0, 30, n)
    images = np.zeros((n, 32, 32, 3), np.uint8)
    for i, age in enumerate(ages):
        cv2.circle(images[i], (16, 16), round(2 + age / 2.5), (255, 255, 255), -1)
    store = FaceStore(images, torch.device("cpu"))
    rt = Runtime(device=torch.device("cpu"), seed=0)
    train, test = np.arange(32), np.arange(32, n)
    frozen = ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4")
    recipe = resolve_recipe("infant", epochs=8, batch_size=8, lr=3e-2, dropout=0.0, freeze=frozen)
    net, history = train_network(
        store, ages, train, np.array([], int), 1, recipe, rt, task="regression", loss="l1"
    )
    assert net.head.out_features == 1 and "train_mae" in history[0]
    pred = forward_all(net, store, test, rt).main
    mae = np.abs(pred - ages[test]).mean()
    baseline = np.abs(ages[train].mean() - ages[test]).mean()
    assert np.isfinite(mae) and mae < 0.75 * baseline


# ----------------------------------------------------------------------------- run directory


def test_age_run_directory(age_run, aged):
    _, splits_csv, frame = aged
    names = {p.name for p in age_run.iterdir()}
    assert {"metrics.json", "oof_predictions.csv", "splits.csv", "run.json", "history.csv"} <= names
    assert {"model", "figures", "embeddings.npz"} <= names
    m = json.loads((age_run / "metrics.json").read_text())
    assert m["task"] == "age" and m["unit"] == "years" and m["loss"] == "l1"
    assert m["n_used"] == len(frame) - 1 and m["excluded"] == {"missing_target": 1}
    for key in ("mae", "rmse", "r2"):
        assert key in m and key in m["ci95"]
    assert np.isfinite(m["mae"]) and m["mae"] >= 0
    assert np.isfinite(m["chance"]["training_mean"]["mae"])
    assert set(m["age_groups"]["per_group"]) <= set(AGE_GROUPS)
    assert {"train_mae", "test_mae", "gap_mae"} <= set(m["overfitting"]["mean"])
    oof = pd.read_csv(age_run / "oof_predictions.csv", dtype={"id": str})
    assert list(oof.columns) == ["id", "fold", "subject", "status", "y_true", "y_pred"]
    assert len(oof) == len(frame) and oof["id"].tolist() == frame["id"].tolist()
    assert oof["y_true"].dtype == float and oof["y_pred"].dtype == float
    assert (
        oof.loc[5, "status"] == "missing_target" and oof.loc[5, ["y_true", "y_pred"]].isna().all()
    )
    ok = oof["status"] == "ok"
    np.testing.assert_allclose(oof.loc[ok, "y_true"], frame.loc[ok, "age_years"], rtol=1e-5)
    shared = pd.read_csv(splits_csv, dtype={"id": str})
    merged = oof[ok].merge(shared, on="id", suffixes=("", "_split"))
    assert len(merged) == ok.sum() and (merged["fold"] == merged["fold_split"]).all()
    run = json.loads((age_run / "run.json").read_text())
    assert run["task"] == "age" and run["target"] == "age_years" and run["unit"] == "years"
    assert run["recipe"]["center_loss"] == 0 and run["recipe"]["label_smoothing"] == 0
    history = pd.read_csv(age_run / "history.csv")
    assert {"train_mae", "train_loss"} <= set(history.columns)
    assert set(history["fold"].astype(str)) == {"0", "1", "final"}
    for fig in ("predicted_vs_true", "training_curves", "overfitting"):
        assert (age_run / "figures" / f"{fig}.png").exists()
    assert {"fold_0.pt", "fold_1.pt", "final.pt", "model.json"} <= {
        p.name for p in (age_run / "model").iterdir()
    }
    net, meta = load_checkpoint(age_run / "model" / "final.pt")
    assert net.head.out_features == 1 and meta["task"] == "age" and meta["unit"] == "years"
    assert float(net.target_scale) > 0


def test_predict_assigns_age_groups_and_keeps_every_row(age_run, aged, tmp_path):
    manifest, _, frame = aged
    bad = frame.copy()
    bad.loc[0, "path"] = "images/nowhere.png"
    bad = bad.drop(columns=["age_years"])  # an adult dataset has no ages
    source = manifest.parent / "no_ages.csv"
    bad.to_csv(source, index=False)
    out = tmp_path / "groups.csv"
    argv = ["baseline", "predict", str(age_run), str(source), "--out", str(out)]
    assert main([*argv, "--device", "cpu", "--assign-age-groups"]) == 0
    pred = pd.read_csv(out, dtype={"id": str})
    assert list(pred.columns) == ["id", "status", "age_pred", "age_group"]
    assert len(pred) == len(frame) and pred.loc[0, "status"] == "missing_file"
    assert pd.isna(pred.loc[0, "age_pred"]) and pd.isna(pred.loc[0, "age_group"])
    ok = pred["status"] == "ok"
    assert pred.loc[ok, "age_pred"].notna().all()
    expected = assign_age_groups(pred.loc[ok, "age_pred"].to_numpy())
    assert pred.loc[ok, "age_group"].tolist() == expected.tolist()
    # custom boundaries and names
    argv_custom = [*argv, "--device", "cpu", "--assign-age-groups", "--age-bins", "0,100"]
    assert main([*argv_custom, "--age-labels", "anyone,centenarian"]) == 0
    assert set(pd.read_csv(out)["age_group"].dropna()) == {"anyone"}
    direct = BaselineRun(age_run).predict(source, device="cpu")
    assert "age_group" not in direct and direct["age_pred"].notna().sum() == ok.sum()


def test_ages_in_months_are_grouped_in_years(age_run, aged, tmp_path):
    manifest, _, _ = aged
    run = BaselineRun(age_run)
    run.model_info["unit"] = "months"  # the same network read as a months model
    pred = run.predict(manifest, device="cpu", age_groups=True)
    ok = pred["status"] == "ok"
    years = pred.loc[ok, "age_pred"].to_numpy() / 12
    assert pred.loc[ok, "age_group"].tolist() == assign_age_groups(years).tolist()


def test_age_cli_errors_are_one_line(aged, age_run, tmp_path, capsys):
    manifest, _, _ = aged
    base = ["baseline", "train", str(manifest), "--out", str(tmp_path / "r"), "--device", "cpu"]
    predict = ["baseline", "predict", str(age_run), str(manifest), "--out", str(tmp_path / "p.csv")]
    cases = [
        ([*base, "--task", "age", "--target", "mood"], "'mood' are not a number"),
        ([*base, "--task", "age", "--target", "age_days"], "no 'age_days' column"),
        (
            [*predict, "--assign-age-groups", "--age-bins", "0,8,4,13,18"],
            "must increase strictly",
        ),
        (
            [*predict, "--age-bins", "0,4"],
            "need --assign-age-groups",
        ),
    ]
    # without --target an age run reads age_years, else age_months
    months = pd.read_csv(manifest).drop(columns=["age_years"]).assign(age_months="about one")
    months.to_csv(tmp_path / "months.csv", index=False)
    train_months = ["baseline", "train", str(tmp_path / "months.csv"), "--out", str(tmp_path / "r")]
    cases.append(([*train_months, "--task", "age"], "of 'age_months' are not a number"))
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.csv").exists()
