"""geoface fuse: late and early fusion of runs on shared folds, without leakage."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.fusion import align_runs, concat_fusion, fit_weights, fuse_runs, late_fusion
from geoface.runs import write_json, write_oof

CLASSES = ["a", "b", "c"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Simulated faces → table → 3 shared folds → xgb and logreg runs and a 1-epoch CNN run."""
    from baselines import resolve_recipe, train_baseline
    from geoface.features import extract_table
    from geoface.landmarks import read_landmark_csv
    from geoface.models import fit_run
    from geoface.simulate import write_simulated_dataset
    from geoface.splits import make_splits

    root = tmp_path_factory.mktemp("fusion")
    csv = write_simulated_dataset(
        root / "sim", n_subjects=4, takes=1, image_size=48, random_state=2
    )
    landmarks, meta = read_landmark_csv(csv)
    table = extract_table(landmarks, meta)
    table.write(root / "features.csv")
    splits = make_splits(table.frame, folds=3, seed=0)
    for model in ("xgb", "logreg"):
        fit_run(
            table,
            root / model,
            model=model,
            splits=splits,
            n_boot=100,
            table_path=str(root / "features.csv"),
        )
    train_baseline(
        csv,
        root / "cnn",
        recipe=resolve_recipe("infant", epochs=1, batch_size=16),
        splits=splits,
        image_size=32,
        device="cpu",
        final=False,
        n_boot=100,
    )
    return root


def _proba(frame: pd.DataFrame) -> np.ndarray:
    return frame[[c for c in frame.columns if c.startswith("proba_")]].to_numpy(dtype=float)


# --------------------------------------------------------------------- late fusion
def test_mean_is_the_hand_average_and_the_run_directory_is_ordinary(project, tmp_path):
    from geoface.models import Run

    inputs = [project / n for n in ("xgb", "logreg", "cnn")]
    out = fuse_runs(inputs, tmp_path / "mean", method="mean", n_boot=100, command=["test"])
    fused = pd.read_csv(out / "oof_predictions.csv", dtype={"id": str})
    oofs = [pd.read_csv(p / "oof_predictions.csv", dtype={"id": str}) for p in inputs]
    assert fused["id"].tolist() == oofs[0]["id"].tolist()  # every input row, in order
    ok = (fused["status"] == "ok").to_numpy()
    assert ok.all()
    hand = np.mean([_proba(o) for o in oofs], axis=0)
    np.testing.assert_allclose(_proba(fused), hand, atol=2e-6)
    pd.testing.assert_series_equal(fused["fold"], oofs[0]["fold"])
    assert (fused["y_true"] == oofs[0]["y_true"]).all()

    names = {p.name for p in out.iterdir()}
    assert {"metrics.json", "oof_predictions.csv", "splits.csv", "run.json"} <= names
    assert (out / "figures" / "overfitting.png").exists()
    run = Run(out)  # read back like any run
    assert run.classes == Run(project / "xgb").classes
    assert run.metrics["model"] == "fusion-mean" and run.metrics["n_folds"] == 3
    ci = run.metrics["ci95"]["balanced_accuracy"]
    assert ci["low"] <= run.metrics["balanced_accuracy"] <= ci["high"]
    assert "uniform" in run.metrics["chance"]
    assert len(run.metrics["overfitting"]["folds"]) == 3
    assert [d["name"] for d in run.metrics["fusion"]["inputs"]] == ["xgb", "logreg", "cnn"]
    assert run.info["kind"] == "fusion" and run.info["method"] == "mean"
    assert run.info["command"] == ["test"] and "xgboost" in run.info["versions"]
    assert len(run.info["inputs"]) == 3 and "caveat" in run.info["leakage"]
    weights = run.info["weights"]["folds"][0]["weights"]
    assert weights == pytest.approx({"xgb": 1 / 3, "logreg": 1 / 3, "cnn": 1 / 3}, abs=1e-6)
    splits = pd.read_csv(out / "splits.csv")
    pd.testing.assert_frame_equal(splits, pd.read_csv(project / "xgb" / "splits.csv"))
    with pytest.raises(GeofaceError, match="fused run"):
        run.predict(None)


