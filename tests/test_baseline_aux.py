"""Auxiliary Action-Unit heads beside the emotion head: losses, metrics, run directory, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from baselines import BaselineRun, combined_loss, masked_bce
from baselines._aux import aux_metrics, weighted_auc
from baselines._net import build_net, load_checkpoint
from baselines._objectives import make_objective
from baselines._targets import aux_matrix, parse_aux_targets
from geoface import GeofaceError
from geoface.cli import main

TINY = ["--epochs", "1", "--batch-size", "16", "--image-size", "32", "--bootstrap", "100"]


@pytest.fixture(scope="module")
def with_aus(tmp_path_factory):
    """Simulated faces with AU4 and AU12 columns (some AU4 blank) and an intensity column."""
    from geoface.simulate import write_simulated_dataset

    out = tmp_path_factory.mktemp("aus")
    csv = write_simulated_dataset(out, n_subjects=4, takes=1, image_size=48, random_state=4)
    frame = pd.read_csv(csv, dtype={"id": str, "subject": str})
    au4 = np.array(frame["label"].isin(["anger", "sad", "fear"]), dtype=float)
    au12 = np.array(frame["label"] == "happy", dtype=float)
    au4[:3] = np.nan
    extra = pd.DataFrame(
        {"AU4": au4, "AU12": au12, "AU6_r": np.linspace(0, 5, len(frame))}, index=frame.index
    )
    frame = pd.concat([frame, extra], axis=1).copy()
    manifest = out / "aus.csv"
    frame.to_csv(manifest, index=False)
    return manifest, frame


@pytest.fixture(scope="module")
def aux_run(with_aus, tmp_path_factory):
    manifest, _ = with_aus
    out = tmp_path_factory.mktemp("runs") / "aux"
    argv = ["baseline", "train", str(manifest), "--out", str(out), "--aux-targets", "AU4,AU12"]
    argv += ["--aux-weight", "0.3", "--folds", "2", "--device", "cpu", "--quiet", *TINY]
    assert main(argv) == 0
    return out


# ----------------------------------------------------------------------------- losses


def _batch():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -0.3], [-1.5, 1.0, 0.0], [0.0, 0.0, 3.0]])
    y = torch.tensor([0, 1, 1, 2])
    aux_logits = torch.tensor([[0.5, -2.0], [1.5, 0.3], [-0.7, 0.9], [2.2, -0.1]])
    aux_t = torch.tensor([[1.0, float("nan")], [0.0, 1.0], [float("nan"), float("nan")], [1.0, 0]])
    return logits, y, aux_logits, aux_t


def test_combined_loss_is_emotion_loss_plus_weighted_masked_bce():
    logits, y, aux_logits, aux_t = _batch()
    main_loss = F.cross_entropy(logits, y)
    total, aux = combined_loss(main_loss, aux_logits, aux_t, 0.5)
    # by hand: BCE of the five observed entries, averaged
    observed = [(0, 0), (1, 0), (1, 1), (3, 0), (3, 1)]
    bce = []
    for i, j in observed:
        z, t = float(aux_logits[i, j]), float(aux_t[i, j])
        p = 1 / (1 + np.exp(-z))
        bce.append(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    assert float(aux) == pytest.approx(np.mean(bce), rel=1e-6)
    assert float(total) == pytest.approx(float(main_loss) + 0.5 * np.mean(bce), rel=1e-6)
    same, none = combined_loss(main_loss, None, None, 0.5)
    assert none is None and same is main_loss


def test_masked_entries_get_no_gradient():
    _, _, aux_logits, aux_t = _batch()
    z = aux_logits.clone().requires_grad_(True)
    masked_bce(z, aux_t).backward()
    missing = torch.isnan(aux_t)
    assert (z.grad[missing] == 0).all()
    assert (z.grad[~missing] != 0).all()
    # the gradient of an observed entry is (sigmoid(z) - t) / number observed
    expected = (torch.sigmoid(aux_logits) - torch.nan_to_num(aux_t)) / (~missing).sum()
    torch.testing.assert_close(z.grad[~missing], expected[~missing])
    # nothing observed: zero loss, zero gradient, no NaN
    z2 = aux_logits.clone().requires_grad_(True)
    loss = masked_bce(z2, torch.full_like(aux_t, float("nan")))
    loss.backward()
    assert float(loss.detach()) == 0.0 and (z2.grad == 0).all()


def test_objective_adds_the_aux_head_of_a_real_network():
    torch.manual_seed(0)
    net, _ = build_net("resnet18", 3, dropout=0.0, n_aux=2)
    assert net.aux_head.out_features == 2
    net.eval()  # no dropout, frozen batch-norm statistics: the forward pass is fixed
    y = np.array([0, 1, 2, 0])
    aux = np.array([[1.0, np.nan], [0.0, 1.0], [np.nan, np.nan], [1.0, 0.0]])
    obj = make_objective(
        "classification",
        y,
        np.arange(3),  # one face of each class: the class weights are 1
        net,
        n_classes=3,
        aux=aux,
        aux_weight=0.25,
        device=torch.device("cpu"),
    )
    x = torch.rand(4, 3, 32, 32)
    b = torch.arange(4)
    out, emb = net(x)
    total = obj.loss(net, out, emb, b)
    by_hand = F.cross_entropy(out, torch.as_tensor(y)) + 0.25 * masked_bce(
        net.aux_head(emb), torch.as_tensor(aux, dtype=torch.float32)
    )
    torch.testing.assert_close(total, by_hand)


# ----------------------------------------------------------------------------- targets, metrics


def test_aux_columns_are_parsed():
    frame = pd.DataFrame(
        {
            "AU1": [1, 0, None, 1],
            "AU12": ["yes", "no", "", "present"],
            "au_25": [0.0, 1.0, 1.0, 0.0],
            "label": list("abcd"),
        }
    )
    assert parse_aux_targets("AU1, AU12", frame) == ["AU1", "AU12"]
    assert parse_aux_targets(None, frame) == []
    # "all": the binary AU columns, not intensities
    intensities = frame.assign(AU12_r=[0.0, 2.5, 5.0, 1.0])
    assert parse_aux_targets("all", intensities) == ["AU1", "AU12", "au_25"]
    np.testing.assert_array_equal(
        aux_matrix(frame, ["AU1", "AU12"]), [[1, 1], [0, 0], [np.nan, np.nan], [1, 1]]
    )
    with pytest.raises(GeofaceError, match=r"no column\(s\) \['AU99'\].*available: AU1, AU12"):
        parse_aux_targets("AU1,AU99", frame)
    with pytest.raises(GeofaceError, match="names a column twice"):
        parse_aux_targets("AU1,AU1", frame)
    with pytest.raises(GeofaceError, match="must be 0/1"):
        aux_matrix(frame.assign(AU1=[0, 3, 1, 2]), ["AU1"])
    with pytest.raises(GeofaceError, match="no binary Action-Unit columns"):
        parse_aux_targets("all", frame[["label"]])


def test_weighted_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    score = np.round(rng.uniform(size=40) + 0.4 * y, 1)  # rounded: ties
    w = rng.integers(0, 3, 40).astype(float)
    assert weighted_auc(y, score, np.ones(40)) == pytest.approx(roc_auc_score(y, score))
    assert weighted_auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w))
    many = weighted_auc(y, score, np.stack([np.ones(40), w]))
    np.testing.assert_allclose(
        many, [roc_auc_score(y, score), roc_auc_score(y, score, sample_weight=w)]
    )


def test_aux_metrics_skip_missing_values():
    targets = np.array([[1, np.nan], [0, 1], [1, 1], [0, np.nan], [1, 0], [0, 0]])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6], [0.4, 0.9], [0.6, 0.3], [0.1, 0.2]])
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    m = aux_metrics(["AU1", "AU2"], targets, proba, groups, weight=0.5, n_boot=50)
    assert m["per_target"]["AU1"]["auc"] == 1.0 and m["per_target"]["AU1"]["f1"] == 1.0
    assert m["per_target"]["AU2"]["n"] == 4 and m["per_target"]["AU2"]["n_positive"] == 2
    assert m["per_target"]["AU2"]["auc"] == 1.0
    assert m["mean_auc"] == 1.0 and m["weight"] == 0.5
    only_one = aux_metrics(["AU1"], np.ones((3, 1)), np.full((3, 1), 0.7), groups[:3], weight=1)
    assert only_one["per_target"]["AU1"]["auc"] is None


# ----------------------------------------------------------------------------- run directory


def test_aux_run_directory(aux_run, with_aus):
    _, frame = with_aus
    m = json.loads((aux_run / "metrics.json").read_text())
    # the emotion metrics keep their format
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "per_class", "confusion_matrix"):
        assert key in m
    assert m["task"] == "classification" and "balanced_accuracy" in m["ci95"]
    aux = m["aux"]
    assert aux["targets"] == ["AU4", "AU12"] and aux["weight"] == 0.3
    assert aux["per_target"]["AU4"]["n"] == len(frame) - 3  # blank AU values are not scored
    assert aux["per_target"]["AU12"]["n"] == len(frame)
    for name in ("AU4", "AU12"):
        assert 0 <= aux["per_target"][name]["auc"] <= 1
        assert set(aux["per_target"][name]["ci95"]) == {"auc", "f1"}
    oof = pd.read_csv(aux_run / "oof_predictions.csv")
    assert not any(c.startswith("AU") for c in oof.columns)
    assert sum(c.startswith("proba_") for c in oof.columns) == 7
    preds = pd.read_csv(aux_run / "aux_predictions.csv", dtype={"id": str})
    au_columns = ["AU4_true", "AU4_proba", "AU12_true", "AU12_proba"]
    assert list(preds.columns) == ["id", "fold", "subject", "status", *au_columns]
    assert preds["id"].tolist() == frame["id"].tolist()
    assert preds["AU4_true"].isna().sum() == 3 and preds["AU12_true"].notna().all()
    assert preds["AU4_proba"].between(0, 1).all()
    np.testing.assert_array_equal(preds["fold"], oof["fold"])
    run = json.loads((aux_run / "run.json").read_text())
    assert run["aux_targets"] == ["AU4", "AU12"] and run["aux_weight"] == 0.3
    net, meta = load_checkpoint(aux_run / "model" / "final.pt")
    assert net.aux_head.out_features == 2 and meta["aux_targets"] == ["AU4", "AU12"]
    assert "val_aux_loss" in pd.read_csv(aux_run / "history.csv").columns


def test_predict_adds_au_probabilities(aux_run, with_aus, tmp_path):
    manifest, frame = with_aus
    pred = BaselineRun(aux_run).predict(manifest, device="cpu")
    assert len(pred) == len(frame)
    assert {"y_pred", "proba_happy", "AU4_proba", "AU12_proba"} <= set(pred.columns)
    assert pred["AU12_proba"].between(0, 1).all()
    with pytest.raises(GeofaceError, match="needs an age run"):
        BaselineRun(aux_run).predict(manifest, device="cpu", age_groups=True)


def test_aux_cli_errors_are_one_line(with_aus, tmp_path, capsys):
    manifest, _ = with_aus
    base = ["baseline", "train", str(manifest), "--out", str(tmp_path / "r"), "--device", "cpu"]
    cases = [
        ([*base, "--aux-targets", "AU4,AU9"], "available: AU4, AU12, AU6_r"),
        ([*base, "--aux-targets", "AU6_r"], "'AU6_r' must be 0/1"),
        ([*base, "--aux-targets", "AU4", "--aux-weight", "-1"], "--aux-weight: -1 is negative"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(("geoface: error:", "geoface baseline train: error:")), err
        assert message in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
