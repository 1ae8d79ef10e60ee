"""``geoface extract`` on real photographs with the dlib backend (offline), end to end."""

import io
import json

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geoface.cli import main
from geoface.features import FeatureTable
from geoface.landmarks import (
    detect_landmarks,
    find_images,
    make_landmarker,
    read_landmark_csv,
    read_pts,
)
from tests.conftest import DLIB_FACES, HELEN, needs_dlib, needs_dlib_faces, needs_helen

pytestmark = needs_dlib

#: the 300-W convention: normalised by the outer-eye-corner distance (points 36 and 45)
NME_TARGET = 0.035


def nme(pred, truth):
    return np.linalg.norm(pred - truth, axis=-1).mean(-1) / np.linalg.norm(
        truth[..., 36, :] - truth[..., 45, :], axis=-1
    )


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dlib_landmarker():
    return make_landmarker("dlib")


@pytest.fixture(scope="module")
def helen_run(tmp_path_factory):
    """One CLI run on the 50 HELEN photographs."""
    if not HELEN.is_dir():
        pytest.skip("../shared/data/helen is not present")
    out = tmp_path_factory.mktemp("helen") / "f.csv"
    code = main(["extract", str(HELEN), "--landmarker", "dlib", "--out", str(out), "--quiet"])
    return code, out


@needs_helen
def test_helen_end_to_end_accuracy(helen_run):
    code, out = helen_run
    assert code == 0
    table = FeatureTable.read(out)
    assert len(table.frame) == 50
    counts = table.qc_counts()
    # HELEN crops show other people beside the annotated face: those are multiple_faces
    assert set(counts) <= {"ok", "multiple_faces"} and table.usable.sum() >= 48
    assert counts["ok"] >= 40
    landmarks, meta = read_landmark_csv(out.with_name("f.landmarks.csv"))
    truth = np.stack([read_pts(HELEN / p.replace(".jpg", ".pts")) for p in meta["path"]])
    errors = nme(landmarks, truth)
    assert np.nanmedian(errors) <= NME_TARGET
    assert (errors < 0.08).sum() >= 45
    info = json.loads(out.with_name("f.meta.json").read_text())
    assert info["landmarker"] == "dlib"
    det = info["detection"]
    assert det["n_images"] == 50 and det["cache"]["misses"] == 50
    assert det["fingerprint"]["model"]["file"] == "shape_predictor_68_face_landmarks.dat"
    assert {"opencv", "dlib"} <= set(det["versions"])
    assert {"total_s", "landmarks_s", "features_s", "images_per_s"} <= set(det["timings"])
    assert det["qc_counts_landmarks"] == counts


@needs_helen
def test_rerun_with_other_feature_options_detects_nothing(helen_run, capsys):
    _, out = helen_run
    code, text, _ = run(
        capsys,
        "extract",
        HELEN,
        "--landmarker",
        "dlib",
        "--out",
        out.with_name("g.parquet"),
        "--iod",
        "corners",
        "--quiet",
    )
    assert code == 0 and "cache: 50 reused, 0 detected" in text
    a = pd.read_csv(out.with_name("f.landmarks.csv"))
    b = pd.read_csv(out.with_name("g.landmarks.csv"))
    pd.testing.assert_frame_equal(a, b)
    assert json.loads(out.with_name("g.meta.json").read_text())["options"]["iod"] == "corners"


@needs_helen
def test_landmark_table_round_trips_through_extract(helen_run, capsys):
    _, out = helen_run
    again = out.with_name("again.csv")
    code, _text, _ = run(capsys, "extract", out.with_name("f.landmarks.csv"), "--out", again)
    assert code == 0
    a, b = FeatureTable.read(out), FeatureTable.read(again)
    assert a.qc_counts() == b.qc_counts()  # image statuses survive (multiple_faces stays)
    np.testing.assert_allclose(a.features, b.features, rtol=1e-6, atol=1e-9, equal_nan=True)


