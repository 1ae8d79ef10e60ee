import json
import shutil

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.explain import (
    Explanation,
    FeatureHierarchy,
    contrast_values,
    element_table,
    explain_estimator,
    explain_run,
    region_table,
    resolve_explainer,
    summarise_background,
)
from geoface.explain._engines import import_shap
from geoface.features import FeatureTable, extract_table, feature_mirror
from geoface.mesh import REGIONS
from geoface.models import Run, fit_run
from geoface.simulate import simulate_landmarks
from geoface.splits import Splits


@pytest.fixture(scope="module")
def table():
    sim = simulate_landmarks(n_subjects=8, takes=2, random_state=5)
    lm = sim.landmarks.copy()
    lm[0] = np.nan  # one failed face: skipped and counted
    return extract_table(lm, sim.meta)


@pytest.fixture(scope="module")
def runs(table, tmp_path_factory):
    root = tmp_path_factory.mktemp("explain_runs")
    return {
        m: fit_run(table, root / m, model=m, folds=4, seed=0, n_boot=200)
        for m in ("xgb", "logreg", "svm")
    }


@pytest.fixture(scope="module")
def xgb_expl(runs, table):
    return explain_run(runs["xgb"], table)


# ----------------------------------------------------------------- hierarchy
def test_hierarchy_groups_features_into_elements_and_regions(mesh):
    h = FeatureHierarchy(mesh)
    assert h.n_features == 4 * mesh.n_triangles + mesh.n_edges
    assert h.regions == list(REGIONS)
    assert h.region_sizes.sum() == h.n_features
    counts = h.elements.groupby("element")["n_features"].unique()
    assert counts["triangle"].tolist() == [4] and counts["edge"].tolist() == [1]
    assert h.elements.loc[41, "label"] == f"{mesh.triangle_regions[41]} · tri 41"
    assert h.region_sizes[h.regions.index("mouth")] == 200  # about a third of 602


