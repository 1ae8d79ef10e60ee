import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.landmarks import (
    LANDMARK_COLUMNS,
    read_landmark_csv,
    read_landmark_input,
    read_landmarks_npz,
    read_pts,
    write_landmark_csv,
    write_landmarks_npz,
    write_pts,
)
from tests.conftest import needs_helen


@pytest.mark.parametrize("header", [True, False])
def test_pts_round_trip(tmp_path, faces, header):
    path = tmp_path / "face.pts"
    write_pts(path, faces[0], header=header)
    text = path.read_text()
    assert text.startswith("version: 1") is header
    np.testing.assert_allclose(read_pts(path), faces[0], atol=1e-6)


def test_pts_errors_name_the_problem(tmp_path):
    bad = tmp_path / "short.pts"
    bad.write_text("version: 1\nn_points: 5\n{\n1 2\n3 4\n}\n")
    with pytest.raises(GeofaceError, match="header says n_points=5 but the file holds 2"):
        read_pts(bad)
    bad.write_text("\n".join(["1 2"] * 67))
    with pytest.raises(GeofaceError, match="holds 67 points; geoface needs the 68-point"):
        read_pts(bad)
    bad.write_text("version: 1\nn_points: 68\n{\n1 two\n}\n")
    with pytest.raises(GeofaceError, match=r"short.pts:4: expected two numbers"):
        read_pts(bad)
    bad.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(GeofaceError, match="cannot read landmark file"):
        read_pts(bad)


def test_csv_round_trip_keeps_metadata_first(tmp_path, sim):
    path = tmp_path / "lm.csv"
    write_landmark_csv(path, sim.landmarks, sim.meta)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["id", "subject", "label"]
    assert header[-136:] == list(LANDMARK_COLUMNS)
    lm, meta = read_landmark_csv(path)
    np.testing.assert_allclose(lm, sim.landmarks, atol=1e-6)
    assert meta["id"].tolist() == sim.meta["id"].tolist()


def test_csv_accepts_openface_padding_and_keeps_bad_values_as_nan(tmp_path, faces):
    frame = pd.DataFrame(
        np.concatenate([faces[:2, :, 0], faces[:2, :, 1]], axis=1),
        columns=[" " + c for c in LANDMARK_COLUMNS],
    )
    frame.insert(0, " frame", [1, 2])
    frame[" x_3"] = frame[" x_3"].astype(object)
    frame.loc[1, " x_3"] = "n/a"
    path = tmp_path / "openface.csv"
    frame.to_csv(path, index=False)
    lm, meta = read_landmark_csv(path)
    assert list(meta.columns) == ["frame"]
    assert np.isnan(lm[1, 3, 0]) and np.isfinite(lm[0]).all()


def test_csv_missing_columns_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1], "x_0": [1.0]}).to_csv(path, index=False)
    with pytest.raises(
        GeofaceError, match=r"lacks landmark columns x_1, x_2, x_3, x_4, … \(135 in all\)"
    ):
        read_landmark_csv(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(GeofaceError, match=r"cannot parse \S+ as CSV"):
        read_landmark_csv(empty)


def test_npz_round_trip_without_pickle(tmp_path, sim):
    path = tmp_path / "lm.npz"
    write_landmarks_npz(path, sim.landmarks, sim.meta[["id", "subject", "take"]])
    lm, meta = read_landmarks_npz(path)
    np.testing.assert_array_equal(lm, sim.landmarks)
    assert meta["id"].tolist() == sim.meta["id"].tolist()
    assert meta["take"].dtype.kind == "i"
    plain = tmp_path / "plain.npz"
    np.savez(plain, shapes=sim.landmarks[:3])
    assert read_landmarks_npz(plain)[0].shape == (3, 68, 2)
    np.savez(plain, shapes=np.zeros((3, 5, 2)))
    with pytest.raises(GeofaceError, match=r"expected \(n_faces, 68, 2\)"):
        read_landmarks_npz(plain)


def test_read_input_dispatches_on_kind(tmp_path, faces):
    folder = tmp_path / "pts"
    folder.mkdir()
    for i in range(3):
        write_pts(folder / f"f{i}.pts", faces[i])
    (folder / "f1.jpg").write_bytes(b"")
    lm, meta = read_landmark_input(folder)
    assert lm.shape == (3, 68, 2)
    assert meta["id"].tolist() == ["f0", "f1", "f2"]
    assert meta["path"].tolist() == ["", "f1.jpg", ""]
    _, meta1 = read_landmark_input(folder / "f1.pts")
    assert meta1["path"].tolist() == ["f1.jpg"]
    with pytest.raises(GeofaceError, match=r"has extension '\.txt'"):
        (tmp_path / "x.txt").write_text("")
        read_landmark_input(tmp_path / "x.txt")
    with pytest.raises(GeofaceError, match="does not exist"):
        read_landmark_input(tmp_path / "nope.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeofaceError, match=r"holds no \.pts"):
        read_landmark_input(tmp_path / "empty")


@needs_helen
def test_real_helen_pts_read_correctly(helen_pts):
    assert len(helen_pts) == 50
    first = read_pts(helen_pts[0])
    assert first.shape == (68, 2)
    # the first line of 2986046144_1.pts, as distributed
    if helen_pts[0].name == "2986046144_1.pts":
        np.testing.assert_allclose(first[0], [133.629367, 393.590880])
    shapes = np.stack([read_pts(p) for p in helen_pts])
    assert np.isfinite(shapes).all()
    # subject's right eye (36-41) lies left of the left eye (42-47) in upright photos
    assert (shapes[:, 36:42, 0].mean(1) < shapes[:, 42:48, 0].mean(1)).mean() > 0.9