@needs_dlib_faces
def test_dogs_have_no_face_and_bald_guys_several(tmp_path, dlib_landmarker):
    manifest = tmp_path / "m.csv"
    pd.DataFrame(
        {
            "path": [str(DLIB_FACES / "dogs.jpg"), str(DLIB_FACES / "bald_guys.jpg")],
            "group": ["dogs", "people"],
        }
    ).to_csv(manifest, index=False)
    found = detect_landmarks(find_images(manifest), dlib_landmarker, progress=False)
    qc = found.qc.set_index(found.meta["id"].str.rsplit("/", n=1).str[-1])
    assert qc.loc["dogs", "qc_status"] == "no_face" and qc.loc["dogs", "qc_n_faces"] == 0
    assert qc.loc["bald_guys", "qc_status"] == "multiple_faces"
    n = int(qc.loc["bald_guys", "qc_n_faces"])
    assert n >= 5
    assert found.meta["group"].tolist() == ["dogs", "people"]  # manifest columns carried

    every = detect_landmarks(find_images(manifest), dlib_landmarker, progress=False, faces="all")
    guys = every.meta["id"].str.contains("bald_guys")
    assert guys.sum() == n and (every.qc.loc[guys, "qc_status"] == "ok").all()
    assert every.meta.loc[guys, "face_index"].tolist() == list(range(n))
    w = every.qc.loc[guys, "qc_box_w"] * every.qc.loc[guys, "qc_box_h"]
    assert w.is_monotonic_decreasing  # face 0 is the largest


