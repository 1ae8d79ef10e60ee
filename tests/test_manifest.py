"""``geoface manifest``: every layout parser on generated file trees, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.datasets import BASE_COLUMNS, STATUSES, build_manifest, write_manifest


def _image(path: Path, size: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((size, size, 3), 128, np.uint8)
    assert cv2.imwrite(str(path), img)
    return path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str, "subject": str, "label": str})


def _status(frame: pd.DataFrame, id_: str) -> str:
    return frame.set_index("id").loc[id_, "status"]


def _check_contract(frame: pd.DataFrame, n_files: int) -> None:
    assert list(frame.columns[: len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    assert len(frame) == n_files
    assert frame["id"].is_unique
    assert set(frame["status"]) <= set(STATUSES)
    assert frame.loc[frame["status"] != "ok", "label"].isna().all()
    assert frame.loc[frame["status"] == "ok", "label"].notna().all()


# --------------------------------------------------------------------- folders
@pytest.fixture()
def folders(tmp_path):
    root = tmp_path / "faces"
    for rel in [
        "train/happiness/s01_a.png",
        "train/happiness/s02_b.jpg",
        "train/Sadness/s01_c.png",
        "test/contempt/s03_d.png",
        "test/boredom/s03_e.png",
        "test/afraid/nosubject.png",
    ]:
        _image(root / rel)
    _image(root / "s09_loose.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_folders_labels_splits_and_subjects(folders, tmp_path):
    m = build_manifest(folders, "folders", subject_regex=r"(?P<subject>s\d+)_")
    f = m.frame
    _check_contract(f, 7)
    by = f.set_index("id")
    assert by.loc["train/happiness/s01_a", "label"] == "happy"
    assert by.loc["train/happiness/s01_a", "source_label"] == "happiness"
    assert by.loc["train/happiness/s01_a", "split"] == "train"
    assert by.loc["train/happiness/s01_a", "subject"] == "s01"
    assert by.loc["train/Sadness/s01_c", "label"] == "sad"
    assert by.loc["test/contempt/s03_d", "status"] == "excluded"
    assert by.loc["test/boredom/s03_e", "status"] == "unknown_label"
    assert by.loc["test/afraid/nosubject", "status"] == "unparsed"
    assert "--subject-regex" in by.loc["test/afraid/nosubject", "note"]
    assert by.loc["s09_loose", "status"] == "unlabelled"
    assert m.counts() == {
        "ok": 3,
        "unlabelled": 1,
        "excluded": 1,
        "unknown_label": 1,
        "unparsed": 1,
    }
    assert m.labels.seen["afraid"] == 1  # counted even though the row is unparsed


def test_folders_subject_folders(tmp_path):
    root = tmp_path / "d"
    _image(root / "happy" / "baby1" / "x.png")
    _image(root / "sad" / "baby2" / "y.png")
    _image(root / "sad" / "z.png")
    f = build_manifest(root, "folders", subject_folders=True).frame
    by = f.set_index("id")
    assert by.loc["happy/baby1/x", "subject"] == "baby1"
    assert by.loc["sad/baby2/y", ["label", "subject"]].tolist() == ["sad", "baby2"]
    assert by.loc["sad/z", "status"] == "unparsed"


def test_folders_without_subjects_says_so(tmp_path):
    root = tmp_path / "d"
    _image(root / "happy" / "x.png")
    m = build_manifest(root, "folders")
    assert any("no subject ids" in line for line in m.summary())


def test_bad_subject_regex(folders):
    with pytest.raises(GeofaceError, match="not a valid regular expression"):
        build_manifest(folders, "folders", subject_regex="(")


# ------------------------------------------------------------------------- TIF
TIF_NAMES = ["A02F10HA1", "A12M5SA", "A15M12HA2", "A18M7SU1", "A2F9NE", "A03F9XX", "A19M14DI"]


@pytest.fixture()
def tif(tmp_path):
    root = tmp_path / "TIF"
    for name in TIF_NAMES:
        _image(root / f"{name}.jpg")
    _image(root / "IMG_0001.jpg")
    _image(root / "sub" / "A04M6AF.png")
    return root


def test_tif_reads_infant_sex_age_code_take(tif):
    m = build_manifest(tif, "tif")
    f = m.frame
    _check_contract(f, len(TIF_NAMES) + 2)
    by = f.set_index("id")
    row = by.loc["A02F10HA1"]
    assert (row["subject"], row["sex"], row["age_months"], row["label"], row["take"]) == (
        "A02",
        "F",
        10,
        "happy",
        1,
    )
    assert row["age_group"] == "infant"
    assert row["dataset"] == "TIF"
    assert by.loc["A12M5SA", ["subject", "sex", "age_months", "label"]].tolist() == [
        "A12",
        "M",
        5,
        "sad",
    ]
    assert pd.isna(by.loc["A12M5SA", "take"])
    assert by.loc["A15M12HA2", "take"] == 2
    assert by.loc["A18M7SU1", ["subject", "age_months", "label"]].tolist() == ["A18", 7, "surprise"]
    assert by.loc["sub/A04M6AF", "label"] == "fear"
    # one infant, however the number is padded
    assert by.loc["A2F9NE", "subject"] == "A02"


def test_tif_lists_malformed_and_unknown_names(tif):
    f = build_manifest(tif, "tif").frame.set_index("id")
    assert f.loc["IMG_0001", "status"] == "unparsed"
    assert "A02F10HA1" in f.loc["IMG_0001", "note"]
    assert f.loc["A03F9XX", "status"] == "unknown_label"
    assert f.loc["A03F9XX", "source_label"] == "XX"
    # parsed, but outside what the paper reports: kept, with a note
    assert f.loc["A19M14DI", "status"] == "ok"
    assert "outside the 4–12 months" in f.loc["A19M14DI", "note"]
    assert "above the 18 infants" in f.loc["A19M14DI", "note"]


def test_tif_label_map_maps_an_unknown_code(tif, tmp_path):
    p = tmp_path / "map.csv"
    p.write_text("XX,anger\n")
    f = build_manifest(tif, "tif", label_map=p).frame.set_index("id")
    assert f.loc["A03F9XX", ["label", "status"]].tolist() == ["anger", "ok"]


def test_jaffe_and_kdef_names(tmp_path):
    j = tmp_path / "jaffe"
    for name in ["KA.AN1.39.tiff", "KL.HA2.30.tiff", "YM.FE3.67.tiff", "README.tiff"]:
        _image(j / name)
    f = build_manifest(j, "jaffe").frame.set_index("id")
    assert f.loc["KA.AN1.39", ["subject", "label", "take", "sex"]].tolist() == [
        "KA",
        "anger",
        1,
        "F",
    ]
    assert f.loc["YM.FE3.67", "label"] == "fear"
    assert f.loc["README", "status"] == "unparsed"
    k = tmp_path / "kdef"
    for name in ["AF01ANS.JPG", "BF01HAFL.JPG", "AM12SUHR.JPG", "AF01XXS.JPG"]:
        _image(k / name)
    f = build_manifest(k, "kdef").frame.set_index("id")
    assert f.loc["AF01ANS", ["subject", "label", "series", "angle"]].tolist() == [
        "F01",
        "anger",
        "A",
        "S",
    ]
    assert f.loc["BF01HAFL", ["subject", "label", "angle"]].tolist() == ["F01", "happy", "FL"]
    assert f.loc["AM12SUHR", "subject"] == "M12"
    assert f.loc["AF01XXS", "status"] == "unknown_label"


# ------------------------------------------------------------------------- CK+
def _ck_sequence(root: Path, subject: str, seq: str, n: int, emotion=None, facs=None, lm=True):
    for k in range(1, n + 1):
        stem = f"{subject}_{seq}_{k:08d}"
        _image(root / "cohn-kanade-images" / subject / seq / f"{stem}.png")
        if lm:
            d = root / "Landmarks" / subject / seq
            d.mkdir(parents=True, exist_ok=True)
            pts = np.arange(136, dtype=float).reshape(68, 2) + k
            (d / f"{stem}_landmarks.txt").write_text(
                "\n".join(f"   {x:.7e}   {y:.7e}" for x, y in pts)
            )
    peak = f"{subject}_{seq}_{n:08d}"
    if emotion is not None:
        d = root / "Emotion" / subject / seq
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{peak}_emotion.txt").write_text(
            emotion if isinstance(emotion, str) else f"   {emotion:.7e}\n"
        )
    if facs is not None:
        d = root / "FACS" / subject / seq
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{peak}_facs.txt").write_text(
            "".join(f"   {au:.7e}   {v:.7e}\n" for au, v in facs.items())
        )


@pytest.fixture()
def ckplus(tmp_path):
    root = tmp_path / "CK+"
    _ck_sequence(root, "S005", "001", 4, emotion=3, facs={9: 0, 17: 2})  # disgust
    _ck_sequence(root, "S005", "002", 3, emotion=2, facs={12: 3, 14: 0})  # contempt
    _ck_sequence(root, "S010", "001", 3, emotion=None, facs={1: 4, 2: 4, 5: 1})  # unlabelled
    _ck_sequence(root, "S010", "002", 2, emotion="garbage", facs={12: 1})  # malformed
    _image(root / "cohn-kanade-images" / "S010" / "002" / "thumbs.png")
    return root


def test_ckplus_peak_rows_labels_and_action_units(ckplus):
    m = build_manifest(ckplus, "ckplus")
    f = m.frame
    _check_contract(f, 5)
    by = f.set_index("id")
    peak = by.loc["S005/001/S005_001_00000004"]
    assert (peak["subject"], peak["label"], peak["source_label"]) == ("S005", "disgust", "disgust")
    assert (peak["emotion_code"], peak["frame_role"], peak["sequence"]) == (3, "peak", "S005_001")
    assert (peak["AU9"], peak["AU17"], peak["AU12"]) == (1, 1, 0)
    assert by.loc["S005/002/S005_002_00000003", "status"] == "excluded"
    unl = by.loc["S010/001/S010_001_00000003"]
    assert unl["status"] == "unlabelled"
    assert "no Emotion file" in unl["note"]
    assert (unl["AU1"], unl["AU5"], unl["AU9"]) == (1, 1, 0)  # AUs kept for the AU heads
    assert by.loc["S010/002/S010_002_00000002", "status"] == "unparsed"
    assert by.loc["S010/002/thumbs", "status"] == "unparsed"
    aus = ["AU1", "AU2", "AU5", "AU9", "AU12", "AU14", "AU17"]
    assert [c for c in f.columns if c.startswith("AU")] == aus
    assert m.info["frames_not_listed"] == 12 - 4
    assert m.info["sequences"] == 4


def test_ckplus_neutral_first_and_contempt_kept(ckplus):
    f = build_manifest(ckplus, "ckplus", neutral_first=True, keep=("contempt",)).frame
    by = f.set_index("id")
    first = by.loc["S005/001/S005_001_00000001"]
    assert (first["label"], first["frame_role"], first["AU9"], first["emotion_code"]) == (
        "neutral",
        "first",
        0,
        0,
    )
    assert by.loc["S005/002/S005_002_00000003", "label"] == "contempt"
    assert len(f) == 5 + 4


def test_ckplus_all_frames_intensity_and_landmarks(ckplus, tmp_path):
    m = build_manifest(ckplus, "ckplus", frames="all", au_intensity=True, landmarks=True)
    f = m.frame
    _check_contract(f, 13)
    by = f.set_index("id")
    assert by.loc["S005/001/S005_001_00000002", "status"] == "unlabelled"
    assert pd.isna(by.loc["S005/001/S005_001_00000002", "AU9"])
    assert by.loc["S005/001/S005_001_00000004", "AU17_intensity"] == 2
    assert by.loc["S005/001/S005_001_00000004", "AU9_intensity"] == 0
    out = tmp_path / "out" / "ck.csv"
    written = write_manifest(m, out)
    from geoface.landmarks import read_landmark_csv

    lm, meta = read_landmark_csv(written["landmarks"])
    assert len(lm) == len(f)
    i = list(meta["id"]).index("S005/001/S005_001_00000002")
    np.testing.assert_allclose(lm[i, 0], [2.0, 3.0])
    assert np.isnan(lm[list(meta["id"]).index("S010/002/thumbs")]).all()


# ------------------------------------------------------------------- AffectNet
def _affectnet(tmp_path) -> Path:
    root = tmp_path / "AffectNet"
    imgs = root / "Manually_Annotated" / "Manually_Annotated_Images"
    lists = root / "Manually_Annotated_file_lists"
    pts = ";".join(f"{v:.2f}" for v in np.arange(136, dtype=float))
    rows = []
    for k, code in enumerate(["1", "2", "7", "8", "10", "0", "12", "x"]):
        rel = f"{k:03d}/img{k}.jpg"
        _image(imgs / rel)
        rows.append([rel, "10", "12", "100", "100", pts, code, "0.5", "-0.25"])
    rows.append(["999/gone.jpg", "1", "1", "5", "5", "", "1", "0", "0"])
    rows.append(["", "1", "1", "5", "5", "", "1", "0", "0"])
    rows[0][5] = "1;2;3"  # malformed landmarks
    lists.mkdir(parents=True)
    header = [
        "subDirectory_filePath",
        "face_x",
        "face_y",
        "face_width",
        "face_height",
        "facial_landmarks",
        "expression",
        "valence",
        "arousal",
    ]
    pd.DataFrame(rows, columns=header).to_csv(lists / "training.csv", index=False)
    return root


def test_affectnet_annotation_csv(tmp_path):
    root = _affectnet(tmp_path)
    m = build_manifest(root, "affectnet")
    f = m.frame
    _check_contract(f, 10)
    by = f.set_index("id")
    row = by.loc["000/img0"]
    assert (row["label"], row["expression_code"], row["split"]) == ("happy", 1, "training")
    assert (row["valence"], row["arousal"], row["box_w"]) == (0.5, -0.25, 100)
    assert row["subject"] == "000/img0"  # no subject ids: each image its own
    assert by.loc["001/img1", "label"] == "sad"
    assert by.loc["002/img2", "status"] == "excluded"  # contempt
    assert by.loc["003/img3", "status"] == "excluded"  # none
    assert by.loc["004/img4", "status"] == "excluded"  # non-face
    assert by.loc["005/img5", "label"] == "neutral"
    assert by.loc["006/img6", "status"] == "unparsed"  # code 12
    assert by.loc["007/img7", "status"] == "unparsed"  # 'x'
    assert by.loc["999/gone", "status"] == "missing_file"
    assert (f["status"] == "unparsed").sum() == 3  # and the empty path
    assert "not 68 x;y pairs" in row["note"]
    assert m.landmarks.shape == (10, 68, 2)
    assert np.isnan(m.landmarks[0]).all()
    np.testing.assert_allclose(m.landmarks[1, 1], [2.0, 3.0])


def test_affectnet_writes_a_landmark_csv_extract_reads(tmp_path):
    root = _affectnet(tmp_path)
    out = tmp_path / "m" / "affectnet.csv"
    assert main(["manifest", str(root), "--layout", "affectnet", "--out", str(out)]) == 0
    from geoface.landmarks import read_landmark_csv

    lm, meta = read_landmark_csv(out.with_name("affectnet.landmarks.csv"))
    assert list(meta["id"]) == list(_read(out)["id"])
    assert (out.parent / meta["path"].iloc[1]).is_file()
    np.testing.assert_allclose(lm[1, 67], [134.0, 135.0])


def test_affectnet_csv_file_and_image_root(tmp_path):
    root = _affectnet(tmp_path)
    csv = root / "Manually_Annotated_file_lists" / "training.csv"
    imgs = root / "Manually_Annotated" / "Manually_Annotated_Images"
    f = build_manifest(csv, "affectnet", image_root=imgs).frame
    assert (f["status"] == "ok").sum() == 3
    f = build_manifest(csv, "affectnet", image_root=tmp_path).frame
    # rows that do not parse say so first; every other row is missing
    assert f["status"].value_counts().to_dict() == {"missing_file": 7, "unparsed": 3}


def test_affectnet_folder_release_with_codes(tmp_path):
    root = tmp_path / "affectnet_folders"
    _image(root / "train" / "3" / "a.png")
    _image(root / "train" / "Contempt" / "b.png")
    _image(root / "val" / "happy" / "c.png")
    f = build_manifest(root, "affectnet").frame.set_index("id")
    assert f.loc["train/3/a", ["label", "split", "subject"]].tolist() == [
        "surprise",
        "train",
        "train/3/a",
    ]
    assert f.loc["train/Contempt/b", "status"] == "excluded"
    assert f.loc["val/happy/c", "label"] == "happy"


# ------------------------------------------------------------------------- csv
def test_csv_layout_with_named_columns(tmp_path):
    root = tmp_path / "study"
    _image(root / "imgs" / "a.png")
    _image(root / "imgs" / "b.png")
    table = pd.DataFrame(
        {
            "file": ["imgs/a.png", "imgs/b.png", "imgs/none.png", ""],
            "emotion": ["Happiness", "contempt", "sad", "fear"],
            "child": ["c1", "c2", "c3", "c4"],
            "age_y": ["3", "7.5", "", "20"],
            "gender": ["F", "M", "F", "M"],
            "site": ["x", "y", "z", "w"],
        }
    )
    points = {
        f"original_{i}_{a}": float(i) + d for i in range(68) for a, d in (("x", 0), ("y", 0.5))
    }
    table = pd.concat([table, pd.DataFrame(points, index=table.index)], axis=1)
    csv = root / "labels.csv"
    table.to_csv(csv, index=False)
    m = build_manifest(
        csv,
        "csv",
        path_col="file",
        label_col="emotion",
        subject_col="child",
        age_col="age_y",
        age_unit="years",
        sex_col="gender",
        landmark_columns="original_{i}_x,original_{i}_y",
    )
    f = m.frame
    _check_contract(f, 4)
    by = f.set_index("id")
    assert by.loc[
        "imgs/a", ["label", "subject", "sex", "age_months", "age_group", "site"]
    ].tolist() == [
        "happy",
        "c1",
        "F",
        36.0,
        "infant",
        "x",
    ]
    assert by.loc["imgs/b", ["status", "age_group"]].tolist() == ["excluded", "younger_child"]
    assert by.loc["imgs/none", "status"] == "missing_file"
    assert by.loc["row_3", "status"] == "unparsed"
    assert "original_0_x" not in f.columns
    np.testing.assert_allclose(m.landmarks[0, 5], [5.0, 5.5])


def test_csv_layout_errors(tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame({"file": ["a.png"]}).to_csv(csv, index=False)
    with pytest.raises(GeofaceError, match=r"--path-col 'path' is not a column of t\.csv"):
        build_manifest(csv, "csv", path_col="path")
    with pytest.raises(GeofaceError, match="--landmark-columns"):
        build_manifest(csv, "csv", path_col="file", landmark_columns="x_{i}")
    with pytest.raises(GeofaceError, match="is a folder"):
        build_manifest(tmp_path, "csv")
    with pytest.raises(GeofaceError, match="do\\(es\\) not apply to --layout csv"):
        build_manifest(csv, "csv", path_col="file", neutral_first=True)


# ------------------------------------------------------- writing and the CLI
def test_written_manifest_is_relative_atomic_and_documented(tif, tmp_path):
    out = tmp_path / "deep" / "er" / "tif.csv"
    code = main(["manifest", str(tif), "--layout", "tif", "--out", str(out)])
    assert code == 0
    f = _read(out)
    assert all((out.parent / p).is_file() for p in f["path"])
    assert not any(p.name.endswith(".tmp") for p in out.parent.iterdir())
    side = json.loads(out.with_name("tif.manifest.json").read_text())
    assert side["layout"] == "tif"
    assert side["label_mapping"]["HA"] == "happy"
    assert side["counts"]["unparsed"] == 1
    assert side["n_rows"] == len(f)


def test_cli_prints_counts_examples_and_mapping(folders, tmp_path, capsys):
    out = tmp_path / "m.csv"
    args = ["manifest", str(folders), "--layout", "folders", "--out", str(out)]
    assert main([*args, "--subject-regex", r"(s\d+)_"]) == 0
    text = capsys.readouterr().out
    assert "7 rows (ok 3, unlabelled 1, excluded 1, unknown_label 1, unparsed 1)" in text
    assert "nosubject.png: path does not match --subject-regex" in text
    assert "happiness → happy  [2]" in text
    assert "contempt → excluded (contempt: not one of the seven classes; --keep contempt" in text
    assert "boredom → unknown" in text
    assert main([*args, "--keep", "contempt"]) == 0
    assert "contempt → contempt  [1]" in capsys.readouterr().out
    assert _read(out).set_index("id").loc["test/contempt/s03_d", "label"] == "contempt"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["manifest", "{tmp}/nope", "--layout", "folders"], "does not exist"),
        (["manifest", "{tmp}/empty", "--layout", "folders"], "no images"),
        (["manifest", "{tmp}/empty", "--layout", "ckplus"], "no images"),
        (["manifest", "{tmp}/empty", "--layout", "tif", "--subject-folders"], "do(es) not apply"),
        (["manifest", "{tmp}/empty", "--layout", "affectnet"], "no images"),
        (["manifest", "{tmp}/file.txt", "--layout", "tif"], "is not a folder"),
        (["manifest", "{tmp}/empty", "--layout", "csv"], "is a folder"),
        (["manifest", "{tmp}/img", "--layout", "tif", "--keep", "joy"], "--keep 'joy'"),
        (["manifest", "{tmp}/img", "--layout", "tif", "--label-map", "{tmp}/x.csv"], "--label-map"),
    ],
)
def test_cli_one_line_errors(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    _image(tmp_path / "img" / "A02F10HA1.png")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--out", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("geoface: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()


def test_cli_unknown_layout(tmp_path, capsys):
    assert main(["manifest", str(tmp_path), "--layout", "fer2013", "--out", "o.csv"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'fer2013'" in err
    assert len(err.strip().splitlines()) == 1


def test_out_must_be_a_csv(tif, tmp_path):
    m = build_manifest(tif, "tif")
    with pytest.raises(GeofaceError, match=r"must be a \.csv file"):
        write_manifest(m, tmp_path / "m.txt")


# ------------------------------------------------- read by extract and baseline
def test_manifest_is_an_extract_manifest_and_metadata_flows_to_the_table(tmp_path):
    from geoface.landmarks import write_pts
    from geoface.landmarks._sources import find_images, input_kind
    from geoface.simulate import simulate_landmarks

    sim = simulate_landmarks(n_subjects=2, takes=1, random_state=0)
    root = tmp_path / "TIF"
    names = ["A02F10HA1", "A12M5SA", "A15M12NE2", "bad"]
    for k, name in enumerate(names):
        lm = sim.landmarks[k] - sim.landmarks[k].min(axis=0) + 10
        _image(root / f"{name}.png", size=int(lm.max()) + 20)
        write_pts(root / f"{name}.pts", lm)
    out = tmp_path / "m" / "tif.csv"
    assert main(["manifest", str(root), "--layout", "tif", "--out", str(out)]) == 0
    assert input_kind(out) == "manifest"
    src = find_images(out)
    assert all(f.is_file() for f in src.files)
    assert list(src.meta["id"]) == ["A02F10HA1", "A12M5SA", "A15M12NE2", "bad"]
    feats = tmp_path / "features.csv"
    argv = ["extract", str(out), "--landmarker", "file", "--out", str(feats), "--no-cache"]
    assert main([*argv, "--quiet"]) == 0
    table = pd.read_csv(feats)
    assert list(table["age_group"].fillna("")) == ["infant", "infant", "infant", ""]
    assert list(table["sex"].fillna("")) == ["F", "M", "M", ""]
    assert list(table["status"]) == ["ok", "ok", "ok", "unparsed"]
    assert (table["qc_status"] == "ok").all()


def test_manifest_is_read_by_the_baseline(tif, tmp_path):
    pytest.importorskip("torch")
    from baselines._faces import read_face_table

    out = tmp_path / "tif.csv"
    write_manifest(build_manifest(tif, "tif"), out)
    frame, base = read_face_table(out)
    assert {"id", "path", "subject", "label"} <= set(frame.columns)
    assert all((base / p).is_file() for p in frame["path"])


def test_cli_ckplus_with_age_group_and_landmarks(ckplus, tmp_path, capsys):
    out = tmp_path / "ck.csv"
    argv = ["manifest", str(ckplus), "--layout", "ckplus", "--out", str(out)]
    assert main([*argv, "--neutral-first", "--age-group", "adult", "--landmarks"]) == 0
    text = capsys.readouterr().out
    assert "9 rows (ok 5, unlabelled 1, excluded 1, unparsed 2)" in text  # 4 neutral first frames
    assert "disgust → disgust  [1]" in text
    assert "intermediate frames not listed" in text
    f = _read(out)
    assert (f["age_group"] == "adult").all()
    assert out.with_name("ck.landmarks.csv").is_file()
    assert f["AU12"].dropna().isin([0, 1]).all()


def test_age_group_does_not_override_known_ages(tif):
    f = build_manifest(tif, "tif", age_group="adult").frame.set_index("id")
    assert f.loc["A02F10HA1", "age_group"] == "infant"
    assert f.loc["IMG_0001", "age_group"] == "adult"


def test_csv_layout_empty_label_is_unlabelled(tmp_path):
    _image(tmp_path / "a.png")
    _image(tmp_path / "b.png")
    csv = tmp_path / "t.csv"
    pd.DataFrame({"path": ["a.png", "b.png"], "label": ["", "surprised"]}).to_csv(csv, index=False)
    m = build_manifest(csv, "csv")
    f = m.frame.set_index("id")
    assert f.loc["a", ["status", "label"]].tolist() == ["unlabelled", None]
    assert f.loc["b", "label"] == "surprise"
    assert "" not in m.labels.seen
