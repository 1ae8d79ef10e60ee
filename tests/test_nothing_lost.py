"""Nothing the user gave is lost: outputs replaced whole, never onto an input, bounded decoding,
one label rule, and one-line errors for what the filesystem refuses."""

from __future__ import annotations

import errno
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoface._errors import GeofaceError
from geoface.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid grey PNG of ``width × height`` black pixels in about a megabyte.

    Each row is compressed once with a full flush (which resets the compressor), so every
    later row compresses to the same bytes: the stream is built by repetition, and only the
    Adler-32 checksum runs over the whole (virtual) image.
    """
    row = b"\0" * (width + 1)  # filter byte + pixels
    comp = zlib.compressobj(9)
    first = comp.compress(row) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(row) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)[:-4]  # final empty block, without the wrong checksum
    adler = 1
    for _ in range(height):
        adler = zlib.adler32(row, adler)
    stream = first + again * (height - 1) + tail + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", stream)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture()
def landmark_csv(tmp_path, sim):
    from geoface.landmarks import write_landmark_csv

    path = tmp_path / "lm.csv"
    write_landmark_csv(path, sim.landmarks, sim.meta)
    return path


# ------------------------------------------------------------ table and sidecars


def test_table_and_sidecars_change_together(tmp_path, sim):
    """A sidecar left from another write (an interrupted re-extraction) is refused on read."""
    from geoface.features import FeatureTable, extract_table, sidecar_paths

    old = extract_table(sim.landmarks, sim.meta)
    new = extract_table(sim.landmarks, sim.meta, mesh="fit")
    assert old.mesh.hash != new.mesh.hash
    path = tmp_path / "features.csv"
    old.write(path)
    _, map_path = sidecar_paths(path)
    recorded = json.loads(sidecar_paths(path)[0].read_text())["content_sha256"]
    assert set(recorded) == {"table", "feature_map"}
    assert FeatureTable.read(path).mesh.hash == old.mesh.hash

    old_table, old_map = path.read_bytes(), map_path.read_bytes()
    new.write(path)
    assert FeatureTable.read(path).mesh.hash == new.mesh.hash
    # the new sidecar beside the old table: what a write killed between renames leaves
    path.write_bytes(old_table)
    with pytest.raises(GeofaceError, match=r"features\.csv does not match its sidecar"):
        FeatureTable.read(path)
    map_path.write_bytes(old_map)
    with pytest.raises(GeofaceError, match="does not match its sidecar"):
        FeatureTable.read(path)
    # the old feature map beside the new table and sidecar is noticed too
    old.write(path)
    new.write(path)
    map_path.write_bytes(old_map)
    with pytest.raises(GeofaceError, match=r"featuremap\.csv does not match its sidecar"):
        FeatureTable.read(path)
    # a table edited by hand after it was written is read as it is
    new.write(path)
    path.write_text(path.read_text().replace("\n", "\r\n"))
    assert FeatureTable.read(path).mesh.hash == new.mesh.hash
    # a write that fails part-way leaves the old three files and no temporary file
    pytest.importorskip("pyarrow")
    path = old.write(tmp_path / "t.parquet")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = extract_table(sim.landmarks, sim.meta, mesh="fit")
    broken.frame = broken.frame.assign(note=[object()] * len(broken.frame))  # not storable
    with pytest.raises(Exception):  # noqa: B017 - whatever the Parquet writer raises
        broken.write(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_predict_refuses_a_table_whose_sidecar_belongs_to_another(tmp_path, capsys, sim):
    from geoface.features import extract_table

    old = extract_table(sim.landmarks, sim.meta)
    path = old.write(tmp_path / "features.csv")
    code, _, err = run(
        capsys, "fit", path, "--out", tmp_path / "run", "--model", "logreg", "--folds", 2,
        "--bootstrap", 100, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    old_table = path.read_bytes()
    extract_table(sim.landmarks, sim.meta, mesh="fit").write(path)  # re-extracted, another mesh
    path.write_bytes(old_table)  # … but killed before the table was renamed into place
    code, _, err = run(capsys, "predict", tmp_path / "run", path, "--out", tmp_path / "p.csv")
    assert code == 2 and "does not match its sidecar" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "p.csv").exists()


# ------------------------------------------------------------ outputs onto inputs


def test_output_onto_its_own_input_is_refused(tmp_path, capsys, landmark_csv, sim):
    from geoface.features import extract_table

    original = landmark_csv.read_bytes()
    code, _, err = run(capsys, "extract", landmark_csv, "--out", landmark_csv)
    assert code == 2 and "is one of the inputs" in err and "choose another --out" in err
    assert landmark_csv.read_bytes() == original
    # the same file under another spelling (a symbolic link) is the same file
    (tmp_path / "link.csv").symlink_to(landmark_csv)
    code, _, err = run(capsys, "extract", tmp_path / "link.csv", "--out", landmark_csv)
    assert code == 2 and landmark_csv.read_bytes() == original

    table = tmp_path / "features.csv"
    extract_table(sim.landmarks, sim.meta).write(table)
    saved = {p: p.read_bytes() for p in tmp_path.glob("features*")}
    for argv in (
        ("predict", tmp_path / "run", table, "--out", table),
        ("predict", tmp_path / "run", table, "--out", tmp_path / "features.meta.json"),
        ("split", table, "--out", table),
        ("split", table, "--out", tmp_path / "features.featuremap.csv"),
        ("fit", table, "--out", tmp_path, "--overwrite"),
        ("explain", tmp_path / "run", "--out", tmp_path / "run", "--overwrite"),
        ("evaluate", table, "--by", "subject", "--out", tmp_path, "--overwrite"),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert "is one of the inputs" in err or "holds the input" in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.glob("features*")} == saved


# ------------------------------------------------------------ bounded decoding


def test_decoding_is_bounded_by_the_declared_size(tmp_path):
    from geoface.landmarks import ImageReadError, decode_image, read_image_bytes

    data = bomb_png()
    assert len(data) < 2_000_000
    with pytest.raises(ImageReadError, match=r"declares 30000×30000 px .*--max-pixels") as info:
        decode_image(data)
    assert info.value.status == "too_large"
    # a budget can be raised; a small genuine image is decoded as before
    small = bomb_png(64, 48)
    assert decode_image(small).size == (64, 48)
    with pytest.raises(ImageReadError, match="above the budget"):
        decode_image(small, max_pixels=1000)
    # devices and pipes are refused without being opened (reading them never ends)
    with pytest.raises(ImageReadError, match=r"not a regular file \(a device\)") as info:
        read_image_bytes("/dev/zero")
    assert info.value.status == "unreadable"
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageReadError, match=r"not a regular file \(a pipe\)"):
        read_image_bytes(tmp_path / "pipe.png")
    # a file larger than an image within the budget can be is not read
    (tmp_path / "big.png").write_bytes(small + b"\0" * 5000)
    with pytest.raises(ImageReadError, match="larger than") as info:
        read_image_bytes(tmp_path / "big.png", max_bytes=4000)
    assert info.value.status == "too_large"


def test_declared_sizes_of_every_format(tmp_path):
    import cv2

    from geoface.landmarks._imagesize import declared_size

    img = np.random.default_rng(0).integers(0, 255, size=(37, 53, 3), dtype=np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".tiff", ".webp", ".jp2", ".ppm", ".pgm"):
        ok, buf = cv2.imencode(ext, img if ext != ".pgm" else img[..., 0])
        assert ok, ext
        kind, size = declared_size(buf.tobytes())
        assert kind is not None and size == (53, 37), (ext, kind, size)
    assert declared_size(b"plain text") == (None, None)


def test_a_manifest_with_a_bomb_and_a_device_keeps_every_other_row(tmp_path):
    """Extraction goes on past a decompression bomb and /dev/zero, each with its status."""
    sim_dir = tmp_path / "sim"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "geoface"]
    subprocess.run(
        [*cmd, "simulate", "--out", sim_dir, "--subjects", "1", "--takes", "1"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    (sim_dir / "bomb.png").write_bytes(bomb_png())
    lm = pd.read_csv(sim_dir / "landmarks.csv")
    manifest = pd.DataFrame({"path": [*lm["path"], "bomb.png", "/dev/zero"]})
    manifest.to_csv(sim_dir / "manifest.csv", index=False)
    proc = subprocess.run(
        [*cmd, "extract", sim_dir / "manifest.csv", "--landmarker", "file",
         "--landmarks-file", sim_dir / "landmarks.csv", "--out", tmp_path / "f.csv", "--quiet"],
        env=env, capture_output=True, text=True, timeout=300, preexec_fn=_limit_memory,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(tmp_path / "f.csv")
    assert len(frame) == len(manifest)
    status = dict(zip(frame["path"], frame["qc_status"], strict=True))
    assert status.pop("bomb.png") == "too_large"
    assert status.pop("/dev/zero") == "unreadable"
    assert set(status.values()) == {"ok"}


def _limit_memory():  # a safety net: the child may not reserve more than 8 GB
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, 8 * 2**30))


# ------------------------------------------------------------ one label rule


def test_labels_differing_only_by_case_or_spaces_are_one_class(tmp_path, capsys, sim):
    from geoface.datasets._labels import _key
    from geoface.features import FeatureTable, extract_table
    from geoface.models._data import prepare_data
    from geoface.splits import make_splits

    meta = sim.meta.copy()
    happy = np.flatnonzero(meta["label"] == "happy")
    meta.loc[happy[0], "label"] = "Happy "
    meta.loc[happy[1], "label"] = " HAPPY"
    table = extract_table(sim.landmarks, meta)
    assert sorted(table.frame["label"].unique()) == sorted(sim.meta["label"].unique())
    assert table.info["label_normalised"]["changed"] == {"Happy ": "happy", " HAPPY": "happy"}

    # a table edited by hand is read with the same rule; split and fit see one class
    path = table.write(tmp_path / "f.csv")
    frame = pd.read_csv(path)
    frame.loc[happy[2], "label"] = "hAppy"
    frame.to_csv(path, index=False)
    again = FeatureTable.read(path)
    assert again.info["label_normalised_on_read"] == {"hAppy": "happy"}
    raw = again.frame.assign(label=frame["label"].astype(str).to_numpy())
    splits = make_splits(raw, folds=2)
    assert splits.info["label_normalised"] == {"hAppy": "happy"}
    data = prepare_data(FeatureTable(raw, again.mesh, again.info), target="label", group="subject")
    assert data.classes == sorted(sim.meta["label"].unique())
    # the manifest reader applies the same rule before its vocabulary
    assert _key(" Happy  ") == "happy"

    code, out, _ = run(capsys, "split", path, "--out", tmp_path / "s.csv", "--folds", 2)
    assert code == 0 and "'hAppy' → 'happy'" in out and "differ only by case or spaces" in out
    lm_meta = meta.assign(label=meta["label"].astype(str))
    from geoface.landmarks import write_landmark_csv

    write_landmark_csv(tmp_path / "lm.csv", sim.landmarks, lm_meta)
    code, out, _ = run(capsys, "extract", tmp_path / "lm.csv", "--out", tmp_path / "g.csv")
    assert code == 0 and "'Happy ' → 'happy' [1]" in out


# ------------------------------------------------------------ filesystem errors


def test_read_only_filesystem_is_a_one_line_error(tmp_path, capsys, monkeypatch, sim):
    from geoface.features import extract_table

    table = extract_table(sim.landmarks, sim.meta).write(tmp_path / "f.csv")

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(Path(dir) / ".x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    out_csv = tmp_path / "ro" / "s.csv"
    code, _, err = run(capsys, "split", table, "--out", out_csv, "--folds", 2)
    assert code == 2 and err.startswith(f"geoface: error: Read-only file system: {tmp_path}/ro/s.")
    assert ".tmp" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "extract", tmp_path / "none.csv", "--out", tmp_path / "g.csv")
    assert code == 2 and "does not exist" in err
    code, _, err = run(
        capsys, "fit", table, "--out", tmp_path / "run", "--model", "logreg", "--folds", 2,
        "--bootstrap", 100, "--quiet",
    )  # fmt: skip
    assert code == 2 and err.startswith("geoface: error: Read-only file system: ")
    assert str(tmp_path / "run") in err and ".tmp" not in err
    assert len(err.strip().splitlines()) == 1


def test_permission_denied_names_the_users_path(tmp_path, capsys, sim):
    from geoface.features import extract_table

    table = extract_table(sim.landmarks, sim.meta).write(tmp_path / "f.csv")
    target = Path("/sys/geoface-splits.csv")  # sysfs: no one may create files in it
    if not _is_denied(target):
        pytest.skip("needs a folder where creating a file is denied (/sys)")
    code, _, err = run(capsys, "split", table, "--out", target, "--folds", 2)
    assert code == 2 and len(err.strip().splitlines()) == 1
    # the file the user asked for (or its sidecar), never the hidden temporary file
    assert re.fullmatch(
        r"geoface: error: Permission denied: /sys/geoface-splits\.(csv|meta\.json)", err.strip()
    )


def _is_denied(path: Path) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent)
    except PermissionError:
        return True
    except OSError:
        return False
    os.close(fd)
    os.unlink(tmp)
    return False


# ------------------------------------------------------------ landmark files without a face


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("header", r"holds no faces \(column names but no rows\)"),
        ("nan", "none of the 3 faces .* has 68 finite landmarks: every coordinate cell is empty"),
    ],
)
def test_landmark_file_without_a_usable_face_is_an_error_and_writes_nothing(
    tmp_path, capsys, sim, content, message
):
    from geoface.landmarks import write_landmark_csv

    lm = sim.landmarks[:3].copy()
    if content == "nan":
        lm[:] = np.nan
    write_landmark_csv(tmp_path / "lm.csv", lm, sim.meta.iloc[:3])
    if content == "header":
        text = (tmp_path / "lm.csv").read_text().splitlines()[0] + "\n"
        (tmp_path / "lm.csv").write_text(text)
    code, out, err = run(capsys, "extract", tmp_path / "lm.csv", "--out", tmp_path / "f.csv")
    assert code == 2 and not out
    assert err.startswith("geoface: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not list(tmp_path.glob("f*"))


# ------------------------------------------------------------ delimiters and text cells


def test_semicolons_and_text_in_coordinate_cells_are_named(tmp_path, capsys, sim):
    from geoface.landmarks import landmarks_to_frame

    frame = landmarks_to_frame(sim.landmarks[:4], sim.meta.iloc[:4])
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    code, _, err = run(capsys, "extract", tmp_path / "semi.csv", "--out", tmp_path / "f.csv")
    assert code == 2 and "separated by semicolons (;), not commas" in err

    text = frame.astype({"x_5": object, "y_2": object})
    text.loc[1, "x_5"] = "1,5"
    text.loc[2, "y_2"] = "abc"
    text.to_csv(tmp_path / "text.csv", index=False)
    code, out, err = run(capsys, "extract", tmp_path / "text.csv", "--out", tmp_path / "f.csv")
    assert code == 0 and "nonfinite_landmarks 2" in out
    assert "2 coordinate cell(s) held text, not a number, e.g. x_5 = '1,5'" in err
    assert "decimal comma" in err
    text["x_0"] = "abc"
    text.to_csv(tmp_path / "all.csv", index=False)
    code, _, err = run(capsys, "extract", tmp_path / "all.csv", "--out", tmp_path / "g.csv")
    assert code == 2 and "held text, not a number, e.g. x_0 = 'abc'" in err
