import matplotlib.pyplot as plt
import numpy as np
import pytest

from geoface.features import extract_table
from geoface.plotting import (
    REGION_COLOURS,
    plot_face,
    plot_faces,
    plot_mesh,
    plot_region_profile,
    region_profile,
    save_figure,
)


def test_plot_mesh_into_given_axes_and_save(tmp_path, mesh):
    fig, ax = plt.subplots()
    assert plot_mesh(mesh, ax=ax) is fig
    assert len(ax.collections) == 1
    assert len(ax.texts) == mesh.n_triangles  # numbered triangles
    paths = save_figure(fig, tmp_path / "m.pdf", formats=("pdf", "png", "svg"))
    assert [p.name for p in paths] == ["m.pdf", "m.png", "m.svg"]
    assert all(p.stat().st_size > 500 for p in paths)


def test_region_colours_cover_regions(mesh):
    assert set(mesh.triangle_regions) <= set(REGION_COLOURS)


def test_face_plots(sim):
    fig = plot_face(sim.landmarks[0], image=np.zeros((128, 128), np.uint8), title="x")
    assert fig.axes[0].get_title() == "x"
    grid = plot_faces(sim.landmarks[:3], titles=["a", "b", "c"], ncols=2)
    assert len(grid.axes) == 4


def test_region_profile_recovers_simulated_ground_truth():
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=6, takes=3, random_state=2)
    table = extract_table(sim.landmarks, sim.meta)
    prof = region_profile(table)
    np.testing.assert_allclose(prof["neutral"], 0.0, atol=1e-12)
    for label in prof.columns.drop("neutral"):
        assert prof[label].idxmax() in sim.moved_regions[label], label
    fig = plot_region_profile(table)
    assert fig.axes[0].get_title().startswith("Which regions")


def test_region_profile_without_baseline(sim):
    table = extract_table(sim.landmarks, sim.meta)
    prof = region_profile(table, baseline=None, subject=None)
    assert (prof.to_numpy() > 0).all()
    with pytest.raises(KeyError):
        region_profile(table, by="no_such_column")
