"""The aligned-coordinates block (``coords="aligned"``): names, regions, invariance, mirror."""

import json

import numpy as np
import pandas as pd
import pytest

from geoface import MIRROR_PERMUTATION, GeofaceError
from geoface.cli import main
from geoface.features import (
    FeatureTable,
    MeshFeatures,
    aligned_coordinates,
    coord_mirror,
    coord_names,
    coords_of,
    extract_table,
    feature_map,
    feature_mirror,
    feature_names,
)
from geoface.landmarks import read_pts
from geoface.mesh import mirror_shapes


def _similarity(shapes, rng):
    n = len(shapes)
    theta = rng.uniform(-np.pi, np.pi, n)
    scale = 10.0 ** rng.uniform(-2, 3, n)
    shift = rng.uniform(-1e4, 1e4, (n, 2))
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    return np.einsum("nij,nkj->nki", rot, shapes) * scale[:, None, None] + shift[:, None, :]


def _image_flip(shapes, width=127.0):
    out = shapes.copy()
    out[..., 0] = width - out[..., 0]
    return out[:, MIRROR_PERMUTATION]


def _check(shapes, rng):
    """Similarity-invariant to 1e-6 and mirror-consistent, the whole table with the block."""
    f = MeshFeatures(coords="aligned").fit(shapes)
    base = f.transform(shapes)
    assert np.isfinite(base).all()
    np.testing.assert_allclose(f.transform(_similarity(shapes, rng)), base, rtol=0, atol=1e-6)
    perm = feature_mirror(f.mesh_, "aligned")
    for mirrored in (mirror_shapes(shapes), _image_flip(shapes)):
        np.testing.assert_allclose(f.transform(mirrored), base[:, perm], rtol=0, atol=1e-6)


def test_names_regions_and_mirror_permutation(mesh):
    names = coord_names()
    midline = int((MIRROR_PERMUTATION == np.arange(68)).sum())
    assert len(names) == 68 + 68 - midline == 126
    assert names[:2] == ["pt_00_lateral", "pt_00_vertical"]
    assert "pt_08_lateral" not in names and "pt_08_vertical" in names  # chin: midline
    full = feature_names(mesh, "aligned")
    assert full[:602] == feature_names(mesh) and full[602:] == names
    assert coords_of(full) == "aligned" and coords_of(feature_names(mesh)) == "none"
    fmap = feature_map(mesh, "aligned").set_index("feature")
    assert fmap.index.tolist() == full
    row = fmap.loc["pt_48_lateral"]
    assert (row["kind"], row["element"], row["vertices"], row["region"]) == (
        "coord",
        "point",
        "48",
        "mouth",
    )
    assert row["side"] == "right" and fmap.loc["pt_54_lateral", "side"] == "left"
    assert fmap.loc["pt_33_vertical", "side"] == "midline"
    assert fmap.loc["pt_19_vertical", "region"] == "brows"
    perm = coord_mirror()
    assert sorted(perm) == list(range(len(perm)))
    np.testing.assert_array_equal(perm[perm], np.arange(len(perm)))  # an involution
    assert names[perm[names.index("pt_48_lateral")]] == "pt_54_lateral"
    fp = feature_mirror(mesh, "aligned")
    np.testing.assert_array_equal(fp[:602], feature_mirror(mesh))
    np.testing.assert_array_equal(fp[602:], 602 + perm)
    with pytest.raises(GeofaceError, match="coords="):
        feature_names(mesh, "raw")


def test_template_reads_as_itself_in_iods(mesh, template):
    block = aligned_coordinates(template[None] * 3.0 + 7.0, template)[0]
    iod = np.linalg.norm(template[42:48].mean(0) - template[36:42].mean(0))
    names = coord_names()
    lat = template[:, 0] * np.sign(template[:, 0]) / iod
    vert = (template[:, 1] - template[:, 1].mean()) / iod
    expect = [lat[int(n[3:5])] if n.endswith("lateral") else vert[int(n[3:5])] for n in names]
    np.testing.assert_allclose(block, expect, atol=1e-12)
    assert (block[[n.endswith("lateral") for n in names]] > 0).all()  # outward positive


def test_simulated_faces_invariant_and_mirror_consistent(sim):
    _check(sim.landmarks[:20], np.random.default_rng(3))


def test_helen_faces_invariant_and_mirror_consistent(helen_pts):
    shapes = np.stack([read_pts(p) for p in helen_pts])
    assert shapes.shape == (50, 68, 2)
    rng = np.random.default_rng(0)
    for _ in range(2):
        _check(shapes, rng)


def test_bad_rows_get_empty_coordinates(faces):
    faces = faces[:3].copy()
    faces[1, 5] = np.nan
    faces[2] = 1.0  # every point at one place: degenerate
    X = MeshFeatures(coords="aligned").fit(faces[:1]).transform(faces)
    assert np.isfinite(X[0]).all() and np.isnan(X[1:, 602:]).all()


def test_table_with_coords_relative_and_sidecars(sim, tmp_path):
    meta = sim.meta.reset_index(drop=True)
    table = extract_table(sim.landmarks, meta, relative="mean", coords="aligned")
    assert table.info["options"]["coords"] == "aligned"
    assert table.feature_names[602:] == coord_names()
    absolute = extract_table(sim.landmarks, meta, coords="aligned")
    # displacements from the subject's mean face (of its other faces), like every feature
    rel = table.features[:, 602:]
    base = absolute.features[:, 602:]
    subj = meta["subject"].to_numpy()
    row = 0
    others = (subj == subj[row]) & (np.arange(len(subj)) != row)
    np.testing.assert_allclose(rel[row], base[row] - base[others].mean(0), atol=1e-12)
    path = table.write(tmp_path / "f.csv")
    fmap = pd.read_csv(tmp_path / "f.featuremap.csv")
    assert fmap["feature"].tolist() == table.feature_names
    assert FeatureTable.read(path).feature_names == table.feature_names
    with pytest.raises(GeofaceError, match="pt_"):
        extract_table(sim.landmarks, meta.assign(pt_1=1.0))


def test_cli_extract_coords_then_fit_mirror_augmented(tmp_path):
    sim_dir = tmp_path / "sim"
    argv = ["simulate", "--out", str(sim_dir), "--subjects", "4", "--takes", "1", "--no-images"]
    assert main(argv) == 0
    table = tmp_path / "f.csv"
    lm = sim_dir / "landmarks.csv"
    assert main(["extract", str(lm), "--out", str(table), "--coords", "aligned"]) == 0
    info = json.loads((tmp_path / "f.meta.json").read_text())
    assert info["options"]["coords"] == "aligned" and len(info["feature_names"]) == 728
    splits = tmp_path / "splits.csv"
    assert main(["split", str(table), "--folds", "2", "--out", str(splits)]) == 0
    out = tmp_path / "run"
    argv = ["fit", str(table), "--splits", str(splits), "--model", "logreg", "--out", str(out)]
    assert main([*argv, "--bootstrap", "100", "--quiet"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert "mirror" in json.dumps(run)
    # explain places each coordinate in its point's region (tests/test_explain_coords.py)
    ex = tmp_path / "ex"
    argv = ["explain", str(out), "--out", str(ex), "--max-rows", "4", "--no-figures"]
    assert main([*argv, "--bootstrap", "0"]) == 0
    kinds = json.loads((ex / "explain.json").read_text())["feature_kinds"]
    assert kinds["mesh"] == 602 and kinds["coords"] == 126