def _face_image():
    """A single-face HELEN photograph (RGB) with its ground truth."""
    name = "2986046144_1"
    rgb = cv2.cvtColor(cv2.imread(str(HELEN / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    return rgb, read_pts(HELEN / f"{name}.pts")


@needs_helen
def test_bad_input_folder_loses_nothing(tmp_path, capsys):
    rgb, truth = _face_image()
    h, w = rgb.shape[:2]
    d = tmp_path / "photos"
    d.mkdir()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(d / "plain.jpg"), bgr)
    cv2.imwrite(str(d / "grey.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(d / "rgba.png"), np.dstack([bgr, np.full((h, w), 255, np.uint8)]))
    cv2.imwrite(str(d / "deep16.png"), bgr.astype(np.uint16) * 257)
    Image.fromarray(rgb).convert("CMYK").save(d / "cmyk.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 8  # stored a quarter turn clockwise: rotate 90° anticlockwise to display
    Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_270).save(
        d / "exif_rotated.jpg", quality=95, exif=exif.tobytes()
    )
    big = np.full((9000, 12000), 180, np.uint8)  # 12000 × 9000, the face pasted at 3×
    face3 = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (3 * w, 3 * h))
    big[1000 : 1000 + 3 * h, 4000 : 4000 + 3 * w] = face3
    cv2.imwrite(str(d / "huge.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 85])
    cv2.imwrite(str(d / "tiny.png"), cv2.resize(bgr, (24, 30)))
    (d / "zero_bytes.jpg").write_bytes(b"")
    full = (d / "plain.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(full[: len(full) // 3])
    (d / "notes.jpg").write_text("this is a text file with a .jpg name\n")
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "PNG")
    (d / "ünïcødé näme.png").write_bytes(b.getvalue())

    out = tmp_path / "f.csv"
    code, text, _ = run(capsys, "extract", d, "--landmarker", "dlib", "--out", out, "--quiet")
    assert code == 0
    frame = pd.read_csv(tmp_path / "f.landmarks.csv")
    status = dict(zip(frame["id"], frame["qc_status"], strict=True))
    assert status == {
        "plain": "ok",
        "grey": "ok",
        "rgba": "ok",
        "deep16": "ok",
        "cmyk": "ok",
        "exif_rotated": "ok",
        "huge": "ok",
        "ünïcødé näme": "ok",
        "tiny": "too_small",
        "zero_bytes": "unreadable",
        "truncated": "unreadable",
        "notes": "unreadable",
    }
    assert len(FeatureTable.read(out).frame) == 12
    lm, meta = read_landmark_csv(tmp_path / "f.landmarks.csv")
    by_id = dict(zip(meta["id"], lm, strict=True))
    for name in ("plain", "grey", "rgba", "deep16", "cmyk", "exif_rotated"):
        assert nme(by_id[name], truth) < 0.05, name  # displayed orientation, same pixels
    # the 12000 × 9000 photo: detected on a reduced copy, mapped back to full resolution
    assert nme((by_id["huge"] - [4000, 1000]) / 3.0, truth) < 0.05
    row = frame.set_index("id").loc["huge"]
    assert (row["qc_image_w"], row["qc_image_h"]) == (12000, 9000)
    notes = frame.set_index("id")["qc_note"]
    assert "empty file" in notes["zero_bytes"] and "minimum size" in notes["tiny"]
    assert "unreadable 3" in text and "too_small 1" in text and "ok 8" in text


@needs_helen
def test_tight_crops_use_the_fallback_and_detector_none(tmp_path, dlib_landmarker):
    rgb, truth = _face_image()
    x0, y0 = truth.min(0).astype(int)
    x1, y1 = truth.max(0).astype(int)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    d = tmp_path / "crops"
    d.mkdir()
    cv2.imwrite(str(d / "tight.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    found = detect_landmarks(find_images(d), dlib_landmarker, progress=False)
    assert found.qc["qc_status"].iloc[0] in ("ok", "fallback_box")
    assert nme(found.landmarks[0], truth - [x0, y0]) < 0.08
    whole = make_landmarker("dlib", detector="none")
    found = detect_landmarks(find_images(d), whole, progress=False)
    assert found.qc["qc_status"].iloc[0] == "ok" and np.isnan(found.qc["qc_det_score"].iloc[0])
    assert found.qc["qc_box_w"].iloc[0] == pytest.approx(crop.shape[1] - 1)
    assert nme(found.landmarks[0], truth - [x0, y0]) < 0.1


@needs_helen
def test_cli_manifest_overlays_and_labels(tmp_path, capsys):
    names = sorted(p.name for p in HELEN.glob("*.jpg"))[:3]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(
        {
            "path": [str(HELEN / n) for n in names] + ["missing.jpg"],
            "subject": ["s1", "s1", "s2", "s3"],
            "label": ["happy", "sad", "happy", "fear"],
            "age_months": [6, 6, 9, 12],
        }
    ).to_csv(manifest, index=False)
    out = tmp_path / "out" / "f.parquet"
    code, text, err = run(
        capsys,
        "extract",
        manifest,
        "--landmarker",
        "dlib",
        "--out",
        out,
        "--overlays",
        tmp_path / "ov",
        "--cache",
        tmp_path / "cache",
    )
    assert code == 0, err
    assert "4 images from" in text and "landmarker dlib (asked for)" in text
    assert "landmarks:" in err  # the progress bar
    frame = pd.read_parquet(out)
    assert frame[["subject", "label", "age_months"]].values.tolist() == [
        ["s1", "happy", 6],
        ["s1", "sad", 6],
        ["s2", "happy", 9],
        ["s3", "fear", 12],
    ]
    assert frame["qc_status"].iloc[3] == "unreadable"
    assert "file not found" in frame["qc_note"].iloc[3]
    assert len(list((tmp_path / "ov").rglob("*.jpg"))) == 3
    assert len(list((tmp_path / "cache").rglob("*/??/*.json"))) == 3
    assert not (tmp_path / "out" / "geoface-cache").exists()


def test_cli_refuses_detection_on_landmark_files(tmp_path, capsys, sim):
    from geoface.landmarks import write_landmark_csv

    write_landmark_csv(tmp_path / "lm.csv", sim.landmarks[:3], sim.meta.iloc[:3])
    code, _, err = run(
        capsys, "extract", tmp_path / "lm.csv", "--landmarker", "dlib", "--out", tmp_path / "f.csv"
    )
    assert code == 2 and "holds landmarks already" in err


def test_cli_reports_when_no_face_is_found(tmp_path, capsys):
    from tests.conftest import write_image

    write_image(tmp_path / "imgs" / "noise.png", size=(200, 200))
    code, out, err = run(
        capsys,
        "extract",
        tmp_path / "imgs",
        "--landmarker",
        "dlib",
        "--out",
        tmp_path / "f.csv",
        "--quiet",
        "--no-cache",
    )
    assert code == 2 and "no_face 1" in out and "no face has usable landmarks" in err
    assert not (tmp_path / "geoface-cache").exists()


def test_cli_interrupted_run_writes_nothing_and_resumes(tmp_path, capsys, monkeypatch):
    import geoface.landmarks as lmk
    from tests.conftest import FakeLandmarker, write_image

    for k in range(5):
        write_image(tmp_path / "imgs" / f"i{k}.png", seed=k)
    fakes = [FakeLandmarker(interrupt_after=2), FakeLandmarker()]
    monkeypatch.setattr(lmk, "make_landmarker", lambda *a, **k: fakes.pop(0))
    args = (
        "extract",
        tmp_path / "imgs",
        "--landmarker",
        "dlib",
        "--out",
        tmp_path / "f.csv",
        "--quiet",
    )
    code, _, err = run(capsys, *args)
    assert code == 130 and "interrupted" in err
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "f.landmarks.csv").exists()
    code, out, _ = run(capsys, *args)
    assert code == 0 and "cache: 2 reused, 3 detected" in out and "ok 5" in out


def test_cli_copies_nothing_when_out_has_a_wrong_extension(tmp_path, capsys):
    from tests.conftest import write_image

    write_image(tmp_path / "a.png")
    code, _, err = run(capsys, "extract", tmp_path / "a.png", "--out", tmp_path / "f.xlsx")
    assert code == 2 and "use .csv" in err
