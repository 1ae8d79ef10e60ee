"""The batch pipeline with a stand-in backend: statuses, cache, resume, errors, faces."""

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.landmarks import (
    IMAGE_QC_COLUMNS,
    Faces,
    LandmarkCache,
    detect_landmarks,
    find_images,
    yaw_proxy,
)
from tests.conftest import FakeLandmarker, write_image


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "imgs"
    for k in range(6):
        write_image(root / f"img{k}.png", seed=k)
    return root


def test_every_image_gets_a_row_and_qc(folder):
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    write_image(folder / "tiny.png", size=(10, 10))
    found = detect_landmarks(find_images(folder), FakeLandmarker(), progress=False)
    assert len(found.meta) == 8
    assert list(found.qc.columns) == list(IMAGE_QC_COLUMNS)
    status = dict(zip(found.meta["id"], found.qc["qc_status"], strict=True))
    assert status == {
        **{f"img{k}": "ok" for k in range(6)},
        "broken": "unreadable",
        "tiny": "too_small",
    }
    bad = found.meta["id"].isin(["broken", "tiny"]).to_numpy()
    assert np.isnan(found.landmarks[bad]).all() and np.isfinite(found.landmarks[~bad]).all()
    assert (found.qc.loc[~bad, "qc_image_w"] == 160).all()
    assert found.qc.loc[bad, "qc_note"].str.len().gt(0).all()
    assert found.info["qc_counts_landmarks"] == {"ok": 6, "unreadable": 1, "too_small": 1}
    frame = found.frame()
    assert frame.columns[0] == "id" and frame.columns[-1] == "y_67"


