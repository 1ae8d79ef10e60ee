"""The file backend, backend choice (auto) and its errors."""

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface._errors import MissingDependencyError
from geoface.cli import main
from geoface.landmarks import (
    LANDMARK_COLUMNS,
    FileLandmarker,
    detect_landmarks,
    find_images,
    landmarks_to_frame,
    make_landmarker,
    read_landmark_csv,
    write_pts,
)
from tests.conftest import needs_dlib, write_image


def _faces_in(sim, k, offset=40.0):
    return sim.landmarks[k] - sim.landmarks[k].min(axis=0) + offset


def test_file_backend_reads_pts_and_openface_csv_beside_images(tmp_path, sim, capsys):
    d = tmp_path / "photos"
    for k in range(3):
        write_image(d / f"b{k}.png", size=(400, 400), seed=k)
    write_pts(d / "b0.pts", _faces_in(sim, 0))
    # OpenFace FaceLandmarkImg: one row per face, padded column names, a confidence
    two = np.stack([_faces_in(sim, 1), _faces_in(sim, 2, offset=10.0) * 0.5])
    frame = landmarks_to_frame(two, pd.DataFrame({"face": [0, 1], "confidence": [0.9, 0.7]}))
    frame.columns = [" " + c for c in frame.columns]
    frame.to_csv(d / "b1.csv", index=False)
    found = detect_landmarks(find_images(d), FileLandmarker(), progress=False)
    assert found.qc["qc_status"].tolist() == ["ok", "multiple_faces", "no_face"]
    np.testing.assert_allclose(found.landmarks[0], _faces_in(sim, 0), atol=1e-5)
    np.testing.assert_allclose(found.landmarks[1], _faces_in(sim, 1), atol=1e-5)  # the larger
    assert found.qc["qc_det_score"].iloc[1] == pytest.approx(0.9)
    assert "no landmarks" in found.qc["qc_note"].iloc[2]

    code, out, _ = _run(
        capsys, "extract", d, "--landmarker", "file", "--out", tmp_path / "f.csv", "--quiet"
    )
    assert code == 0 and "3 rows from 3 images" in out and "no_face 1" in out
    assert "cache" not in out  # landmarks read from files are never cached


def test_file_backend_reads_a_pyfeat_table(tmp_path, sim):
    d = tmp_path / "photos"
    for k in range(2):
        write_image(d / f"c{k}.jpg", size=(400, 400), seed=k)
    lm = np.stack([_faces_in(sim, 3), _faces_in(sim, 4)])
    table = landmarks_to_frame(
        lm,
        pd.DataFrame(
            {
                "FaceRectX": [30.0, 31.0],
                "FaceRectY": [20.0, 21.0],
                "FaceRectWidth": [200.0, 201.0],
                "FaceRectHeight": [220.0, 221.0],
                "FaceScore": [0.99, 0.98],
                "input": ["photos/c0.jpg", "c1.jpg"],  # a relative path, or a bare file name
            }
        ),
    )
    table.to_csv(tmp_path / "pyfeat.csv", index=False)
    found = detect_landmarks(
        find_images(d), FileLandmarker(table=tmp_path / "pyfeat.csv"), progress=False
    )
    assert found.qc["qc_status"].tolist() == ["ok", "ok"]
    np.testing.assert_allclose(found.landmarks, lm, atol=1e-5)
    assert found.qc[["qc_box_x", "qc_box_y", "qc_box_w", "qc_box_h"]].iloc[1].tolist() == [
        31.0,
        21.0,
        201.0,
        221.0,
    ]
    assert found.qc["qc_det_score"].tolist() == [0.99, 0.98]
    pd.DataFrame({"x_0": [1.0]}).to_csv(tmp_path / "nokey.csv", index=False)
    with pytest.raises(GeofaceError, match="no column naming the images"):
        FileLandmarker(table=tmp_path / "nokey.csv")
    with pytest.raises(GeofaceError, match="does not exist"):
        FileLandmarker(table=tmp_path / "none.csv")


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_landmark_folder_with_images_keeps_reading_pts(tmp_path, sim, capsys):
    """A folder of images with .pts beside them is read as landmarks, as before."""
    d = tmp_path / "photos"
    write_image(d / "a.png", size=(400, 400))
    write_pts(d / "a.pts", _faces_in(sim, 0))
    code, out, _ = _run(capsys, "extract", d, "--out", tmp_path / "f.csv")
    assert code == 0 and "1 faces →" in out
    assert not (tmp_path / "f.landmarks.csv").exists()


@needs_dlib
def test_auto_picks_dlib_without_fan_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("GEOFACE_WEIGHTS_DIR", raising=False)
    lm = make_landmarker("auto")
    assert lm.name == "dlib" and "not on this machine" in lm.choice
    assert "2DFAN4-11f355bf06.pth.tar" in lm.choice


def test_auto_without_any_backend_names_what_to_install(tmp_path, monkeypatch):
    import geoface.landmarks._dlib as dlib_module

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("GEOFACE_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(dlib_module, "dlib_available", lambda: False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'geoface\[dlib\]'") as info:
        make_landmarker("auto")
    assert isinstance(info.value, ImportError) and isinstance(info.value, GeofaceError)


def test_missing_dlib_model_names_the_extra(monkeypatch):
    import importlib.util

    from geoface.landmarks import dlib_model_path

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"face-recognition-models.*geoface\[dlib\]"):
        dlib_model_path()


def test_bad_backend_names():
    with pytest.raises(GeofaceError, match="landmarker='openface' is not one of"):
        make_landmarker("openface")
    with pytest.raises(GeofaceError, match="detector='mtcnn' is not one of"):
        make_landmarker("dlib", detector="mtcnn")
    with pytest.raises(GeofaceError, match="does not apply to the file landmarker"):
        make_landmarker("file", detector="hog")
    with pytest.raises(GeofaceError, match="add --landmarker file"):
        make_landmarker("auto", table="landmarks.csv")


def test_landmark_csv_columns_stay_the_contract(tmp_path, sim, capsys):
    d = tmp_path / "photos"
    write_image(d / "a.png", size=(400, 400))
    write_pts(d / "a.pts", _faces_in(sim, 0))
    code, _, _ = _run(
        capsys, "extract", d, "--landmarker", "file", "--out", tmp_path / "f.csv", "--quiet"
    )
    assert code == 0
    lm, _ = read_landmark_csv(tmp_path / "f.landmarks.csv")
    header = (tmp_path / "f.landmarks.csv").read_text().splitlines()[0].split(",")
    assert header[-136:] == list(LANDMARK_COLUMNS) and header[:3] == ["id", "path", "face_index"]
    np.testing.assert_allclose(lm[0], _faces_in(sim, 0), atol=1e-5)
