import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Simulated photos and landmarks → table → folds → xgb, svm and logreg runs.

    Commands run inside the folder, as a user would, so the runs record the
    table by a relative path.
    """
    root = tmp_path_factory.mktemp("explain_cli")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        steps = [
            ("simulate", "--out", "sim", "--subjects", 8, "--takes", 2),
            ("extract", "sim/landmarks.csv", "--out", "features.csv"),
            ("split", "features.csv", "--folds", 4, "--out", "splits.csv"),
        ]
        for model in ("xgb", "svm", "logreg"):
            steps.append(
                ("fit", "features.csv", "--model", model, "--splits", "splits.csv", "--out",
                 f"runs/{model}", "--bootstrap", 200, "--quiet")
            )  # fmt: skip
        for step in steps:
            assert main([str(a) for a in step]) == 0, step
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture()
def inside(project):
    cwd = os.getcwd()
    os.chdir(project)
    yield project
    os.chdir(cwd)


def test_explain_xgb_run_writes_values_tables_and_figures(inside, capsys):
    code, out, err = run(capsys, "explain", "runs/xgb", "--out", "ex_xgb", "--bootstrap", 200)
    assert code == 0, err
    assert "explained out-of-fold with the tree explainer (margin space): 112 faces" in out
    assert "top regions per class" in out and "surprise" in out
    folder = inside / "ex_xgb"
    names = {p.name for p in folder.iterdir()}
    assert {"shap_values.npz", "regions.csv", "triangles.csv", "edges.csv", "explain.json"} <= names
    info = json.loads((folder / "explain.json").read_text())
    assert info["mode"] == "out-of-fold" and info["explainer"] == "tree"
    assert info["additivity_max_error"] < 1e-4 and info["table"] == "features.csv"
    assert info["command"][:2] == ["geoface", "explain"] or info["command"][0] == "geoface"
    regions = pd.read_csv(folder / "regions.csv")
    assert set(regions["over"]) == {"all", "class"} and len(regions) == 2 * 7 * 7
    for col in ("mean_abs_total", "mean_abs_per_feature", "mean_signed_total", "share"):
        assert col in regions and regions[col].notna().all()
    assert {"mean_abs_total_low", "mean_abs_total_high"} <= set(regions.columns)
    assert len(pd.read_csv(folder / "triangles.csv")) == 7 * 107
    assert len(pd.read_csv(folder / "edges.csv")) == 7 * 174
    with np.load(folder / "shap_values.npz", allow_pickle=False) as z:
        assert z["values"].shape == (112, 602, 7) and len(z["ids"]) == 112
        assert z["feature_names"][0] == "tri_000_area" and z["classes"][0] == "anger"
    figures = set(info["figures"])
    for name in (
        "region_maps",
        "region_maps_signed",
        "region_map_surprise",
        "region_importance_total",
        "region_importance_per_feature",
        "summary_fear",
        "contrast_surprise_vs_fear",
        "face_s001_happy_1",
    ):
        assert {f"{name}.pdf", f"{name}.png"} <= figures, name
        assert (folder / "figures" / f"{name}.png").stat().st_size > 10_000
    code, _, err = run(capsys, "explain", "runs/xgb", "--out", "ex_xgb")
    assert code == 2 and "exists; choose another --out or add --overwrite" in err


def test_single_faces_are_drawn_on_their_own_photo(inside):
    from geoface.cli._explain import face_source
    from geoface.features import FeatureTable

    load = face_source(FeatureTable.read("features.csv"), None)
    landmarks, image = load("s002_fear_2")
    assert landmarks.shape == (68, 2) and image.ndim == 3
    assert load("nobody") == (None, None)


def test_explain_svm_with_the_partition_explainer(inside, capsys):
    code, out, err = run(
        capsys, "explain", "runs/svm", "--out", "ex_svm", "--max-rows", 4, "--background", 4,
        "--max-evals", 40, "--no-figures",
    )  # fmt: skip
    assert code == 0, err
    assert "partition explainer (probability space): 4 faces" in out
    assert "over_max_rows 108" in out and "model evaluations" in out
    info = json.loads((inside / "ex_svm" / "explain.json").read_text())
    assert info["options"] == {"background": 4, "max_evals": 40, "max_rows": 4, "seed": 0}
    assert info["cost"]["per_face_at_most"] == 160 and info["figures"] == []


def test_explain_logreg_final_by_class_with_chosen_faces_and_contrast(inside, capsys):
    code, out, err = run(
        capsys, "explain", "runs/logreg", "--out", "ex_logreg", "--final", "--by-class",
        "--contrast", "happy", "sad", "--faces", "s003_sad_1", "--features", "features.csv",
        "--bootstrap", 100, "--figures", "faces", "contrast",
    )  # fmt: skip
    assert code == 0, err
    assert "explained final with the linear explainer (logit space)" in out
    assert "over each class's own faces" in out
    info = json.loads((inside / "ex_logreg" / "explain.json").read_text())
    assert info["summaries"]["over"] == "class"
    assert info["summaries"]["contrasts"] == [["happy", "sad"]]
    face_figures = [f for f in info["figures"] if f.startswith("face_")]
    assert face_figures == ["face_s003_sad_1.pdf", "face_s003_sad_1.png"]
    assert "contrast_happy_vs_sad.png" in info["figures"]
    assert not any(f.startswith(("summary_", "region_")) for f in info["figures"])


def test_bad_input_is_one_line(inside, capsys, tmp_path):
    from geoface.features import extract_table
    from geoface.simulate import simulate_landmarks

    other = tmp_path / "other.csv"
    extract_table(simulate_landmarks(n_subjects=2, takes=1).landmarks, mesh="fit").write(other)
    code, _, err = run(capsys, "explain", "runs/xgb", "--features", other, "--out", tmp_path / "a")
    assert code == 2 and "built on mesh" in err and len(err.strip().splitlines()) == 1

    table = pd.read_csv("features.csv")
    table.drop(columns=["edge_173_strain"]).to_csv(tmp_path / "fewer.csv", index=False)
    shutil.copy("features.meta.json", tmp_path / "fewer.meta.json")
    code, _, err = run(
        capsys, "explain", "runs/xgb", "--features", tmp_path / "fewer.csv", "--out", tmp_path / "b"
    )
    assert code == 2 and "lacks columns ['edge_173_strain']" in err

    cnn = tmp_path / "cnn"
    shutil.copytree("runs/xgb", cnn)
    doc = json.loads((cnn / "model" / "model.json").read_text())
    (cnn / "model" / "model.json").write_text(json.dumps({**doc, "model": "cnn"}))
    code, _, err = run(capsys, "explain", cnn, "--out", tmp_path / "c")
    assert code == 2 and "model 'cnn' has no SHAP explainer" in err

    code, _, err = run(
        capsys, "explain", "runs/svm", "--explainer", "tree", "--out", tmp_path / "d"
    )
    assert code == 2 and "explainer='tree' cannot explain a 'svm' model" in err
    code, _, err = run(
        capsys, "explain", "runs/xgb", "--faces", "nobody", "--no-figures", "--out", tmp_path / "e"
    )
    assert code == 2 and "--faces ['nobody'] are not among the explained faces" in err
    code, _, err = run(
        capsys, "explain", "runs/xgb", "--contrast", "joy", "fear", "--out", tmp_path / "f"
    )
    assert code == 2 and "class 'joy' is not one of" in err
    code, _, err = run(capsys, "explain", "nowhere", "--out", tmp_path / "g")
    assert code == 2 and "not a geoface run directory" in err
    assert not any((tmp_path / x).exists() for x in "abcdefg")


def test_explain_a_run_fitted_with_aligned_coordinates(tmp_path, capsys):
    """extract --coords aligned → fit → explain, per feature and as region sums only."""
    from geoface.cluster import thread_budget

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        steps = [
            ("simulate", "--out", "sim", "--subjects", 6, "--takes", 1, "--no-images"),
            ("extract", "sim/landmarks.csv", "--out", "features.csv", "--coords", "aligned"),
            ("split", "features.csv", "--folds", 3, "--out", "splits.csv"),
            ("fit", "features.csv", "--model", "xgb", "--splits", "splits.csv", "--out",
             "runs/xgb", "--bootstrap", 100, "--quiet"),
        ]  # fmt: skip
        with thread_budget(1):  # one thread: the machine's cores are shared
            for step in steps:
                assert main([str(a) for a in step]) == 0, step
            code, out, err = run(
                capsys, "explain", "runs/xgb", "--out", "ex", "--bootstrap", 0,
                "--figures", "maps", "faces", "--faces", "s001_happy_1", "--threads", 1,
            )  # fmt: skip
            assert code == 0, err
            assert "126 aligned landmark coordinates" in out + err  # the summary says so
            code, _, err = run(
                capsys, "explain", "runs/xgb", "--out", "ex_sums", "--region-sums-only",
                "--bootstrap", 0, "--threads", 1,
            )  # fmt: skip
            assert code == 0, err
    finally:
        os.chdir(cwd)
    folder = tmp_path / "ex"
    info = json.loads((folder / "explain.json").read_text())
    assert info["feature_kinds"]["mesh"] == 602 and info["feature_kinds"]["coords"] == 126
    with np.load(folder / "shap_values.npz", allow_pickle=False) as z:
        assert z["values"].shape == (42, 728, 7) and z["feature_names"][-1] == "pt_67_vertical"
    assert len(pd.read_csv(folder / "points.csv")) == 7 * 68
    regions = pd.read_csv(folder / "regions.csv")
    assert regions.groupby(["class", "over"])["n_features"].sum().unique().tolist() == [728]
    sides = pd.read_csv(folder / "region_sides.csv")
    assert sides["bilateral"].notna().all()
    for name in ("region_maps", "region_map_happy", "face_s001_happy_1"):
        assert (folder / "figures" / f"{name}.png").stat().st_size > 10_000, name
    sums = tmp_path / "ex_sums"
    assert json.loads((sums / "explain.json").read_text())["feature_kinds"]["coords"] == 126
    by_sums = pd.read_csv(sums / "regions.csv")
    pd.testing.assert_frame_equal(
        by_sums[["class", "region", "over", "n_features"]],
        regions[["class", "region", "over", "n_features"]],
    )
    np.testing.assert_allclose(by_sums["mean_abs_total"], regions["mean_abs_total"], rtol=1e-5)
