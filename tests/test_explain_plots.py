import matplotlib.pyplot as plt
import numpy as np
import pytest

from geoface.explain import (
    Explanation,
    plot_contrast_bars,
    plot_contrast_map,
    plot_face_shap,
    plot_region_importance,
    plot_region_map,
    plot_region_waterfall,
    plot_shap_mesh,
    plot_shap_summary,
    region_table,
)
from geoface.explain._hierarchy import FeatureHierarchy
from geoface.explain._shap_mesh import element_summary, shap_norm
from geoface.plotting import save_figure

CLASSES = ["fear", "happy", "surprise"]


@pytest.fixture(scope="module")
def expl():
    """A synthetic explanation: class k's values live on one region, so maps are checkable."""
    from geoface.mesh import Mesh

    mesh = Mesh.default()
    h = FeatureHierarchy(mesh)
    rng = np.random.default_rng(0)
    n, f = 30, h.n_features
    values = rng.normal(scale=0.01, size=(n, f, len(CLASSES)))
    for k, region in enumerate(("mouth", "cheeks", "glabella")):
        values[:, h.feature_map["region"] == region, k] += rng.normal(scale=0.3, size=(n, 1))
    labels = np.array(CLASSES * 10)
    return Explanation(
        values=values,
        base_values=np.zeros((n, len(CLASSES))),
        features=rng.normal(size=(n, f)),
        ids=np.array([f"face_{i}" for i in range(n)]),
        subjects=np.array([f"s{i % 6}" for i in range(n)]),
        labels=labels,
        folds=np.arange(n) % 3,
        feature_names=h.feature_map["feature"].tolist(),
        classes=CLASSES,
        mesh=mesh,
        info={"space": "margin"},
    )


def test_mesh_map_fills_triangles_and_draws_edges(mesh, tmp_path):
    fig, ax = plt.subplots()
    tri = np.linspace(0, 1, mesh.n_triangles)
    edges = np.zeros(mesh.n_edges)
    edges[:3] = 1.0
    assert plot_shap_mesh(tri, edges, mesh=mesh, ax=ax, title="t") is fig
    fill = ax.collections[0]
    np.testing.assert_array_equal(fill.get_array(), tri)
    assert len(ax.collections[2].get_segments()) == 3  # only edges with a value are drawn
    assert ax.yaxis_inverted() and any(t.get_text() == "mouth" for t in ax.texts)
    paths = save_figure(fig, tmp_path / "map", formats=("pdf", "svg", "png"))
    assert all(p.stat().st_size > 1000 for p in paths)
    with pytest.raises(ValueError, match="expected \\(107,\\)"):
        plot_shap_mesh(tri[:5], mesh=mesh)


def test_colour_scales():
    sq = shap_norm(4.0)
    assert sq(0.0) == pytest.approx(0) and sq(1.0) == pytest.approx(0.5) and sq(4.0) == 1
    signed = shap_norm(4.0, signed=True)
    assert signed(0.0) == pytest.approx(0.5) and signed(-4.0) == pytest.approx(0)
    assert shap_norm(2.0, scale="linear")(1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="scale='log'"):
        shap_norm(1.0, scale="log")


def test_region_map_shows_where_a_class_is_explained(expl):
    tri, edges, n = element_summary(expl, "happy")
    assert edges.shape == (expl.mesh.n_edges,)
    assert n == expl.n_faces
    cheeks = expl.mesh.triangle_regions == "cheeks"
    assert tri[cheeks].min() > tri[~cheeks].max()
    _, _, n_class = element_summary(expl, "happy", over="class")
    assert n_class == 10
    fig, ax = plt.subplots()
    assert plot_region_map(expl, "happy", ax=ax, vmax=1.0, scale="linear") is fig
    assert "mean |SHAP|" in ax.get_title()
    colorbar_label = fig.axes[-1].get_ylabel()
    assert "total of area + 3 angles" in colorbar_label and "margin space" in colorbar_label
    fig = plot_region_map(expl, "fear", signed=True, over="class")
    assert "mean SHAP" in fig.axes[0].get_title()


def test_contrast_map_and_bars(expl):
    fig, axes = plt.subplots(1, 2)
    assert plot_contrast_map(expl, "fear", "surprise", ax=axes[0]) is fig
    plot_contrast_bars(expl, "fear", "surprise", ax=axes[1])
    assert "where the evidence differs" in axes[0].get_title()
    assert "log-odds fear vs surprise" in axes[1].get_xlabel()
    glabella = expl.mesh.triangle_regions == "glabella"
    values = axes[0].collections[0].get_array()
    assert values[glabella].mean() > values[~glabella].mean()


def test_single_face_on_its_landmarks_and_photo(expl, template):
    landmarks = 40 + 20 * template
    image = np.full((120, 120), 128, dtype=np.uint8)
    fig, ax = plt.subplots()
    plot_face_shap(expl, 3, landmarks=landmarks, image=image, ax=ax)
    assert "photo" in ax.get_title() and len(ax.images) == 1
    assert not ax.texts  # no region names over a photo
    fig = plot_face_shap(expl, 3, "happy")
    assert "template" in fig.axes[0].get_title() and "happy" in fig.axes[0].get_title()


def test_waterfall_adds_up_to_the_output(expl):
    fig, ax = plt.subplots()
    assert plot_region_waterfall(expl, 2, "surprise", ax=ax) is fig
    widths = [p.get_width() for p in ax.patches]
    k = expl.class_index("surprise")
    assert sum(widths) == pytest.approx(expl.output[2, k] - expl.base_values[2, k])
    assert "region totals" in ax.get_title() and "margin space" in ax.get_xlabel()


def test_region_importance_bars_say_what_they_show(expl):
    regions = region_table(expl, n_boot=100)
    fig = plot_region_importance(regions)
    assert len([a for a in fig.axes if a.patches]) == len(CLASSES)
    assert "total per region" in fig.get_suptitle()
    fig, ax = plt.subplots()
    plot_region_importance(regions, classes=["fear"], statistic="mean_abs_per_feature", ax=ax)
    assert "mean per feature" in ax.get_xlabel() and len(ax.patches) == 7
    assert len(ax.lines) + len(ax.collections) > 0  # the intervals
    with pytest.raises(ValueError, match="exactly one class"):
        plot_region_importance(regions, ax=ax)
    with pytest.raises(ValueError, match="statistic='median'"):
        plot_region_importance(regions, statistic="median")


def test_beeswarm_of_top_features(expl):
    fig, ax = plt.subplots()
    assert plot_shap_summary(expl, "fear", top=8, ax=ax) is fig
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 8 and all(label.startswith("mouth · ") for label in labels)
    assert "margin space" in ax.get_xlabel()
