"""Explaining runs fitted with the aligned landmark coordinates (``extract --coords aligned``)."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cluster import thread_budget
from geoface.explain import (
    Explanation,
    FeatureHierarchy,
    RegionExplanation,
    bilateral_values,
    element_table,
    explain_run,
    plot_face_shap,
    plot_region_map,
    region_table,
    side_table,
    write_explanation,
)
from geoface.features import coord_mirror, coord_names, feature_mirror, feature_names
from geoface.models import fit_run
from geoface.simulate import simulate_landmarks

CLASSES = ("happy", "surprise", "fear")
_SWAP = {"right": "left", "left": "right", "midline": "midline"}


@pytest.fixture(scope="module")
def table():
    from geoface.features import extract_table

    sim = simulate_landmarks(n_subjects=6, takes=2, classes=CLASSES, random_state=3)
    lm = sim.landmarks.copy()
    lm[0] = np.nan  # one failed face: skipped and counted
    return extract_table(lm, sim.meta, coords="aligned")


@pytest.fixture(scope="module")
def run_dir(table, tmp_path_factory):
    root = tmp_path_factory.mktemp("explain_coords")
    with thread_budget(1):  # one thread: the machine's cores are shared
        return fit_run(table, root / "xgb", model="xgb", folds=3, seed=0, n_boot=100)


@pytest.fixture(scope="module")
def expl(run_dir, table):
    return explain_run(run_dir, table, n_jobs=1)


# ----------------------------------------------------------------- hierarchy
def test_hierarchy_places_each_coordinate_at_its_point(mesh):
    names = feature_names(mesh, "aligned")
    h = FeatureHierarchy(mesh, features=names)
    assert h.n_features == 602 + 126 and h.feature_map["feature"].tolist() == names
    assert h.feature_kinds["coord"] == 126 and h.n_points == 68
    points = h.elements[h.elements["element"] == "point"]
    assert len(points) == 68 and len(h.elements) == mesh.n_triangles + mesh.n_edges + 68
    assert points["n_features"].sum() == 126 and set(points["n_features"]) == {1, 2}
    j = names.index("pt_36_lateral")
    assert h.elements.loc[h.element_of_feature[j], "key"] == "pt_36"
    assert h.feature_map.loc[j, "region"] == "eyes" and h.feature_map.loc[j, "side"] == "right"
    # a region's features are its mesh features plus its points' coordinates
    mesh_only = FeatureHierarchy(mesh)
    coord_rows = h.feature_map[h.feature_map["kind"] == "coord"]
    per_region = coord_rows["region"].value_counts()
    for r, region in enumerate(h.regions):
        r0 = mesh_only.regions.index(region)
        assert h.region_sizes[r] == mesh_only.region_sizes[r0] + per_region.get(region, 0)
    # each coordinate's mirror partner is in the same region, on the other side
    p = h.mirror
    np.testing.assert_array_equal(p, feature_mirror(mesh, "aligned"))
    np.testing.assert_array_equal(p[602:] - 602, coord_mirror())
    region, side = h.feature_map["region"].to_numpy(), h.feature_map["side"]
    np.testing.assert_array_equal(region[p], region)
    np.testing.assert_array_equal(side.to_numpy()[p], side.map(_SWAP).to_numpy())


def test_coordinates_sum_exactly_into_points_and_regions(mesh):
    from scipy.cluster.hierarchy import is_valid_linkage

    h = FeatureHierarchy(mesh, features=feature_names(mesh, "aligned"))
    v = np.random.default_rng(0).normal(size=(4, h.n_features, 2))
    el, reg = h.to_elements(v), h.to_regions(v)
    np.testing.assert_allclose(el.sum(axis=1), v.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(reg.sum(axis=1), v.sum(axis=1), atol=1e-12)
    names = h.feature_map["feature"].tolist()
    pt = [names.index("pt_36_lateral"), names.index("pt_36_vertical")]
    at = int(np.flatnonzero(h.elements["key"] == "pt_36")[0])
    np.testing.assert_allclose(el[:, at], v[:, pt].sum(axis=1))
    assert is_valid_linkage(h.linkage())  # the partition explainer's coalitions


def test_a_column_the_feature_map_cannot_place_is_one_line(mesh):
    names = [*feature_names(mesh, "aligned"), "pt_99_lateral"]
    with pytest.raises(GeofaceError, match=r"\['pt_99_lateral'\] are not in the feature map"):
        FeatureHierarchy(mesh, features=names)


# ------------------------------------------------------------------ explain
def test_explain_run_on_a_coordinate_table(expl, table):
    n_ok = int(table.ok.sum())
    assert expl.values.shape == (n_ok, 728, len(CLASSES))
    assert expl.feature_names[602:] == coord_names()
    kinds = expl.info["feature_kinds"]
    assert kinds["mesh"] == 602 and kinds["coords"] == 126
    assert "aligned landmark coordinates" in kinds["summary"]
    assert expl.info["region_features"]["eyes"] == expl.hierarchy.region_sizes[2]
    assert expl.info["additivity_max_error"] < 1e-3
    # the model does use coordinates, so they carry attribution
    coord = np.abs(expl.values[:, 602:]).sum()
    assert coord > 0


def test_region_sums_are_the_sums_of_their_mesh_and_coordinate_values(expl):
    fmap = expl.hierarchy.feature_map
    reg = expl.region_values()
    is_coord = (fmap["kind"] == "coord").to_numpy()
    for r, region in enumerate(expl.hierarchy.regions):
        cols = (fmap["region"] == region).to_numpy()
        mesh_part = expl.values[:, cols & ~is_coord].sum(axis=1)
        coord_part = expl.values[:, cols & is_coord].sum(axis=1)
        np.testing.assert_allclose(reg[:, r], mesh_part + coord_part, atol=1e-10)
    np.testing.assert_allclose(
        reg.sum(axis=1) + expl.base_values, expl.output, rtol=1e-10, atol=1e-10
    )
    table = region_table(expl, n_boot=0)
    assert table.groupby("class")["n_features"].sum().unique().tolist() == [728]


def test_region_sums_only_match_and_read_back(run_dir, table, expl, tmp_path):
    sums = explain_run(run_dir, table, region_sums_only=True, chunk_rows=7, n_jobs=1)
    assert isinstance(sums, RegionExplanation)
    np.testing.assert_allclose(sums.region_sums, expl.region_values(), atol=1e-9)
    assert sums.info["feature_kinds"]["coords"] == 126
    np.testing.assert_array_equal(sums.hierarchy.region_sizes, expl.hierarchy.region_sizes)
    out = write_explanation(sums, tmp_path / "sums", n_boot=0)
    back = Explanation.read(out)
    assert isinstance(back, RegionExplanation) and back.feature_names == expl.feature_names
    np.testing.assert_array_equal(back.hierarchy.region_sizes, expl.hierarchy.region_sizes)
    regions = pd.read_csv(out / "regions.csv")
    assert regions.groupby(["class", "over"])["n_features"].sum().unique().tolist() == [728]
    assert json.loads((out / "explain.json").read_text())["feature_kinds"]["coords"] == 126


def test_written_explanation_has_points_and_figures(expl, tmp_path):
    out = write_explanation(
        expl, tmp_path / "ex", n_boot=20, faces=[0], contrasts=[("happy", "surprise")]
    )
    names = {p.name for p in out.iterdir()}
    assert {"shap_values.npz", "regions.csv", "region_sides.csv", "points.csv"} <= names
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 68 * len(CLASSES) and set(points["element"]) == {"point"}
    assert points.groupby("class")["n_features"].sum().unique().tolist() == [126]
    elements = element_table(expl)
    np.testing.assert_allclose(  # written with 6 significant digits
        points["mean_abs_total"],
        elements.loc[elements["element"] == "point", "mean_abs_total"],
        rtol=1e-5,
    )
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("region_maps", "region_map_happy", "summary_fear", "contrast_happy_vs_surprise"):
        assert f"{stem}.png" in figs and f"{stem}.pdf" in figs, stem
    assert any(n.startswith("face_") for n in figs)
    info = json.loads((out / "explain.json").read_text())
    assert info["feature_kinds"]["coords"] == 126 and "points.csv" not in info["figures"]
    back = Explanation.read(out)
    np.testing.assert_array_equal(back.hierarchy.region_sizes, expl.hierarchy.region_sizes)


def test_maps_draw_each_landmark_as_a_dot_coloured_by_its_coordinates(expl, template):
    from matplotlib.collections import PathCollection

    fig = plot_region_map(expl, "happy")
    dots = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and len(dots[0].get_offsets()) == 68
    k = expl.class_index("happy")
    ev = np.abs(expl.element_values()[:, :, k]).mean(axis=0)
    start = expl.mesh.n_triangles + expl.mesh.n_edges
    np.testing.assert_allclose(dots[0].get_array(), ev[start : start + 68])
    plt.close(fig)
    fig = plot_face_shap(expl, 0, landmarks=template + 1.0)
    dots = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(dots[0].get_offsets(), template + 1.0)  # on the face's own points
    plt.close(fig)


# ----------------------------------------------------------------- bilateral
def test_bilateral_summary_is_symmetric_for_a_mirror_symmetric_model(table):
    """A linear model with mirror-symmetric weights, on faces and their mirror images.

    Its exact SHAP values are ``w (x - mean)``; with each face's mirror image
    beside it, the right and left sides of every region (coordinates included)
    carry the same attribution.
    """
    mesh = table.mesh
    p = feature_mirror(mesh, "aligned")
    X = table.features[table.ok]
    X = np.vstack([X, X[:, p]])  # the mirrored faces' features
    rng = np.random.default_rng(1)
    w = rng.normal(size=(X.shape[1], 2))
    w = w + w[p]
    values = (X - X.mean(axis=0))[:, :, None] * w[None]
    n = len(X)
    expl = Explanation(
        values=values,
        base_values=np.zeros((n, 2)),
        features=X,
        ids=np.array([f"f{i}" for i in range(n)]),
        subjects=np.array([f"s{i % (n // 2)}" for i in range(n)]),
        labels=np.array(["a", "b"] * (n // 2)),
        folds=np.zeros(n, dtype=int),
        feature_names=feature_names(mesh, "aligned"),
        classes=["a", "b"],
        mesh=mesh,
        info={"space": "logit"},
    )
    sides = side_table(expl, n_boot=50)
    assert set(sides["region"]) >= {"eyes", "brows", "mouth", "jaw", "nose"}
    assert (sides["bilateral"] > 0).all()
    np.testing.assert_allclose(sides["right"], sides["left"], rtol=1e-9)
    np.testing.assert_allclose(sides["asymmetry"], 0.0, atol=1e-9)
    # sharing with the mirror partner keeps each face's total and is itself symmetric
    shared = bilateral_values(values, expl.hierarchy.mirror)
    np.testing.assert_allclose(shared.sum(axis=1), values.sum(axis=1), atol=1e-10)
    np.testing.assert_allclose(shared[:, p], shared, atol=1e-12)


def test_partition_explainer_groups_each_points_coordinates(run_dir, table):
    part = explain_run(
        run_dir, table, explainer="partition", max_rows=2, background=3, max_evals=30, n_jobs=1
    )
    assert part.values.shape == (2, 728, len(CLASSES)) and part.space == "probability"
    assert part.info["additivity_max_error"] < 1e-6
    np.testing.assert_allclose(part.region_values().sum(axis=1) + part.base_values, part.output)