def test_cache_hits_and_resume_after_an_interruption(folder, tmp_path):
    cache = tmp_path / "cache"
    src = find_images(folder)
    first = FakeLandmarker(interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        detect_landmarks(src, first, cache_dir=cache, progress=False)
    assert first.seen == 2
    assert len(list(cache.rglob("*/??/*.json"))) == 2  # finished images were kept

    resumed = FakeLandmarker()
    found = detect_landmarks(src, resumed, cache_dir=cache, progress=False)
    assert resumed.seen == 4  # only the images the interrupted run had not done
    assert found.info["cache"]["hits"] == 2 and found.info["cache"]["misses"] == 4

    again = FakeLandmarker()
    found2 = detect_landmarks(src, again, cache_dir=cache, progress=False)
    assert again.seen == 0 and found2.info["cache"]["hits"] == 6
    np.testing.assert_array_equal(found2.landmarks, found.landmarks)
    pd.testing.assert_frame_equal(found2.qc, found.qc)

    # another working resolution is another cache key: detected again
    other = FakeLandmarker()
    detect_landmarks(src, other, cache_dir=cache, progress=False, max_side=100)
    assert other.seen == 6


def test_cache_is_keyed_by_content_not_name(folder, tmp_path):
    cache = tmp_path / "cache"
    detect_landmarks(find_images(folder), FakeLandmarker(), cache_dir=cache, progress=False)
    copy = tmp_path / "renamed"
    copy.mkdir()
    (copy / "another_name.png").write_bytes((folder / "img3.png").read_bytes())
    fake = FakeLandmarker()
    found = detect_landmarks(find_images(copy), fake, cache_dir=cache, progress=False)
    assert fake.seen == 0 and found.qc["qc_status"].tolist() == ["ok"]


def test_damaged_cache_entries_are_detected_again(folder, tmp_path):
    cache = tmp_path / "cache"
    detect_landmarks(find_images(folder), FakeLandmarker(), cache_dir=cache, progress=False)
    entry = sorted(cache.rglob("*/??/*.json"))[0]
    entry.write_text("{ half written")
    fake = FakeLandmarker()
    detect_landmarks(find_images(folder), fake, cache_dir=cache, progress=False)
    assert fake.seen == 1


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_failing_image_is_isolated_as_error(folder, batch_size):
    red = np.zeros((120, 160, 3), np.uint8)
    red[..., 0] = 255
    write_image(folder / "img2.png", red)
    fake = FakeLandmarker(batch_size=batch_size)
    found = detect_landmarks(find_images(folder), fake, progress=False, cache_dir=None)
    qc = found.qc.set_index(found.meta["id"])
    assert qc.loc["img2", "qc_status"] == "error"
    assert "RuntimeError: stand-in failure" in qc.loc["img2", "qc_note"]
    assert (qc.drop(index="img2")["qc_status"] == "ok").all()


class _TwoFaces(FakeLandmarker):
    """Two faces per image: the whole image and a smaller one in its top-left quarter."""

    def detect(self, images):
        out = []
        for faces, img in zip(super().detect(images), images, strict=True):
            h, w = img.shape[:2]
            small = faces.landmarks[0] * 0.4
            box = np.array([[0.0, 0.0, (w - 1) * 0.4, (h - 1) * 0.4]])
            out.append(
                Faces(
                    np.concatenate([small[None], faces.landmarks]),
                    np.concatenate([box, faces.boxes]),
                    [0.5, 0.9],
                )
            )
        return out


def test_largest_face_or_all_faces(folder):
    src = find_images(folder)
    largest = detect_landmarks(src, _TwoFaces(), progress=False)
    assert (largest.qc["qc_status"] == "multiple_faces").all()
    assert (largest.qc["qc_n_faces"] == 2).all() and (largest.meta["face_index"] == 0).all()
    assert (largest.qc["qc_box_w"] > 150).all()  # the larger box was kept
    assert largest.qc["qc_note"].str.contains("2 faces found").all()

    every = detect_landmarks(src, _TwoFaces(), faces="all", progress=False)
    assert len(every.meta) == 12 and (every.qc["qc_status"] == "ok").all()
    assert every.meta["id"].tolist()[:2] == ["img0#0", "img0#1"]
    assert every.meta["face_index"].tolist()[:2] == [0, 1]
    with pytest.raises(GeofaceError, match="faces='both' is not one of"):
        detect_landmarks(src, _TwoFaces(), faces="both", progress=False)


def test_overlays_are_written(folder, tmp_path):
    out = tmp_path / "overlays"
    found = detect_landmarks(find_images(folder), FakeLandmarker(), progress=False, overlays=out)
    assert found.info["overlays"]["n"] == 6
    assert sorted(p.name for p in out.iterdir()) == [f"img{k}.jpg" for k in range(6)]
    import cv2

    assert cv2.imread(str(out / "img0.jpg")).shape == (120, 160, 3)


def test_progress_bar_reports_counts(folder, capsys):
    detect_landmarks(find_images(folder), FakeLandmarker(), progress=True)
    err = capsys.readouterr().err
    assert "6/6" in err and "ok 6" in err


def test_yaw_proxy_sign(template):
    face = template * 50 + 200
    assert abs(yaw_proxy(face[None])[0]) < 1e-9
    turned = face.copy()
    turned[27:36, 0] += 30  # nose towards image right, i.e. the subject's left
    assert yaw_proxy(turned[None])[0] > 0.2
    assert np.isnan(yaw_proxy(np.full((1, 68, 2), np.nan))[0])


def test_cache_round_trips_faces(tmp_path):
    cache = LandmarkCache(tmp_path, {"landmarker": "x"})
    faces = Faces(
        np.arange(136.0).reshape(1, 68, 2), [[1, 2, 3, 4]], [np.nan], how="fallback", note="n"
    )
    cache.put("ab" * 20, (640, 480), faces)
    size, back = cache.get("ab" * 20)
    assert size == (640, 480) and back.how == "fallback" and back.note == "n"
    np.testing.assert_array_equal(back.landmarks, faces.landmarks)
    assert np.isnan(back.scores[0])
    assert cache.get("cd" * 20) is None
    assert (cache.dir / "backend.json").exists()
    assert LandmarkCache(tmp_path, {"landmarker": "y"}).dir != cache.dir


def test_an_unwritable_cache_does_not_stop_the_run(folder, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would go")
    found = detect_landmarks(
        find_images(folder), FakeLandmarker(), cache_dir=blocker, progress=False
    )
    assert (found.qc["qc_status"] == "ok").all()
    assert found.info["cache"]["error"]