def test_summing_into_elements_and_regions_is_exactly_additive(mesh):
    h = FeatureHierarchy(mesh)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, h.n_features, 3))
    elements, regions = h.to_elements(v), h.to_regions(v)
    assert elements.shape == (5, mesh.n_triangles + mesh.n_edges, 3)
    assert regions.shape == (5, len(REGIONS), 3)
    np.testing.assert_allclose(elements.sum(axis=1), v.sum(axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(regions.sum(axis=1), v.sum(axis=1), rtol=1e-12, atol=1e-12)
    # a region is the sum of its elements
    el_region = pd.Index(h.regions).get_indexer(h.elements["region"])
    np.testing.assert_allclose(regions[:, 2], elements[:, el_region == 2].sum(axis=1), atol=1e-12)
    # triangle 7 is its area plus its three angles
    names = h.feature_map["feature"].tolist()
    tri7 = [names.index(n) for n in ("tri_007_area", *(f"tri_007_angle_{j}" for j in (1, 2, 3)))]
    np.testing.assert_allclose(elements[:, 7], v[:, tri7].sum(axis=1))
    with pytest.raises(ValueError, match="do not hold 602 features"):
        h.to_regions(v[:, :10])


def test_partition_tree_is_the_region_hierarchy(mesh):
    from scipy.cluster.hierarchy import is_valid_linkage, to_tree

    h = FeatureHierarchy(mesh)
    linkage = h.linkage()
    assert linkage.shape == (h.n_features - 1, 4) and is_valid_linkage(linkage)
    clusters = set()

    def leaves(node):
        ids = frozenset(node.pre_order())
        clusters.add(ids)
        if not node.is_leaf():
            leaves(node.left)
            leaves(node.right)

    leaves(to_tree(linkage))
    for r, region in enumerate(h.regions):
        assert frozenset(np.flatnonzero(h.region_of_feature == r).tolist()) in clusters, region
    for e in (0, 41, mesh.n_triangles + 5):  # triangles and an edge are coalitions too
        assert frozenset(np.flatnonzero(h.element_of_feature == e).tolist()) in clusters
    upper = {"brows", "glabella", "eyes"}
    upper_features = np.isin(h.feature_map["region"], list(upper))
    assert frozenset(np.flatnonzero(upper_features).tolist()) in clusters


# ------------------------------------------------------------------- engines
def test_explainer_choice_and_refusals():
    assert resolve_explainer("xgb") == "tree" and resolve_explainer("svm") == "partition"
    assert resolve_explainer("logreg") == "linear" and resolve_explainer("rf") == "tree"
    assert resolve_explainer("svm-linear") == "linear"
    assert resolve_explainer("logreg", "partition") == "partition"
    with pytest.raises(GeofaceError, match="model 'cnn' has no SHAP explainer"):
        resolve_explainer("cnn")
    with pytest.raises(GeofaceError, match=r"explainer='tree' cannot explain a 'svm' model"):
        resolve_explainer("svm", "tree")
    with pytest.raises(GeofaceError, match=r"explainer='kernel' is not one of"):
        resolve_explainer("svm", "kernel")


def test_tree_explainer_is_shaps_treeshap_in_margin_space(runs, table):
    model, _ = Run(runs["xgb"]).final_model()
    X = table.features[table.ok][:20]
    res = explain_estimator(model, X, explainer="tree", model_name="xgb")
    shap = import_shap()
    reference = np.asarray(shap.TreeExplainer(model).shap_values(X))
    np.testing.assert_allclose(res.values, reference, atol=1e-5)
    margin = model.get_booster().predict(
        __import__("xgboost").DMatrix(X), output_margin=True, strict_shape=True
    )
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, margin, atol=1e-4)


def test_linear_explainer_is_exact_in_logit_space(runs, table):
    model, _ = Run(runs["logreg"]).final_model()
    X = table.features[table.ok]
    res = explain_estimator(model, X[:15], explainer="linear", model_name="logreg")
    logits = model.decision_function(X[:15])
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, logits, atol=1e-10)
    shap = import_shap()
    scaler, clf = model.steps[0][1], model.steps[1][1]
    Z = scaler.transform(X)
    # the model's training data: every face and its mirror image (mirror augmentation)
    train = np.vstack([Z, scaler.transform(X[:, feature_mirror(table.mesh)])])
    masker = shap.maskers.Independent(train, max_samples=len(train))
    reference = shap.LinearExplainer(clf, masker)
    np.testing.assert_allclose(res.values, reference(Z[:15]).values, atol=1e-8)


def test_partition_explainer_is_additive_in_probability_space(runs, table):
    model, _ = Run(runs["svm"]).final_model()
    X = table.features[table.ok]
    bg = summarise_background(X, 5, seed=0)
    assert bg.shape == (5, X.shape[1])
    h = FeatureHierarchy(table.mesh)
    kw = {"explainer": "partition", "model_name": "svm", "hierarchy": h, "background": bg}
    res = explain_estimator(model, X[:3], max_evals=60, n_jobs=1, **kw)
    proba = model.predict_proba(X[:3])
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, proba, atol=1e-10)
    assert 0 < res.evaluations <= 3 * (60 + 2) * len(bg)
    again = explain_estimator(model, X[:3], max_evals=60, n_jobs=1, **kw)
    np.testing.assert_array_equal(res.values, again.values)  # seeded
    threaded = explain_estimator(model, X[:3], max_evals=60, n_jobs=2, **kw)
    np.testing.assert_allclose(
        threaded.values.sum(axis=1) + threaded.base_values, proba, atol=1e-10
    )
    assert threaded.evaluations == res.evaluations


def test_background_of_few_faces_is_the_faces_themselves():
    X = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(summarise_background(X, 10), X)