def test_fit_weights_is_on_the_simplex_and_minimises_log_loss():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    good = np.full((200, 3), 0.1)
    good[np.arange(200), y] = 0.8
    noise = rng.dirichlet(np.ones(3), size=200)
    w = fit_weights(np.stack([noise, good]), y)
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
    assert w[1] > 0.9

    def loss(v):
        mix = v[0] * noise + v[1] * good
        return -np.log(mix[np.arange(200), y]).mean()

    for t in np.linspace(0, 1, 21):  # no point of the simplex does better
        assert loss(w) <= loss(np.array([t, 1 - t])) + 1e-9


def _write_run(path, ids, fold, y, proba, *, status=None, target="label", classes=CLASSES):
    """A minimal run directory with an out-of-fold table (what late fusion reads)."""
    path.mkdir(parents=True)
    status = np.full(len(ids), "ok", dtype=object) if status is None else np.asarray(status)
    used = status == "ok"
    groups = np.array([f"s{i // 3}" for i in range(len(ids))])
    write_oof(
        path / "oof_predictions.csv",
        ids=ids,
        status=status,
        used=used,
        fold=fold[used],
        groups=groups[used],
        y=y[used],
        pred=proba[used].argmax(axis=1),
        proba=proba[used],
        classes=classes,
    )
    write_json(path / "metrics.json", {"classes": classes, "target": target, "group": "subject"})
    write_json(path / "run.json", {"model": path.name, "target": target, "group": "subject"})
    return path


