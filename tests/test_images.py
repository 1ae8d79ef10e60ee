"""Robust image decoding and input discovery (no face detection here)."""

import io

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geoface import GeofaceError
from geoface.landmarks import (
    ImageReadError,
    decode_image,
    find_images,
    input_kind,
    load_image,
    read_image_bytes,
    write_landmark_csv,
)


def _gradient(h=120, w=160):
    """An RGB test card whose colour identifies every pixel's position."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], -1).astype(
        np.uint8
    )


def _encode(rgb, ext=".png", params=()):
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok
    return buf.tobytes()


def test_plain_rgb_round_trip():
    rgb = _gradient()
    img = decode_image(_encode(rgb))
    assert img.image.dtype == np.uint8 and img.image.shape == (120, 160, 3)
    np.testing.assert_array_equal(img.image, rgb)
    assert img.size == (160, 120) and img.scale == (1.0, 1.0) and len(img.sha1) == 40


def test_grey_16bit_and_float_become_8bit_rgb():
    grey = _gradient()[..., 0]
    img = decode_image(cv2.imencode(".png", grey)[1].tobytes())
    assert img.image.shape == (120, 160, 3)
    np.testing.assert_array_equal(img.image[..., 0], grey)
    np.testing.assert_array_equal(img.image[..., 1], grey)

    rgb = _gradient()
    deep = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    img16 = decode_image(cv2.imencode(".png", deep)[1].tobytes())
    assert img16.image.dtype == np.uint8
    np.testing.assert_array_equal(img16.image, rgb)

    _ok, buf = cv2.imencode(".tiff", (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) / 255.0).astype("f4"))
    imgf = decode_image(buf.tobytes())
    assert np.abs(imgf.image.astype(int) - rgb).max() <= 1


def test_alpha_is_composited_on_white():
    rgb = _gradient()
    bgra = np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), np.zeros(rgb.shape[:2], np.uint8)])
    bgra[:60, :, 3] = 255  # top half opaque, bottom half transparent
    _ok, buf = cv2.imencode(".png", bgra)
    img = decode_image(buf.tobytes())
    np.testing.assert_array_equal(img.image[:60], rgb[:60])
    assert (img.image[60:] == 255).all()
    grey_alpha = Image.fromarray(rgb[..., 0]).convert("LA")
    b = io.BytesIO()
    grey_alpha.save(b, "PNG")
    assert decode_image(b.getvalue()).image.shape == (120, 160, 3)


def test_cmyk_jpeg_and_exif_orientation():
    rgb = _gradient()
    b = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(b, "JPEG", quality=95)
    img = decode_image(b.getvalue())
    assert img.image.shape == (120, 160, 3)
    assert np.abs(img.image.astype(int) - rgb).mean() < 6

    # stored rotated a quarter turn; EXIF orientation 6 says "rotate 90° clockwise to display"
    stored = Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    b = io.BytesIO()
    stored.save(b, "JPEG", quality=95, exif=exif.tobytes())
    img = decode_image(b.getvalue())
    assert img.image.shape == (120, 160, 3) and img.size == (160, 120)
    assert np.abs(img.image.astype(int) - rgb).mean() < 6  # displayed as the original


def test_large_jpeg_is_reduced_and_mapped_back():
    rgb = np.zeros((3000, 4000, 3), np.uint8)
    rgb[1000:1010, 2000:2010] = 255  # a white square at x 2000–2009, y 1000–1009
    data = _encode(rgb, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95))
    img = decode_image(data, max_side=1000)
    assert max(img.image.shape[:2]) == 1000 and img.size == (4000, 3000)
    ys, xs = np.nonzero(img.image[..., 0] > 128)
    centre = img.to_original(np.array([xs.mean(), ys.mean()]))
    np.testing.assert_allclose(centre, [2004.5, 1004.5], atol=3)
    np.testing.assert_allclose(img.to_working(img.to_original([[10.0, 20.0]])), [[10.0, 20.0]])


def test_huge_jpeg_12000_by_9000():
    grey = np.full((9000, 12000), 200, np.uint8)
    grey[4500:4600, 6000:6100] = 0
    _ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 80])
    img = decode_image(buf.tobytes(), max_side=2048)
    assert img.size == (12000, 9000) and img.image.shape == (1536, 2048, 3)
    ys, xs = np.nonzero(img.image[..., 0] < 100)
    np.testing.assert_allclose(
        img.to_original(np.array([xs.mean(), ys.mean()])), [6049.5, 4549.5], atol=6
    )


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", "unreadable", "empty file"),
        (b"this is a text file, not a photograph\n", "unreadable", "not a decodable image"),
        ("truncated_jpeg", "unreadable", "truncated or corrupt JPEG"),
        ("truncated_png", "unreadable", "truncated PNG"),
        ("tiny", "too_small", "below the minimum size 32"),
    ],
)
def test_bad_bytes_give_a_status_and_a_reason(data, status, message):
    if data == "truncated_jpeg":
        full = _encode(_gradient(), ".jpg")
        data = full[: len(full) // 3]
    elif data == "truncated_png":
        full = _encode(_gradient(), ".png")
        data = full[: len(full) // 2]
    elif data == "tiny":
        data = _encode(_gradient(20, 40))
    with pytest.raises(ImageReadError, match=message) as info:
        decode_image(data)
    assert info.value.status == status


def test_read_image_bytes_reasons(tmp_path):
    with pytest.raises(ImageReadError, match="file not found"):
        read_image_bytes(tmp_path / "missing.jpg")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image_bytes(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty file"):
        load_image(tmp_path / "empty.jpg")
    odd = tmp_path / "bébé ünïcødé 😀.png"  # non-ASCII path
    odd.write_bytes(_encode(_gradient()))
    assert load_image(odd).size == (160, 120)


def _write(path, rgb=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_encode(_gradient() if rgb is None else rgb, path.suffix))


def test_find_images_in_folders_with_labels(tmp_path):
    for name in ("happy/b01.jpg", "happy/b02.png", "sad/b01.jpg", "sad/.hidden.jpg"):
        _write(tmp_path / name)
    (tmp_path / "sad" / "notes.txt").write_text("not an image")
    (tmp_path / ".thumbs").mkdir()
    _write(tmp_path / ".thumbs" / "x.jpg")
    src = find_images(tmp_path)
    assert src.kind == "folder" and len(src) == 3
    assert src.meta["id"].tolist() == ["happy/b01", "happy/b02", "sad/b01"]
    assert src.meta["label"].tolist() == ["happy", "happy", "sad"]
    assert src.meta["path"].tolist() == ["happy/b01.jpg", "happy/b02.png", "sad/b01.jpg"]
    # no label column when some images sit at the top; clashing stems keep their extension
    _write(tmp_path / "happy" / "b01.png")
    _write(tmp_path / "top.jpg")
    src = find_images(tmp_path)
    assert "label" not in src.meta.columns
    assert {"happy/b01.jpg", "happy/b01.png", "top"} <= set(src.meta["id"])


def test_manifest_carries_every_column(tmp_path):
    _write(tmp_path / "imgs" / "a.jpg")
    manifest = tmp_path / "study" / "manifest.csv"
    manifest.parent.mkdir()
    pd.DataFrame(
        {
            "path": ["../imgs/a.jpg", "../imgs/missing.jpg", ""],
            "subject": ["007", "008", "009"],
            "label": ["happy", "sad", "fear"],
            "age_months": [6, 9, 12],
        }
    ).to_csv(manifest, index=False)
    assert input_kind(manifest) == "manifest"
    src = find_images(manifest)
    assert src.kind == "manifest" and len(src) == 3
    assert list(src.meta.columns) == ["id", "path", "subject", "label", "age_months"]
    assert src.meta["subject"].tolist() == ["007", "008", "009"]  # text stays text
    assert src.files[0].resolve() == (tmp_path / "imgs" / "a.jpg").resolve()
    assert src.files[2] is None
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.jpg,happy\n")
    assert input_kind(bad) == "landmarks"  # no path column: the landmark reader complains


def test_input_kind(tmp_path, faces):
    _write(tmp_path / "one.png")
    assert input_kind(tmp_path / "one.png") == "image"
    assert find_images(tmp_path / "one.png").meta.to_dict("list") == {
        "id": ["one"],
        "path": ["one.png"],
    }
    assert input_kind(tmp_path) == "folder"
    (tmp_path / "one.pts").write_text("\n".join("1 2" for _ in range(68)))
    assert input_kind(tmp_path) == "landmarks"  # .pts beside images: landmarks, as before
    assert input_kind(tmp_path, images_requested=True) == "folder"
    csv = tmp_path / "lm.csv"
    write_landmark_csv(csv, faces[:2], pd.DataFrame({"id": ["a", "b"], "path": ["x", "y"]}))
    assert input_kind(csv) == "landmarks"  # a landmark CSV with a path column
    with pytest.raises(GeofaceError, match="does not exist"):
        input_kind(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeofaceError, match="holds no images"):
        input_kind(tmp_path / "empty")


def test_jpeg_completeness_check_accepts_trailers_and_thumbnails():
    rgb = _gradient()
    data = _encode(rgb, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95))
    assert decode_image(data + b"SEFT trailer some phones append" * 50).size == (160, 120)
    prog = _encode(rgb, ".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1))
    assert decode_image(prog).size == (160, 120)
    with pytest.raises(ImageReadError, match="truncated or corrupt JPEG"):
        decode_image(prog[: len(prog) - 40])
    # an EXIF thumbnail brings its own end-of-image marker before the main scan
    b = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "camera"
    Image.fromarray(rgb).save(b, "JPEG", exif=exif.tobytes())
    full = b.getvalue()
    assert decode_image(full).size == (160, 120)
    with pytest.raises(ImageReadError, match="truncated"):
        decode_image(full[: len(full) - 100])


def test_manifest_ids_must_be_unique_and_repeats_are_numbered(tmp_path):
    _write(tmp_path / "a.jpg")
    pd.DataFrame({"id": ["x", "x"], "path": ["a.jpg", "a.jpg"]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    with pytest.raises(GeofaceError, match=r"the id column repeats \['x'\]"):
        find_images(tmp_path / "m.csv")
    pd.DataFrame({"path": ["a.jpg", "a.jpg"], "rater": [1, 2]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    assert find_images(tmp_path / "m.csv").meta["id"].tolist() == ["a", "a~2"]