# --------------------------------------------------------------- explain_run
def test_each_face_is_explained_by_the_fold_that_did_not_train_on_it(runs, table, xgb_expl):
    run = Run(runs["xgb"])
    oof = run.oof_predictions().set_index("id")
    assert xgb_expl.info["mode"] == "out-of-fold" and xgb_expl.info["explainer"] == "tree"
    assert xgb_expl.info["space"] == "margin"
    assert xgb_expl.info["skipped"] == {"qc_nonfinite_landmarks": 1}
    assert xgb_expl.n_faces == len(table.frame) - 1
    np.testing.assert_array_equal(xgb_expl.folds, oof.loc[xgb_expl.ids, "fold"].to_numpy())
    for fold, (model, present) in run.fold_models().items():
        rows = np.flatnonzero(xgb_expl.folds == fold)
        direct = explain_estimator(
            model, xgb_expl.features[rows], explainer="tree", model_name="xgb"
        )
        np.testing.assert_allclose(xgb_expl.values[rows][:, :, present], direct.values)
        # the explained output is the fold model's out-of-fold prediction (softmax of margins)
        out = xgb_expl.output[rows][:, present]
        proba = np.exp(out - out.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        cols = [f"proba_{run.classes[c]}" for c in present]
        np.testing.assert_allclose(proba, oof.loc[xgb_expl.ids[rows], cols], atol=1e-5)
    assert xgb_expl.info["additivity_max_error"] < 1e-4
    assert set(xgb_expl.subjects) == set(table.frame["subject"][table.ok])
    assert (xgb_expl.labels == table.frame.set_index("id").loc[xgb_expl.ids, "label"]).all()


def test_region_sums_add_up_to_the_model_output(xgb_expl):
    regions = xgb_expl.region_values()
    total = regions.sum(axis=1) + xgb_expl.base_values
    np.testing.assert_allclose(total, xgb_expl.output, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        xgb_expl.element_values().sum(axis=1), xgb_expl.values.sum(axis=1), atol=1e-10
    )


def test_final_mode_uses_the_refitted_model(runs, table):
    expl = explain_run(runs["logreg"], table, final=True)
    assert expl.info["mode"] == "final" and (expl.folds == -1).all()
    model, _ = Run(runs["logreg"]).final_model()
    logits = model.decision_function(expl.features)
    np.testing.assert_allclose(expl.output, logits, atol=1e-10)
    assert expl.space == "logit"


def test_max_rows_explains_a_seeded_subset(runs, table):
    a = explain_run(runs["logreg"], table, max_rows=10, seed=3)
    b = explain_run(runs["logreg"], table, max_rows=10, seed=3)
    assert a.n_faces == 10 and a.info["skipped"]["over_max_rows"] == len(table.frame) - 1 - 10
    np.testing.assert_array_equal(a.ids, b.ids)


def test_svm_run_is_explained_by_the_partition_explainer(runs, table):
    expl = explain_run(runs["svm"], table, max_rows=6, background=4, max_evals=40)
    assert expl.info["explainer"] == "partition" and expl.space == "probability"
    assert expl.n_faces == 6 and expl.info["cost"]["per_face_at_most"] == 160
    assert expl.info["additivity_max_error"] < 1e-10
    oof = Run(runs["svm"]).oof_predictions().set_index("id")
    cols = [f"proba_{c}" for c in expl.classes]
    np.testing.assert_allclose(expl.output, oof.loc[expl.ids, cols], atol=1e-5)


def test_a_class_missing_from_a_training_fold_has_no_values_in_margin_space(table, tmp_path):
    frame = table.frame[table.ok].reset_index(drop=True)
    subjects = sorted(frame["subject"].unique())
    # one subject keeps its "happy" faces, alone in fold 0: fold 0's model never sees "happy"
    fold = 1 + pd.Index(subjects).get_indexer(frame["subject"]) % 2
    happy_subject = frame.loc[frame["label"] == "happy", "subject"].iloc[0]
    keep = (frame["label"] != "happy") | (frame["subject"] == happy_subject)
    fold = np.where(frame["subject"] == happy_subject, 0, fold)[keep.to_numpy()]
    frame = frame[keep].reset_index(drop=True)
    ids = pd.DataFrame({"id": frame["id"], "fold": fold, "subject": frame["subject"]})
    t = FeatureTable(frame, table.mesh, table.info)
    run = fit_run(t, tmp_path / "gap", model="xgb", splits=Splits(ids, "subject"), n_boot=200)
    expl = explain_run(run, t)
    k = expl.classes.index("happy")
    in_fold0 = expl.folds == 0
    assert np.isnan(expl.values[in_fold0][:, :, k]).all()
    assert np.isfinite(expl.values[~in_fold0][:, :, k]).all()
    regions = region_table(expl, n_boot=50)
    happy = regions[regions["class"] == "happy"]
    assert (happy["n_faces"] == (~in_fold0).sum()).all()  # faces without values are left out


# --------------------------------------------------------------- summaries
def test_region_table_totals_per_feature_and_intervals(xgb_expl):
    regions = region_table(xgb_expl, n_boot=300, seed=1)
    assert len(regions) == len(xgb_expl.classes) * len(REGIONS)
    assert list(regions["region"][: len(REGIONS)]) == list(REGIONS)
    np.testing.assert_allclose(
        regions["mean_abs_per_feature"], regions["mean_abs_total"] / regions["n_features"]
    )
    for stat in ("mean_abs_total", "mean_signed_total"):
        assert (regions[f"{stat}_low"] <= regions[stat] + 1e-12).all()
        assert (regions[f"{stat}_high"] >= regions[stat] - 1e-12).all()
    np.testing.assert_allclose(regions.groupby("class")["share"].sum(), 1.0)
    assert set(regions.groupby("class")["rank"].min()) == {1}
    reg = xgb_expl.region_values()
    k, r = xgb_expl.class_index("happy"), REGIONS.index("mouth")
    row = regions[(regions["class"] == "happy") & (regions["region"] == "mouth")].iloc[0]
    assert row["mean_abs_total"] == pytest.approx(np.abs(reg[:, r, k]).mean())
    assert row["mean_signed_total"] == pytest.approx(reg[:, r, k].mean())
    again = region_table(xgb_expl, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(regions, again)


def test_region_table_over_each_class_uses_its_own_faces(xgb_expl):
    regions = region_table(xgb_expl, over="class", n_boot=0)
    counts = pd.Series(xgb_expl.labels).value_counts()
    for cls, part in regions.groupby("class"):
        assert (part["n_faces"] == counts[cls]).all()
    assert regions["mean_abs_total_low"].isna().all()  # no bootstrap asked for
    with pytest.raises(GeofaceError, match="over='faces' is not one of"):
        region_table(xgb_expl, over="faces")


def test_element_table(xgb_expl, mesh):
    elements = element_table(xgb_expl)
    assert len(elements) == len(xgb_expl.classes) * (mesh.n_triangles + mesh.n_edges)
    one = elements[elements["class"] == "fear"]
    ev = xgb_expl.element_values()[:, :, xgb_expl.class_index("fear")]
    np.testing.assert_allclose(one["mean_abs_total"], np.abs(ev).mean(axis=0))
    assert one.iloc[0]["label"].endswith("· tri 0")


def test_contrast_values_explain_the_log_odds_between_two_classes(xgb_expl):
    diff, rows = contrast_values(xgb_expl, "surprise", "fear")
    assert set(xgb_expl.labels[rows]) == {"surprise", "fear"}
    a, b = xgb_expl.class_index("surprise"), xgb_expl.class_index("fear")
    out = xgb_expl.output[rows]
    base = xgb_expl.base_values[rows]
    # φ_a − φ_b sum to log(p_a / p_b) minus its base value (softmax margins)
    np.testing.assert_allclose(
        diff.sum(axis=1), (out[:, a] - out[:, b]) - (base[:, a] - base[:, b])
    )
    with pytest.raises(GeofaceError, match="two different classes"):
        contrast_values(xgb_expl, "fear", "fear")
    with pytest.raises(GeofaceError, match="class 'joy' is not one of"):
        contrast_values(xgb_expl, "joy", "fear")


def test_two_classes_get_opposite_values(table, tmp_path):
    frame = table.frame.copy()
    frame["smile"] = np.where(frame["label"] == "happy", "yes", "no")
    t = FeatureTable(frame, table.mesh, table.info)
    run = fit_run(t, tmp_path / "smile", model="xgb", target="smile", folds=3, n_boot=200)
    expl = explain_run(run, t)
    assert expl.classes == ["no", "yes"]
    np.testing.assert_allclose(expl.values[:, :, 0], -expl.values[:, :, 1])
    assert (expl.labels[expl.predicted == 1] == "yes").mean() > 0.8
    assert set(np.unique(expl.labels)) == {"no", "yes"}


def test_write_and_read_back(xgb_expl, tmp_path):
    xgb_expl.write(tmp_path)
    back = Explanation.read(tmp_path)
    np.testing.assert_array_equal(back.values, xgb_expl.values)
    np.testing.assert_array_equal(back.ids, xgb_expl.ids)
    assert back.classes == xgb_expl.classes and back.feature_names == xgb_expl.feature_names
    assert back.mesh == xgb_expl.mesh and back.info["space"] == "margin"
    with np.load(tmp_path / "shap_values.npz", allow_pickle=False) as z:
        assert z["values"].shape == (xgb_expl.n_faces, 602, 7)
    with pytest.raises(GeofaceError, match="is not a geoface explanation"):
        Explanation.read(tmp_path / "nowhere")


# ----------------------------------------------------------------- bad input
def test_bad_runs_and_tables_are_refused_in_one_line(runs, table, tmp_path):
    other = extract_table(simulate_landmarks(n_subjects=2, takes=1).landmarks, mesh="fit")
    with pytest.raises(GeofaceError, match=r"built on mesh \w+ but the model on"):
        explain_run(runs["xgb"], other)
    info = dict(table.info, feature_names=table.feature_names[:-1])
    fewer = FeatureTable(table.frame.drop(columns=table.feature_names[-1]), table.mesh, info)
    with pytest.raises(GeofaceError, match="feature names differ"):
        explain_run(runs["xgb"], fewer)
    with pytest.raises(GeofaceError, match="does not record its feature table"):
        explain_run(runs["xgb"])  # fitted from Python without a table path
    cnn = tmp_path / "cnn"
    shutil.copytree(runs["xgb"], cnn)
    doc = json.loads((cnn / "model" / "model.json").read_text())
    (cnn / "model" / "model.json").write_text(json.dumps({**doc, "model": "cnn"}))
    with pytest.raises(GeofaceError, match="model 'cnn' has no SHAP explainer"):
        explain_run(cnn, table)
    with pytest.raises(GeofaceError, match="cannot explain a 'xgb' model"):
        explain_run(runs["xgb"], table, explainer="linear")
    with pytest.raises(GeofaceError, match="must be at least 1 and 10"):
        explain_run(runs["svm"], table, background=0)
    new_faces = table.frame.assign(id=lambda f: "new_" + f["id"])
    strangers = FeatureTable(new_faces, table.mesh, table.info)
    with pytest.raises(GeofaceError, match=r"no face of the table can be explained.*--final"):
        explain_run(runs["xgb"], strangers)
    assert explain_run(runs["xgb"], strangers, final=True).n_faces == len(table.frame) - 1


def test_random_forest_and_linear_svm_explainers(table):
    from geoface.models import get_model_spec

    X = table.features[table.ok]
    y = np.unique(table.frame["label"][table.ok], return_inverse=True)[1]
    rf = get_model_spec("rf").build(0, {"n_estimators": 30}).fit(X, y)
    res = explain_estimator(rf, X[:8], explainer="tree", model_name="rf")
    np.testing.assert_allclose(
        res.values.sum(axis=1) + res.base_values, rf.predict_proba(X[:8]), atol=1e-10
    )
    svm = get_model_spec("svm-linear").build(0, {}).fit(X, y)
    res = explain_estimator(svm, X[:8], explainer="linear", model_name="svm-linear")
    linear = svm.steps[1][1].calibrated_classifiers_[0].estimator
    decision = linear.decision_function(svm.steps[0][1].transform(X[:8]))
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, decision, atol=1e-10)
    assert res.values.shape == (8, X.shape[1], 7)