@pytest.fixture()
def synthetic(tmp_path):
    """A perfect run and a noisy one on 60 faces of 20 subjects in 4 folds."""
    rng = np.random.default_rng(3)
    n = 60
    ids = np.array([f"f{i:02d}" for i in range(n)])
    fold = (np.arange(n) // 3) % 4
    y = rng.integers(0, 3, n)
    perfect = np.full((n, 3), 0.005)
    perfect[np.arange(n), y] = 0.99
    noisy = rng.dirichlet(np.ones(3), size=n)
    status = np.full(n, "ok", dtype=object)
    status[5] = "qc_no_face"
    return {
        "perfect": _write_run(tmp_path / "perfect", ids, fold, y, perfect),
        "noisy": _write_run(tmp_path / "noisy", ids, fold, y, noisy, status=status),
        "ids": ids,
        "fold": fold,
        "y": y,
        "noisy_proba": noisy,
    }


def test_weighted_gives_a_perfect_run_all_the_weight(synthetic, tmp_path):
    out = fuse_runs(
        [synthetic["noisy"], synthetic["perfect"]], tmp_path / "w", method="weighted", n_boot=100
    )
    info = json.loads((out / "run.json").read_text())
    folds = info["weights"]["folds"]
    assert len(folds) == 4
    for entry in [*folds, info["weights"]["final"]]:
        w = np.array([entry["weights"]["noisy"], entry["weights"]["perfect"]])
        assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-5)
        assert w[1] > 0.99
    fused = pd.read_csv(out / "oof_predictions.csv", dtype={"id": str})
    assert len(fused) == 60  # nothing dropped: the row the noisy run left out keeps why
    assert fused.loc[5, "status"] == "noisy:qc_no_face" and pd.isna(fused.loc[5, "y_pred"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["excluded"] == {"noisy:qc_no_face": 1}
    assert metrics["balanced_accuracy"] == 1.0
    rows = metrics["overfitting"]["folds"]  # the fold's combiner on its training rows vs held out
    assert {"train_balanced_accuracy", "test_balanced_accuracy"} <= set(rows[0])


def test_stack_writes_its_models_and_a_summary(project, tmp_path, capsys):
    from geoface.models import Run

    code, out, err = run_cli(
        capsys, "fuse", project / "xgb", project / "cnn", "--method", "stack",
        "--out", tmp_path / "stack", "--bootstrap", 100,
    )  # fmt: skip
    assert code == 0, err
    assert "fusion-stack on 28 faces of 4 subjects, 3 folds" in out
    assert "balanced accuracy" in out and "overfitting:" in out
    assert "inputs on the same faces: xgb balanced accuracy" in out
    assert "coefficient shares learnt on all faces" in out
    run = Run(tmp_path / "stack")
    models = run.fold_models()  # the stacking models, saved with skops
    assert sorted(models) == [0, 1, 2]
    model, present = models[0]
    assert model.coef_.shape[1] == 2 * 7 and len(present) >= 2
    assert run.model_info["feature_names"][0] == "xgb:log_proba_anger"


# ------------------------------------------------------------------ no leakage
def _corrupt_labels(src, dst, k, classes):
    """Copy a run and give every face of fold ``k`` a wrong label in its oof file."""
    shutil.copytree(src, dst)
    oof = pd.read_csv(dst / "oof_predictions.csv", dtype={"id": str})
    rows = oof["fold"] == k
    idx = oof.loc[rows, "y_true"].map({c: i for i, c in enumerate(classes)})
    oof.loc[rows, "y_true"] = [classes[(i + 1) % len(classes)] for i in idx]
    oof.to_csv(dst / "oof_predictions.csv", index=False, float_format="%.6g")
    return dst, oof.loc[rows, "id"].tolist()


def _fused(aligned, method, features=None):
    if method == "concat":
        return concat_fusion(aligned, features=features, embedding_dims=8).proba
    return late_fusion(aligned.proba, aligned.y, aligned.fold, method).proba


@pytest.fixture(scope="module")
def concat_clean(project):
    """Out-of-fold probabilities of early fusion on the untouched runs (computed once)."""
    return _fused(align_runs([project / "xgb", project / "cnn"]), "concat")


@pytest.mark.parametrize("method", ["weighted", "stack", "concat"])
def test_fusion_never_sees_the_test_fold_labels(project, tmp_path, method, concat_clean):
    from geoface.features import FeatureTable

    names = ("xgb", "cnn") if method == "concat" else ("xgb", "logreg", "cnn")
    clean = align_runs([project / n for n in names])
    classes = clean.classes
    k = 1
    dirty_dirs = []
    for n in names:
        path, corrupted_ids = _corrupt_labels(project / n, tmp_path / n, k, classes)
        dirty_dirs.append(path)
    table = FeatureTable.read(project / "features.csv")
    bad = table.frame["id"].astype(str).isin(corrupted_ids)
    table.frame.loc[bad, "label"] = "sad"  # the table's labels too
    table.write(tmp_path / "features.csv")
    dirty = align_runs(dirty_dirs)
    test = clean.fold == k
    assert (dirty.y[test] != clean.y[test]).all() and (dirty.y[~test] == clean.y[~test]).all()

    features = tmp_path / "features.csv" if method == "concat" else None
    a = concat_clean if method == "concat" else _fused(clean, method)
    b = _fused(dirty, method, features)
    assert np.array_equal(a[test], b[test])  # bitwise: fold k's labels were never read for it
    assert not np.array_equal(a[~test], b[~test])  # the other folds did learn from them


def test_concat_uses_only_the_slice_of_each_fold(project, tmp_path, concat_clean):
    shutil.copytree(project / "cnn", tmp_path / "cnn")
    path = tmp_path / "cnn" / "embeddings.npz"
    with np.load(path) as z:
        emb = dict(z)
    k = 2
    slot = int(np.flatnonzero(emb["folds"] == k)[0])
    poisoned = emb["fold_embeddings"].copy()
    others = np.arange(len(emb["folds"])) != slot
    # networks trained on fold k's faces: their slices must not touch fold k
    noise = np.random.default_rng(0).normal(0, 2e4, size=poisoned[others].shape)
    poisoned[others] = np.clip(noise, -6e4, 6e4).astype(np.float16)
    np.savez_compressed(path, **{**emb, "fold_embeddings": poisoned})

    clean = align_runs([project / "xgb", project / "cnn"])
    dirty = align_runs([project / "xgb", tmp_path / "cnn"])
    a = concat_clean
    b = concat_fusion(dirty, embedding_dims=8).proba
    test = clean.fold == k
    assert np.array_equal(a[test], b[test])
    assert not np.array_equal(a[~test], b[~test])

    poisoned = emb["fold_embeddings"].copy()
    poisoned[slot, 0] = np.nan
    np.savez_compressed(path, **{**emb, "fold_embeddings": poisoned})
    with pytest.raises(GeofaceError, match=f"slice of fold {k} holds non-finite"):
        concat_fusion(align_runs([project / "xgb", tmp_path / "cnn"]), embedding_dims=8)


# ------------------------------------------------------- early fusion + explain
@pytest.fixture(scope="module")
def concat_run(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("concat") / "concat"
    return fuse_runs(
        [project / "xgb", project / "cnn"], out, method="concat", embedding_dims=6, n_boot=100
    )


def test_concat_run_directory(concat_run, project):
    from geoface.models import Run

    run = Run(concat_run)
    assert run.metrics["model"] == "fusion-concat" and run.metrics["n_used"] == 28
    names = run.feature_names
    assert names[-6:] == [f"cnn_pc_0{i}" for i in range(1, 7)]
    assert run.table_feature_names == Run(project / "xgb").feature_names
    assert sorted(run.fold_models()) == [0, 1, 2]
    with np.load(concat_run / "model" / "embedding_pca.npz") as z:
        assert z["reduced"].shape == (3, 28, 6) and z["components"].shape == (3, 6, 512)
    assert run.info["embedding"]["n_components"] == 6
    assert run.info["table"]["path"] == str((project / "features.csv").resolve())
    with pytest.raises(GeofaceError, match="no saved model"):
        run.final_model()


def test_explain_attributes_the_embedding_to_one_pseudo_region(concat_run, tmp_path, capsys):
    from geoface.explain import Explanation

    code, _, err = run_cli(
        capsys, "explain", concat_run, "--out", tmp_path / "ex", "--bootstrap", 50,
        "--figures", "regions",
    )  # fmt: skip
    assert code == 0, err
    regions = pd.read_csv(tmp_path / "ex" / "regions.csv")
    assert "cnn" in set(regions["region"]) and "mouth" in set(regions["region"])
    assert (regions.loc[regions["region"] == "cnn", "n_features"] == 6).all()
    expl = Explanation.read(tmp_path / "ex")
    assert expl.values.shape[1] == expl.hierarchy.n_features == 602 + 6
    assert expl.info["additivity_max_error"] < 1e-3
    reg = expl.region_values()
    np.testing.assert_allclose(reg.sum(axis=1), expl.values.sum(axis=1), atol=1e-9)
    # each face was explained with its own fold's embedding components
    with np.load(concat_run / "model" / "embedding_pca.npz") as z:
        where = {i: n for n, i in enumerate(z["ids"])}
        slot = {int(f): s for s, f in enumerate(z["folds"])}
        expect = np.array(
            [z["reduced"][slot[f], where[i]] for i, f in zip(expl.ids, expl.folds, strict=True)]
        )
    np.testing.assert_array_equal(expl.features[:, -6:], expect)
    code, _, err = run_cli(capsys, "explain", concat_run, "--out", tmp_path / "fin", "--final")
    assert code == 2 and "no final model" in err and len(err.strip().splitlines()) == 1


def test_explain_refuses_a_late_fusion_run(synthetic, tmp_path, capsys):
    out = fuse_runs([synthetic["noisy"], synthetic["perfect"]], tmp_path / "m", n_boot=100)
    code, _, err = run_cli(capsys, "explain", out, "--out", tmp_path / "ex")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("geoface: error:") and "late-fusion run (mean)" in err


def test_hierarchy_with_a_pseudo_region(mesh):
    from geoface.explain import FeatureHierarchy

    plain = FeatureHierarchy(mesh)
    hier = FeatureHierarchy(mesh, extra={"cnn": ["e1", "e2", "e3"]})
    assert hier.regions == [*plain.regions, "cnn"]
    assert hier.n_features == plain.n_features + 3
    assert hier.region_sizes[-1] == 3 and hier.elements.iloc[-1]["key"] == "cnn"
    values = np.random.default_rng(0).normal(size=(2, hier.n_features, 1))
    reg = hier.to_regions(values)
    np.testing.assert_allclose(reg[:, -1, 0], values[:, -3:, 0].sum(axis=1))
    np.testing.assert_allclose(reg[:, :-1], plain.to_regions(values[:, :-3]))
    assert hier.linkage().shape == (hier.n_features - 1, 4)
    with pytest.raises(ValueError, match="clash"):
        FeatureHierarchy(mesh, extra={"mouth": ["x"]})


# --------------------------------------------------------------------- refusals
def _edit_oof(path, fn):
    oof = pd.read_csv(path / "oof_predictions.csv", dtype={"id": str})
    fn(oof).to_csv(path / "oof_predictions.csv", index=False)


def _edit_json(path, name, fn):
    doc = json.loads((path / name).read_text())
    fn(doc)
    (path / name).write_text(json.dumps(doc))


def _other_fold(oof):
    oof.loc[0, "fold"] = (oof.loc[0, "fold"] + 1) % 3
    return oof


def _rename_class(path):
    _edit_oof(path, lambda o: o.rename(columns={"proba_sad": "proba_sorrow"}))
    renamed = [
        "sorrow" if c == "sad" else c
        for c in json.loads((path / "metrics.json").read_text())["classes"]
    ]
    _edit_json(path, "metrics.json", lambda d: d.update(classes=renamed))


MISMATCHES = {
    "fold": (lambda p: _edit_oof(p, _other_fold), "different folds, e.g. id"),
    "ids": (lambda p: _edit_oof(p, lambda o: o.iloc[1:]), "cover different faces"),
    "target": (
        lambda p: _edit_json(p, "run.json", lambda d: d.update(target="age_group")),
        "predict different targets ('label' vs 'age_group')",
    ),
    "classes": (_rename_class, "have different classes"),
    "label": (
        lambda p: _edit_oof(p, lambda o: o.assign(y_true=o["y_true"].where(o.index != 3, "sad"))),
        "disagree on the label of",
    ),
}


@pytest.mark.parametrize("what", list(MISMATCHES))
def test_mismatched_runs_are_refused_in_one_line(project, tmp_path, capsys, what):
    edit, message = MISMATCHES[what]
    other = tmp_path / "logreg"
    shutil.copytree(project / "logreg", other)
    if what == "label":
        oof = pd.read_csv(other / "oof_predictions.csv", dtype={"id": str})
        assert oof.loc[3, "y_true"] != "sad"
    edit(other)
    code, out, err = run_cli(
        capsys, "fuse", project / "xgb", other, "--out", tmp_path / "f", "--bootstrap", 100
    )
    assert code == 2 and out == ""
    assert err.startswith("geoface: error: runs xgb and logreg") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f").exists()


def test_other_refusals(project, tmp_path):
    with pytest.raises(GeofaceError, match="at least two run directories"):
        fuse_runs([project / "xgb"], tmp_path / "f")
    with pytest.raises(GeofaceError, match="given twice"):
        fuse_runs([project / "xgb", project / "xgb"], tmp_path / "f")
    with pytest.raises(GeofaceError, match="one 'geoface fit' run and one CNN run"):
        fuse_runs([project / "xgb", project / "logreg"], tmp_path / "f", method="concat")
    with pytest.raises(GeofaceError, match="method='vote' is not one of"):
        fuse_runs([project / "xgb", project / "cnn"], tmp_path / "f", method="vote")
    with pytest.raises(GeofaceError, match="is not a geoface run directory"):
        fuse_runs([project / "xgb", project / "sim"], tmp_path / "f")
    (tmp_path / "exists").mkdir()
    with pytest.raises(GeofaceError, match="exists"):
        fuse_runs([project / "xgb", project / "cnn"], tmp_path / "exists")
