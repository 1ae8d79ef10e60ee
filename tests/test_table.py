import json
import os

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface._atomic import atomic_path
from geoface.features import FeatureTable, extract_table, sidecar_paths
from geoface.mesh import Mesh


@pytest.fixture()
def table(sim):
    lm = sim.landmarks.copy()
    lm[3, 10] = np.nan
    return extract_table(lm, sim.meta, source="sim")


def test_every_row_is_kept_with_its_status(table, sim):
    frame = table.frame
    assert len(frame) == len(sim.meta)
    assert list(frame.columns[:3]) == ["id", "subject", "label"]
    assert frame.columns.get_loc("qc_status") < frame.columns.get_loc("tri_000_area")
    assert frame.loc[3, "qc_status"] == "nonfinite_landmarks"
    assert frame.loc[3, table.feature_names].isna().all()
    assert table.qc_counts() == {"ok": len(frame) - 1, "nonfinite_landmarks": 1}
    assert table.ok.sum() == len(frame) - 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_and_read_round_trip(tmp_path, table, suffix):
    path = table.write(tmp_path / f"features{suffix}")
    meta_path, map_path = sidecar_paths(path)
    assert meta_path.name == "features.meta.json" and map_path.name == "features.featuremap.csv"
    info = json.loads(meta_path.read_text())
    assert info["mesh_hash"] == Mesh.default().hash
    assert info["qc_counts"] == table.qc_counts()
    assert info["n_rows"] == len(table.frame)
    assert info["landmarker"] == "file"
    assert set(info["versions"]) >= {"geoface", "numpy", "scikit-learn"}
    fmap = pd.read_csv(map_path)
    assert fmap["feature"].tolist() == table.feature_names
    back = FeatureTable.read(path)
    assert back.mesh == table.mesh
    assert back.frame["id"].tolist() == table.frame["id"].tolist()
    np.testing.assert_allclose(back.features, table.features, rtol=1e-9, equal_nan=True)
    assert back.frame.loc[3, "qc_status"] == "nonfinite_landmarks"
    assert not list(tmp_path.glob(".*.tmp"))


def test_ids_that_look_numeric_stay_text(tmp_path, sim):
    meta = sim.meta.assign(id=[f"{i:04d}" for i in range(len(sim.meta))], subject="007")
    path = extract_table(sim.landmarks, meta).write(tmp_path / "t.csv")
    back = FeatureTable.read(path)
    assert back.frame["id"].iloc[1] == "0001" and back.frame["subject"].iloc[0] == "007"


def test_generated_ids_and_id_errors(sim):
    t = extract_table(sim.landmarks[:3])
    assert t.frame["id"].tolist() == ["face_00000", "face_00001", "face_00002"]
    with pytest.raises(GeofaceError, match=r"repeats 1 value\(s\), e.g. \['a'\]"):
        extract_table(sim.landmarks[:2], pd.DataFrame({"id": ["a", "a"]}))
    with pytest.raises(GeofaceError, match="prefixes geoface reserves"):
        extract_table(sim.landmarks[:2], pd.DataFrame({"qc_status": ["x", "y"]}))
    with pytest.raises(GeofaceError, match="metadata has 1 rows for 2 faces"):
        extract_table(sim.landmarks[:2], pd.DataFrame({"id": ["a"]}))


def test_tables_on_other_meshes_are_refused(table, sim):
    other = extract_table(sim.landmarks, sim.meta, mesh="fit")
    with pytest.raises(GeofaceError, match="cannot be mixed"):
        table.check_compatible(other)
    table.check_compatible(table.mesh)


def test_read_refuses_incomplete_tables(tmp_path, table):
    with pytest.raises(GeofaceError, match="does not exist"):
        FeatureTable.read(tmp_path / "none.csv")
    path = table.write(tmp_path / "t.csv")
    frame = pd.read_csv(path).drop(columns=["tri_004_area"])
    frame.to_csv(path, index=False)
    with pytest.raises(GeofaceError, match=r"lacks columns \['tri_004_area'\]"):
        FeatureTable.read(path)
    sidecar_paths(path)[0].unlink()
    with pytest.raises(GeofaceError, match=r"has no sidecar t\.meta\.json"):
        FeatureTable.read(path)
    with pytest.raises(GeofaceError, match=r"use \.csv"):
        table.write(tmp_path / "t.xlsx")


def test_atomic_path_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_outputs_get_ordinary_permissions_not_private_temporary_ones(tmp_path):
    from geoface.runs import staged_directory

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("x")
        with staged_directory(tmp_path / "run") as tmp:
            (tmp / "a.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
