"""The ResNet baseline on CPU with tiny images: seconds, no downloads."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from baselines import RECIPES, BaselineRun, load_faces, resolve_recipe, train_baseline
from baselines._faces import crop_face, read_face_table
from baselines._net import build_net, load_checkpoint, resolve_pretrained, save_checkpoint
from baselines._train import FaceStore, Runtime, predict
from geoface import GeofaceError
from geoface.cli import main
from geoface.splits import Splits, make_splits
from tests.conftest import HELEN, needs_helen

TINY = {"epochs": 1, "batch_size": 16}


def _tiny_run(source, out, **kw):
    """One epoch at 32 px on two folds, CPU, no final network."""
    opts = {
        "recipe": resolve_recipe("infant", **TINY),
        "folds": 2,
        "image_size": 32,
        "device": "cpu",
        "final": False,
        "n_boot": 200,
    }
    return train_baseline(source, out, **(opts | kw))


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    from geoface.simulate import write_simulated_dataset

    out = tmp_path_factory.mktemp("sim")
    return write_simulated_dataset(out, n_subjects=4, takes=1, image_size=64, random_state=2)


@pytest.fixture(scope="module")
def tiny_run(sim_csv, tmp_path_factory):
    frame = pd.read_csv(sim_csv, dtype=str)
    splits = make_splits(frame.assign(qc_status="ok"), folds=2, seed=0)
    out = tmp_path_factory.mktemp("runs") / "cnn"
    path = train_baseline(
        sim_csv,
        out,
        recipe=resolve_recipe("infant", **TINY),
        splits=splits,
        image_size=32,
        device="cpu",
        seed=0,
        n_boot=200,
    )
    return path, splits


def test_recipes_set_what_they_claim():
    infant = RECIPES["infant"]
    assert (infant.freeze, infant.dropout, infant.lr, infant.weight_decay) == ((), 0.5, 5e-4, 5e-4)
    assert (infant.label_smoothing, infant.center_loss) == (0.05, 0.0035)
    adult = RECIPES["adult"]
    assert "layer1" in adult.freeze and (
        adult.dropout,
        adult.lr,
        adult.weight_decay,
        adult.patience,
    ) == (0.7, 1e-5, 2e-3, 8)
    two = RECIPES["two-stage"]
    assert two.head_epochs > 0 and two.finetune_lr_factor < 1
    custom = resolve_recipe("adult", lr=0.01, epochs=None)
    assert custom.lr == 0.01 and custom.epochs == adult.epochs
    with pytest.raises(GeofaceError, match="recipe='kids' is not one of"):
        resolve_recipe("kids")
    with pytest.raises(GeofaceError, match=r"dropout=1.5 must be in \[0, 1\)"):
        resolve_recipe("infant", dropout=1.5)


def test_freezing_follows_the_recipe(sim_csv):
    from baselines._train import _set_trainable

    net, _ = build_net("resnet18", 7, dropout=0.7)
    _set_trainable(net, RECIPES["adult"], head_only=False)
    assert not any(p.requires_grad for p in net.backbone.layer1.parameters())
    assert not net.backbone.conv1.weight.requires_grad
    assert all(p.requires_grad for p in net.backbone.layer2.parameters())
    _set_trainable(net, RECIPES["two-stage"], head_only=True)
    assert not any(p.requires_grad for p in net.backbone.parameters())
    assert all(p.requires_grad for p in net.head.parameters())
    assert net.dropout.p == 0.7


def test_one_epoch_run_directory_is_complete(tiny_run):
    path, _ = tiny_run
    names = {p.name for p in path.iterdir()}
    assert {
        "metrics.json",
        "oof_predictions.csv",
        "splits.csv",
        "run.json",
        "history.csv",
        "embeddings.npz",
        "model",
        "figures",
    } <= names
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["n_used"] == 28 and len(metrics["overfitting"]["folds"]) == 2
    history = pd.read_csv(path / "history.csv")
    assert set(history["fold"].astype(str)) == {"0", "1", "final"}
    assert {"train_loss", "train_accuracy", "images_per_second"} <= set(history.columns)
    emb = np.load(path / "embeddings.npz")
    assert emb["embeddings"].shape == (28, 512)
    assert emb["fold_embeddings"].shape == (2, 28, 512) and list(emb["folds"]) == [0, 1]
    for slot, f in enumerate(emb["folds"]):  # each face's held-out embedding is in its fold's slice
        held_out = emb["fold"] == f
        np.testing.assert_allclose(
            emb["fold_embeddings"][slot][held_out],
            emb["embeddings"][held_out],
            rtol=2e-3,
            atol=2e-3,
        )
    assert (path / "figures" / "training_curves.png").exists()
    run = json.loads((path / "run.json").read_text())
    assert run["device"]["type"] == "cpu" and run["recipe"]["name"] == "infant"


def test_oof_covers_every_usable_id_once_on_the_shared_folds(tiny_run, sim_csv):
    path, splits = tiny_run
    oof = pd.read_csv(path / "oof_predictions.csv", dtype={"id": str})
    assert oof["id"].is_unique
    assert sorted(oof["id"]) == sorted(pd.read_csv(sim_csv, dtype=str)["id"])
    merged = oof.merge(splits.frame, on="id", suffixes=("", "_split"))
    assert (merged["fold"] == merged["fold_split"]).all()
    proba = oof[[c for c in oof.columns if c.startswith("proba_")]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_checkpoint_reloads_to_identical_outputs(tiny_run, tmp_path):
    path, _ = tiny_run
    net, meta = load_checkpoint(path / "model" / "final.pt")
    save_checkpoint(tmp_path / "again.pt", net, meta)
    again, _ = load_checkpoint(tmp_path / "again.pt")
    x = torch.rand(3, 3, 32, 32)
    with torch.inference_mode():
        np.testing.assert_array_equal(net(x)[0].numpy(), again(x)[0].numpy())
    # weights_only=True: the file holds tensors and plain data only
    torch.load(path / "model" / "final.pt", weights_only=True)


def test_predict_keeps_every_row(tiny_run, sim_csv, tmp_path):
    path, _ = tiny_run
    frame = pd.read_csv(sim_csv, dtype=str)
    frame.loc[0, "path"] = "images/missing.png"
    broken = sim_csv.parent / "images" / "broken.png"
    broken.write_bytes(b"not a png")
    frame.loc[1, "path"] = "images/broken.png"
    manifest = sim_csv.parent / "manifest_bad.csv"
    frame.to_csv(manifest, index=False)
    pred = BaselineRun(path).predict(manifest, device="cpu")
    assert len(pred) == len(frame)
    assert pred["status"].tolist()[:3] == ["missing_file", "unreadable", "ok"]
    assert pred.loc[:1, "y_pred"].isna().all() and pred.loc[2:, "y_pred"].notna().all()


def test_bad_images_are_excluded_and_counted(sim_csv, tmp_path):
    frame = pd.read_csv(sim_csv, dtype=str)
    bad = sim_csv.parent / "images" / "empty.png"
    bad.write_bytes(b"")
    frame.loc[3, "path"] = "images/empty.png"
    manifest = sim_csv.parent / "manifest_empty.csv"
    frame.to_csv(manifest, index=False)
    path = _tiny_run(manifest, tmp_path / "run")
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["excluded"] == {"unreadable": 1}
    oof = pd.read_csv(path / "oof_predictions.csv", dtype={"id": str})
    assert oof.loc[3, "status"] == "unreadable" and pd.isna(oof.loc[3, "y_pred"])


def test_deterministic_cpu_runs_are_identical(sim_csv, tmp_path):
    kw = {
        "recipe": resolve_recipe("two-stage", epochs=1, head_epochs=1, batch_size=16),
        "folds": 2,
        "image_size": 32,
        "device": "cpu",
        "final": False,
        "n_boot": 200,
        "deterministic": True,
        "seed": 5,
    }
    a = train_baseline(sim_csv, tmp_path / "a", **kw)
    b = train_baseline(sim_csv, tmp_path / "b", **kw)
    pd.testing.assert_frame_equal(
        pd.read_csv(a / "oof_predictions.csv"), pd.read_csv(b / "oof_predictions.csv")
    )
    assert torch.are_deterministic_algorithms_enabled() is False  # restored afterwards


def test_a_class_missing_from_a_training_fold(sim_csv, tmp_path):
    frame = pd.read_csv(sim_csv, dtype=str)
    # 'surprise' only in subject s001, which is alone in fold 1
    keep = (frame["label"] != "surprise") | (frame["subject"] == "s001")
    frame = frame[keep]
    manifest = sim_csv.parent / "manifest_missing.csv"
    frame.to_csv(manifest, index=False)
    fold = np.where(frame["subject"] == "s001", 1, 0)
    splits = Splits(
        pd.DataFrame({"id": frame["id"], "fold": fold, "subject": frame["subject"]}),
        group="subject",
    )
    path = train_baseline(
        manifest,
        tmp_path / "run",
        recipe=resolve_recipe("infant", **TINY),
        splits=splits,
        image_size=32,
        device="cpu",
        final=False,
        n_boot=200,
    )
    oof = pd.read_csv(path / "oof_predictions.csv")
    assert (oof.loc[oof["fold"] == 1, "proba_surprise"] < 1).all()
    assert json.loads((path / "metrics.json").read_text())["n_used"] == len(frame)


def test_pretrained_weights_come_from_cache_or_file_never_the_network(tmp_path, monkeypatch):
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    state = reference.state_dict()
    weights_file = tmp_path / "my_resnet18.pth"
    torch.save(state, weights_file)
    net, report = build_net("resnet18", 3, pretrained=str(weights_file))
    assert report.startswith("weights from")
    torch.testing.assert_close(net.backbone.conv1.weight, state["conv1.weight"])
    # torchvision's cache (TORCH_HOME) is used without any download
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    cached = tmp_path / "hub" / "hub" / "checkpoints" / url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    net, report = build_net("resnet18", 3, pretrained="imagenet")
    assert report.startswith("ImageNet")
    torch.testing.assert_close(net.backbone.layer4[1].bn2.weight, state["layer4.1.bn2.weight"])
    torch.save({"nonsense": torch.zeros(1)}, weights_file)
    with pytest.raises(GeofaceError, match="weights do not fit"):
        build_net("resnet18", 3, pretrained=str(weights_file))
    with pytest.raises(GeofaceError, match="is not 'imagenet', 'none' or a file"):
        build_net("resnet18", 3, pretrained="imagenet21k")


def test_pretrained_auto_uses_the_local_cache_or_falls_back_with_a_note(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    # nothing cached, downloads not allowed: from scratch, and the note says so
    resolved, note = resolve_pretrained("resnet18", "auto", allow_download=False)
    assert resolved == "none" and "trained from scratch" in note
    # the tests' environment forbids downloads for the default call too
    assert resolve_pretrained("resnet18", "auto")[0] == "none"
    assert resolve_pretrained("resnet18", "none") == ("none", None)
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    cached = tmp_path / "hub" / "hub" / "checkpoints" / url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(state, cached)
    resolved, note = resolve_pretrained("resnet18", "auto", allow_download=False)
    assert resolved == "imagenet" and str(cached) in note
    net, _ = build_net("resnet18", 3, pretrained=resolved)
    torch.testing.assert_close(net.backbone.conv1.weight, state["conv1.weight"])


def test_crops(sim_csv):
    frame, base = read_face_table(sim_csv)
    eyes = load_faces(frame.iloc[:2], base=base, size=40)
    assert eyes.align == "eyes" and eyes.images.shape == (2, 40, 40, 3)
    none = load_faces(frame.iloc[:2], base=base, size=40, align="none")
    assert none.images.shape == (2, 40, 40, 3) and not np.array_equal(none.images, eyes.images)
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 20:40] = 255
    out = crop_face(img, 20, align="box", landmarks=None, box=(20, 40, 20, 20))
    assert out.shape == (20, 20, 3) and out[10, 10].mean() == 255  # the box is centred
    with pytest.raises(GeofaceError, match="align='eyes' needs landmarks"):
        load_faces(frame[["id", "path"]], base=base, align="eyes")


def test_cli_train_and_predict(sim_csv, tmp_path, capsys):
    code = main(
        [
            "baseline",
            "train",
            str(sim_csv),
            "--out",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--image-size",
            "32",
            "--folds",
            "2",
            "--no-final",
            "--bootstrap",
            "200",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "resnet18-infant on 28 faces" in out and "balanced accuracy" in out
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    # the default --pretrained auto found no weights offline: from scratch, with a note
    assert info["pretrained"] == "none" and "from scratch" in info["pretrained_note"]
    code = main(
        [
            "baseline",
            "predict",
            str(tmp_path / "run"),
            str(sim_csv),
            "--out",
            str(tmp_path / "pred.csv"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0 and len(pd.read_csv(tmp_path / "pred.csv")) == 28
    store = FaceStore(np.zeros((2, 32, 32, 3), np.uint8), torch.device("cpu"))
    net, _ = build_net("resnet18", 7)
    proba, emb = predict(net, store, np.arange(2), Runtime(device=torch.device("cpu")))
    assert proba.shape == (2, 7) and emb.shape == (2, 512)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_requested_without_gpu_is_one_line(sim_csv, tmp_path, capsys):
    code = main(
        ["baseline", "train", str(sim_csv), "--out", str(tmp_path / "r"), "--device", "cuda"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no CUDA GPU" in err and len(err.splitlines()) == 1


@needs_helen
def test_runs_on_real_photographs(tmp_path):
    from geoface.landmarks import read_pts, write_landmark_csv

    pts = sorted(HELEN.glob("*.pts"))[:12]
    meta = pd.DataFrame(
        {
            "id": [p.stem for p in pts],
            "path": [str(p.with_suffix(".jpg")) for p in pts],
            "subject": [p.stem for p in pts],
            "label": ["a", "b"] * 6,
        }
    )
    csv = tmp_path / "helen.csv"
    write_landmark_csv(csv, np.stack([read_pts(p) for p in pts]), meta)
    path = _tiny_run(csv, tmp_path / "run")
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["n_used"] == 12 and metrics["excluded"] == {}


def test_gpu_out_of_memory_halves_the_batch(sim_csv, monkeypatch):
    from baselines import _train

    real_epoch = _train._epoch
    calls = []

    def flaky_epoch(*args):
        calls.append(args[3])  # the batch size
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_epoch(*args)

    monkeypatch.setattr(_train, "_epoch", flaky_epoch)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    frame, base = read_face_table(sim_csv)
    faces = load_faces(frame, base=base, size=32)
    store = FaceStore(faces.images, torch.device("cpu"))
    y = np.searchsorted(sorted(frame["label"].unique()), frame["label"].to_numpy())
    messages = []
    _train.train_network(
        store,
        y,
        np.arange(len(y)),
        np.array([], int),
        7,
        resolve_recipe("infant", epochs=1, batch_size=16),
        Runtime(device=torch.device("cpu")),
        log=messages.append,
    )
    assert calls == [16, 8]
    assert any("batch size halved to 8" in m for m in messages)
