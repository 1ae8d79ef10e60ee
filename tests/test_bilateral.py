"""The bilateral region summary beside the per-side SHAP region map."""

import dataclasses

import numpy as np
import pytest

from geoface import GeofaceError
from geoface.explain import bilateral_values, explain_run, side_table
from geoface.features import extract_table, feature_mirror
from geoface.models import fit_run
from geoface.simulate import simulate_landmarks


@pytest.fixture(scope="module")
def expl(tmp_path_factory):
    sim = simulate_landmarks(n_subjects=6, takes=1, random_state=7)
    table = extract_table(sim.landmarks, sim.meta)
    run = fit_run(table, tmp_path_factory.mktemp("bil") / "xgb", model="xgb", folds=3, n_boot=100)
    return explain_run(run, table)


def test_bilateral_values_keep_each_faces_total_and_are_mirror_symmetric(expl):
    perm = feature_mirror(expl.mesh)
    bil = bilateral_values(expl.values, perm)
    np.testing.assert_allclose(bil.sum(axis=1), expl.values.sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(bil[:, perm], bil, atol=1e-12)
    # a feature that is its own mirror keeps its value
    own = np.flatnonzero(perm == np.arange(len(perm)))
    np.testing.assert_allclose(bil[:, own], expl.values[:, own])
    with pytest.raises(GeofaceError, match="mirror permutation has"):
        bilateral_values(expl.values[:, :5], perm)


def test_side_table_reports_sides_and_no_asymmetry_for_bilateral_values(expl):
    sides = side_table(expl, n_boot=200)
    assert {"right", "midline", "left", "bilateral", "asymmetry"} <= set(sides.columns)
    assert set(sides["class"]) == set(expl.classes)
    np.testing.assert_allclose(
        sides["bilateral"], sides["right"] + sides["midline"] + sides["left"]
    )
    assert (sides["asymmetry_low"] <= sides["asymmetry"] + 1e-9).all()
    # mirrored-shared attributions: right and left are equal, the asymmetry is 0
    sym = dataclasses.replace(expl, values=bilateral_values(expl.values, feature_mirror(expl.mesh)))
    sym_sides = side_table(sym, n_boot=200)
    np.testing.assert_allclose(sym_sides["right"], sym_sides["left"], atol=1e-9)
    np.testing.assert_allclose(sym_sides["asymmetry"], 0.0, atol=1e-9)
