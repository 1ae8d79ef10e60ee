import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoface import GeofaceError
from geoface.features import (
    MeshFeatures,
    compute_geometry,
    edge_lengths,
    feature_map,
    feature_mirror,
    feature_names,
)
from geoface.mesh import Mesh, mirror_shapes


def _reference_features(shape, mesh):
    """Slow, obvious implementation: loops, shoelace areas, law of cosines.

    Angles are those of the triangle with side lengths ``sqrt(l**2 + eps**2)``
    (``l`` in IODs, ``eps`` the mesh's angle regularisation).
    """
    iod = np.linalg.norm(shape[42:48].mean(0) - shape[36:42].mean(0))
    eps = mesh.angle_regularisation
    areas, angles = [], []
    for a, b, c in mesh.triangles:
        pa, pb, pc = shape[a], shape[b], shape[c]
        areas.append(
            abs((pb[0] - pa[0]) * (pc[1] - pa[1]) - (pc[0] - pa[0]) * (pb[1] - pa[1])) / 2 / iod**2
        )
        la, lb, lc = (
            np.sqrt((np.linalg.norm(u - v) / iod) ** 2 + eps**2)
            for u, v in ((pb, pc), (pa, pc), (pa, pb))
        )
        for opp, s1, s2 in ((la, lb, lc), (lb, la, lc), (lc, la, lb)):
            angles.append(np.degrees(np.arccos((s1**2 + s2**2 - opp**2) / (2 * s1 * s2))))
    strains = []
    for i, j in mesh.edges:
        ref = np.linalg.norm(mesh.template[i] - mesh.template[j])
        strains.append(np.linalg.norm(shape[i] - shape[j]) / iod / ref - 1)
    return np.array(areas + angles + strains)


def test_matches_a_slow_reference_implementation(faces, mesh):
    got = MeshFeatures().fit_transform(faces[:5])
    for k in range(5):
        np.testing.assert_allclose(
            got[k], _reference_features(faces[k], mesh), rtol=1e-9, atol=1e-9
        )


def test_golden_values_on_fixed_shapes(template, mesh):
    f = MeshFeatures().fit(None)
    names = list(f.get_feature_names_out())
    x = f.transform(template)[0]
    assert tuple(mesh.triangles[36]) == (21, 22, 27)
    assert x[names.index("tri_036_area")] == pytest.approx(0.0519915505, abs=1e-10)
    # regularised angles (eps = 0.01 IOD), from the law-of-cosines reference above;
    # the plain angles were 52.27581889858412, 52.27581889858412, 75.44836220283176
    assert x[names.index("tri_036_angle_1")] == pytest.approx(52.282665863398655, abs=1e-9)
    assert x[names.index("tri_036_angle_2")] == pytest.approx(52.282665863398655, abs=1e-9)
    assert x[names.index("tri_036_angle_3")] == pytest.approx(75.43466827320269, abs=1e-9)
    plain = Mesh(mesh.template, mesh.triangles, angle_regularisation=0.0)
    x0 = MeshFeatures(mesh=plain).fit(None).transform(template)[0]
    assert x0[names.index("tri_036_angle_1")] == pytest.approx(52.27581889858412, abs=1e-9)
    assert x0[names.index("tri_036_angle_3")] == pytest.approx(75.44836220283176, abs=1e-9)
    assert x[:107].sum() == pytest.approx(4.000473526684, abs=1e-9)
    np.testing.assert_allclose(x[4 * 107 :], 0.0, atol=1e-12)  # template vs itself
    # open the mouth by 0.2 IOD: the inner-lip edge 62-66 goes 0.086955 -> 0.286955
    opened = template.copy()
    opened[[57, 66], 1] += 0.2
    y = f.transform(opened * 50 + [100, 80])[0]
    assert tuple(mesh.edges[169]) == (62, 66)
    assert y[names.index("edge_169_strain")] == pytest.approx(0.286955 / 0.086955 - 1, abs=1e-6)


def _similarity(shapes, theta, scale, shift):
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return shapes @ rot.T * scale + np.asarray(shift)


@settings(max_examples=40, deadline=None)
@given(
    theta=st.floats(-np.pi, np.pi),
    scale=st.floats(1e-2, 1e3),
    dx=st.floats(-1e4, 1e4),
    dy=st.floats(-1e4, 1e4),
)
def test_invariant_to_translation_rotation_and_scale(sim_faces, theta, scale, dx, dy):
    base = compute_geometry(sim_faces, Mesh.default()).features
    moved = compute_geometry(
        _similarity(sim_faces, theta, scale, (dx, dy)), Mesh.default()
    ).features
    np.testing.assert_allclose(moved, base, rtol=1e-8, atol=1e-8 * np.abs(base).max())


@pytest.fixture(scope="module")
def sim_faces():
    from geoface.simulate import simulate_landmarks

    return simulate_landmarks(n_subjects=2, takes=1, random_state=7).landmarks


def test_mirroring_a_face_mirrors_its_features(faces, mesh):
    perm = feature_mirror(mesh)
    assert sorted(perm) == list(range(len(perm)))
    f = MeshFeatures().fit(faces)
    original = f.transform(faces)
    flipped = faces.copy()
    flipped[..., 0] = 127.0 - flipped[..., 0]  # a horizontal image flip ...
    from geoface import MIRROR_PERMUTATION

    flipped = flipped[:, MIRROR_PERMUTATION]  # ... then relabel the points
    np.testing.assert_allclose(f.transform(flipped), original[:, perm], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(f.transform(mirror_shapes(faces)), original[:, perm], atol=1e-10)


def test_names_are_stable_and_mapped(mesh):
    names = feature_names(mesh)
    assert len(names) == 4 * 107 + 174 == 602
    assert names[0] == "tri_000_area" and names[107] == "tri_000_angle_1"
    assert names[-1] == "edge_173_strain"
    fmap = feature_map(mesh)
    assert fmap["feature"].tolist() == names
    row = fmap.set_index("feature").loc["tri_036_angle_3"]
    assert (row["vertices"], row["apex"], row["region"], row["side"]) == (
        "21-22-27",
        27,
        "glabella",
        "midline",
    )
    assert row["label"] == "glabella · tri 36 angle 3"
    assert set(fmap["kind"]) == {"area", "angle", "strain"}


def test_bad_rows_are_flagged_not_dropped(faces):
    faces[1, 5] = np.nan
    faces[2] = 10.0  # every point the same: zero IOD
    res = MeshFeatures().fit(faces).transform_with_qc(faces)
    assert res.features.shape == (len(faces), 602)
    assert res.qc["qc_status"].tolist()[:4] == ["ok", "nonfinite_landmarks", "degenerate", "ok"]
    assert np.isnan(res.features[1]).all() and np.isnan(res.features[2]).all()
    assert np.isfinite(res.features[[0, 3]]).all()
    assert res.qc["qc_iod_px"].iloc[0] > 10
    assert (res.qc.loc[[0, 3], "qc_folded"] == 0).all()


def test_qc_measures_roll_and_shape_fit(template):
    rot = _similarity(template, np.radians(15), 40, (64, 64))
    res = MeshFeatures().fit(None).transform_with_qc(np.stack([rot, rot[::-1]]))
    assert res.qc["qc_roll_deg"].iloc[0] == pytest.approx(15.0)
    assert res.qc["qc_shape_rmse"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert res.qc["qc_shape_rmse"].iloc[1] > 0.5  # points scrambled
    assert res.qc["qc_folded"].iloc[1] > 0


def test_input_forms_agree(faces):
    f = MeshFeatures().fit(faces)
    flat = np.concatenate([faces[..., 0], faces[..., 1]], axis=1)
    frame = pd.DataFrame(
        flat, columns=[f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]
    )
    np.testing.assert_array_equal(f.transform(flat), f.transform(faces))
    np.testing.assert_array_equal(f.transform(frame), f.transform(faces))
    assert f.transform(faces[0]).shape == (1, 602)
    with pytest.raises(GeofaceError, match=r"X has shape \(3, 5\)"):
        f.transform(np.zeros((3, 5)))


def test_iod_corners_changes_scale_only(faces):
    centres = MeshFeatures().fit(faces).transform(faces)
    corners = MeshFeatures(iod="corners").fit(faces).transform(faces)
    # angles do not depend on the IOD
    np.testing.assert_allclose(corners[:, 107:428], centres[:, 107:428])
    assert not np.allclose(corners[:, :107], centres[:, :107])
    with pytest.raises(GeofaceError, match=r"iod='pupils' is not one of"):
        MeshFeatures(iod="pupils").fit(faces)


def test_neutral_reference_uses_each_subjects_neutral_face(sim):
    meta = sim.meta.copy()
    f = MeshFeatures(reference="neutral").fit(sim.landmarks)
    res = f.transform_with_qc(sim.landmarks, subject=meta["subject"], label=meta["label"])
    strain = res.features[:, 4 * 107 :]
    neutral = (meta["label"] == "neutral").to_numpy()
    # the mean neutral face of each subject has zero strain against itself
    for s in meta["subject"].unique():
        rows = neutral & (meta["subject"] == s).to_numpy()
        np.testing.assert_allclose(strain[rows].mean(axis=0), 0.0, atol=1e-12)
    assert not res.qc["qc_reference_fallback"].any()
    # areas and angles do not depend on the reference
    base = MeshFeatures().fit(sim.landmarks).transform(sim.landmarks)
    np.testing.assert_array_equal(res.features[:, : 4 * 107], base[:, : 4 * 107])


def test_neutral_reference_falls_back_and_flags(sim):
    meta = sim.meta.copy()
    drop = (meta["subject"] == "s001") & (meta["label"] == "neutral")
    label = meta["label"].where(~drop, "happy")
    frame = pd.concat(
        [
            meta.assign(label=label),
            pd.DataFrame(
                np.concatenate([sim.landmarks[..., 0], sim.landmarks[..., 1]], axis=1),
                columns=[f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)],
            ),
        ],
        axis=1,
    )
    f = MeshFeatures(reference="neutral").fit(frame)
    res = f.transform_with_qc(frame)
    fallback = res.qc["qc_reference_fallback"].to_numpy()
    np.testing.assert_array_equal(fallback, (meta["subject"] == "s001").to_numpy())
    template_ref = MeshFeatures().fit(frame).transform(frame)
    np.testing.assert_array_equal(res.features[fallback], template_ref[fallback])
    with pytest.raises(GeofaceError, match="reference='neutral' needs subject and label"):
        f.transform(sim.landmarks)


def test_edge_lengths_in_iod_units(template, mesh):
    lengths = edge_lengths(template * 80, mesh)
    ref = np.linalg.norm(template[mesh.edges[:, 1]] - template[mesh.edges[:, 0]], axis=1)
    np.testing.assert_allclose(lengths[0], ref, rtol=1e-6)


def test_sklearn_pipeline_and_clone(sim):
    from sklearn.base import clone
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    flat = np.concatenate([sim.landmarks[..., 0], sim.landmarks[..., 1]], axis=1)
    pipe = make_pipeline(
        MeshFeatures(), SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    params = clone(pipe).get_params()
    assert params["meshfeatures__reference"] == "template"
    scores = cross_val_score(
        pipe, flat, sim.meta["label"], groups=sim.meta["subject"], cv=GroupKFold(n_splits=2)
    )
    assert scores.mean() > 0.5  # chance is 1/7
    pipe.fit(flat, sim.meta["label"])
    assert len(pipe[:-1].get_feature_names_out()) == 602


def test_fit_mesh_option_builds_on_the_data(sim):
    f = MeshFeatures(mesh="fit").fit(sim.landmarks)
    assert f.mesh_.hash != Mesh.default().hash
    assert f.transform(sim.landmarks).shape[1] == f.n_features_out_
    with pytest.raises(GeofaceError, match="mesh='triangles' is not one of"):
        MeshFeatures(mesh="triangles").fit(sim.landmarks)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MeshFeatures().transform(sim.landmarks)
