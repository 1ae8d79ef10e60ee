"""Video decoding: the frame index, sampling, decoding ranges, damaged and odd files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle

import numpy as np
import pytest

from geoface import GeofaceError
from geoface.video import (
    Sampling,
    VideoFrame,
    VideoReadError,
    decoder_versions,
    is_video_path,
    probe_video,
    read_frames,
)

from . import _videos as V
from .conftest import needs_dlib, needs_helen


def _pattern(n: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Frames telling apart their number and orientation: a bar at x ∝ k, a red top-left corner."""
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    frames[:] = np.linspace(40, 120, width, dtype=np.uint8)[None, None, :, None]
    for k in range(n):
        x = int(k * (width - 8) / max(n - 1, 1))
        frames[k, height // 4 :, x : x + 8] = 230
    frames[:, : height // 4, : width // 4] = (230, 20, 20)
    return frames


def _which(image: np.ndarray, originals: np.ndarray) -> int:
    """The original frame a decoded picture is closest to."""
    diff = np.abs(originals.astype(np.int16) - image.astype(np.int16)).mean(axis=(1, 2, 3))
    return int(np.argmin(diff))


def _noise(n: int, width: int = 160, height: int = 120, seed: int = 0) -> np.ndarray:
    """Frames whose compressed data fill the file evenly (so damage hits frames)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 3 * k, axis=1) for k in range(n)])


CONTAINERS = [
    (".mp4", "libx264"),
    (".mov", "libx264"),
    (".mkv", "libx264"),
    (".avi", "mpeg4"),
    (".avi", "mjpeg"),
    (".webm", "libvpx-vp9"),
    (".webm", "libvpx"),
    (".mp4", "libsvtav1"),
]


@pytest.mark.parametrize(("suffix", "codec"), CONTAINERS)
def test_containers_and_codecs_decode_every_frame(tmp_path, suffix, codec):
    if not V.has_encoder(codec):
        pytest.skip(f"this PyAV build has no {codec} encoder")
    frames = _pattern(20)
    path = V.write_video(tmp_path / f"clip{suffix}", frames, codec=codec)
    info = probe_video(path)
    assert info.n_frames == 20 and info.n_missing == 0
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    np.testing.assert_allclose(info.times, np.arange(20) / 25, atol=1e-3)
    assert info.nominal_fps == pytest.approx(25) and info.measured_fps == pytest.approx(25)
    assert not info.vfr
    assert info.duration_s == pytest.approx(0.8, abs=0.02)
    got = list(read_frames(info, np.arange(20)))
    assert [f.ordinal for f in got] == list(range(20))
    assert all(f.status == "ok" and f.image.shape == (48, 64, 3) for f in got)
    assert [_which(f.image, frames) for f in got] == list(range(20))


def test_reordered_pictures_without_reordered_timestamps(tmp_path):
    # H.264 with B-frames in AVI: the timestamps follow decode order, not display order
    frames = _pattern(40)
    info = probe_video(V.write_video(tmp_path / "b.avi", frames, codec="libx264", gop=10))
    assert info.frame_order == "decode"
    full = list(read_frames(info, np.arange(40)))
    assert [_which(f.image, frames) for f in full] == list(range(40))
    part = list(read_frames(info, np.arange(25, 36)))
    for f in part:
        np.testing.assert_array_equal(f.image, full[f.ordinal].image)
    assert probe_video(V.write_video(tmp_path / "b.mp4", frames, gop=10)).frame_order == "pts"


def test_probe_facts(tmp_path):
    path = V.write_video(tmp_path / "a.mp4", _pattern(10), audio=True)
    info = probe_video(path)
    assert info.codec == "h264" and info.decoder == "h264" and "mp4" in info.container
    assert set(decoder_versions()) >= {"av", "libavcodec", "libavformat"}
    assert info.has_audio
    assert info.bytes == path.stat().st_size
    assert info.sha1 == hashlib.sha1(path.read_bytes()).hexdigest()
    facts = info.to_dict()
    json.dumps(facts)
    assert facts["n_frames"] == 10 and "times" not in facts
    assert not probe_video(V.write_video(tmp_path / "b.mp4", _pattern(10))).has_audio
    assert info.keyframes[0] == 0 and info.pts.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        info.times[0] = 1.0


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_tag_gives_upright_frames(tmp_path, suffix, rotation):
    frames = _pattern(6)
    path = V.write_video(tmp_path / f"r{suffix}", frames, rotation=rotation)
    info = probe_video(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == (64, 48)  # displayed size, as the frames were given
    got = list(read_frames(info, np.arange(6)))
    assert all(f.image.shape == (48, 64, 3) for f in got)
    assert [_which(f.image, frames) for f in got] == list(range(6))
    assert np.abs(got[0].image.astype(int) - frames[0]).mean() < 8
    small = next(iter(read_frames(info, [0], max_side=32)))
    assert small.image.shape == (24, 32, 3) and small.scale == pytest.approx(0.5)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_times_come_from_timestamps(tmp_path, suffix):
    steps = np.array([0.04, 0.04, 0.12, 0.02, 0.04, 0.2, 0.04, 0.06, 0.04])
    times = np.concatenate([[0.0], np.cumsum(steps)])
    frames = _pattern(len(times))
    path = V.write_video(tmp_path / f"vfr{suffix}", frames, times=times)
    info = probe_video(path)
    np.testing.assert_allclose(info.times, times, atol=1e-3)
    assert info.vfr
    assert info.measured_fps == pytest.approx(9 / times[-1], rel=1e-3)
    got = list(read_frames(info, [2, 3, 6]))
    assert [_which(f.image, frames) for f in got] == [2, 3, 6]
    assert [f.time_s for f in got] == pytest.approx(times[[2, 3, 6]], abs=1e-3)
    # one frame per second of timestamps, not of frame numbers
    assert Sampling(fps=5).select(info.times).tolist() == [0, 3, 6, 9]


def test_range_read_equals_full_read(tmp_path):
    frames = _noise(300, width=96, height=64)
    path = V.write_video(tmp_path / "long.mp4", frames, gop=25)
    info = probe_video(path)
    assert len(info.keyframes) >= 12
    full = {f.ordinal: f.image for f in read_frames(info, np.arange(300))}
    alone = list(read_frames(info, np.arange(100, 200)))
    assert [f.ordinal for f in alone] == list(range(100, 200))
    for f in alone:
        np.testing.assert_array_equal(f.image, full[f.ordinal])
    sparse = Sampling(every=7, start=info.times[151]).select(info.times)
    for f in read_frames(info, sparse):
        np.testing.assert_array_equal(f.image, full[f.ordinal])
    single = next(iter(read_frames(info, [299], threads=1)))
    np.testing.assert_array_equal(single.image, full[299])
    # far-apart frames: reached by seeking to each one's keyframe
    for f in read_frames(info, Sampling(every=40, start=0.2).select(info.times)):
        np.testing.assert_array_equal(f.image, full[f.ordinal])
    # keyframes the index only guesses (a seek lands earlier): the same pixels
    guessed = dataclasses.replace(info, keyframes=np.arange(0, 300, 7))
    for f in read_frames(guessed, np.arange(150, 170)):
        np.testing.assert_array_equal(f.image, full[f.ordinal])


def test_max_side_downscales_and_reports_scale(tmp_path):
    frames = _pattern(4, width=640, height=360)
    info = probe_video(V.write_video(tmp_path / "big.mp4", frames))
    f = next(iter(read_frames(info, [1], max_side=320)))
    assert f.image.shape == (180, 320, 3) and f.scale == pytest.approx(0.5)
    g = next(iter(read_frames(info, [1], max_side=1000)))
    assert g.image.shape == (360, 640, 3) and g.scale == 1.0


def test_nothing_wanted_nothing_read(tmp_path):
    info = probe_video(V.write_video(tmp_path / "a.mp4", _pattern(5)))
    assert list(read_frames(info, np.array([], dtype=int))) == []


@pytest.mark.parametrize(
    ("ordinals", "kwargs", "match"),
    [
        ([3, 1], {}, "sorted"),
        ([1, 1], {}, "sorted"),
        ([0, 9], {}, "frames 0 to 4"),
        ([-1], {}, "frames 0 to 4"),
        ([0.5], {}, "whole numbers"),
        ([0], {"max_side": 0}, "max_side"),
        ([0], {"threads": -1}, "threads"),
    ],
)
def test_read_frames_refuses_bad_arguments(tmp_path, ordinals, kwargs, match):
    info = probe_video(V.write_video(tmp_path / "a.mp4", _pattern(5)))
    with pytest.raises(GeofaceError, match=match):
        read_frames(info, ordinals, **kwargs)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".avi"])
def test_corrupt_video_keeps_every_frame(tmp_path, suffix):
    path = V.write_video(tmp_path / f"c{suffix}", _noise(60), gop=10)
    bad = V.corrupt(path, seed=1)
    info = probe_video(bad)
    assert 50 <= info.n_frames <= 60  # a damaged Matroska cluster loses its frames
    got = list(read_frames(info, np.arange(info.n_frames)))
    assert [f.ordinal for f in got] == list(range(info.n_frames))
    statuses = {f.status for f in got}
    assert statuses <= {"ok", "unreadable_frame", "missing_frames"}
    assert "unreadable_frame" in statuses
    assert sum(f.status == "ok" for f in got) >= 50
    for f in got:
        assert (f.image is None) == (f.status != "ok")
        assert f.status == "ok" or f.note


def test_truncated_mp4_gives_good_frames_then_missing(tmp_path):
    path = V.write_video(tmp_path / "t.mp4", _noise(60), gop=10, faststart=True)
    cut = V.truncate(path, 0.6)
    info = probe_video(cut)
    assert info.n_frames == 60 and 10 < info.n_missing < 40
    assert np.all(np.diff(info.times) > 0)
    got = list(read_frames(info, np.arange(60)))
    assert [f.ordinal for f in got] == list(range(60))
    assert all(f.status == "ok" for f in got[:25])
    assert all(f.status == "missing_frames" and f.image is None for f in got[-info.n_missing :])
    tail = list(read_frames(info, [58, 59]))
    assert [f.status for f in tail] == ["missing_frames"] * 2


def test_truncated_mp4_without_front_index_is_unreadable(tmp_path):
    cut = V.truncate(V.write_video(tmp_path / "t.mp4", _noise(30)), 0.5)
    with pytest.raises(VideoReadError, match="cannot be read") as err:
        probe_video(cut)
    assert err.value.status == "unreadable_video"


def test_truncated_mkv_keeps_what_it_holds(tmp_path):
    cut = V.truncate(V.write_video(tmp_path / "t.mkv", _noise(60), gop=10), 0.5)
    info = probe_video(cut)
    assert 10 < info.n_frames < 60
    got = list(read_frames(info, np.arange(info.n_frames)))
    assert len(got) == info.n_frames
    assert sum(f.status == "ok" for f in got) >= info.n_frames - 2


def test_huge_pictures_are_refused_before_decoding(tmp_path):
    path = V.write_video(tmp_path / "a.mp4", _pattern(3))
    with pytest.raises(VideoReadError, match="64 x 48 pixels, more than max_pixels=1000") as err:
        probe_video(path, max_pixels=1000)
    assert err.value.status == "too_large"
    assert probe_video(path, max_pixels=0).n_frames == 3


def test_video_read_error_survives_pickling():
    err = pickle.loads(pickle.dumps(VideoReadError("empty_video", "video 'a.mp4' is empty")))
    assert err.status == "empty_video" and str(err) == "video 'a.mp4' is empty"


def test_video_info_survives_pickling(tmp_path):
    info = probe_video(V.write_video(tmp_path / "a.mp4", _pattern(5)))
    again = pickle.loads(pickle.dumps(info))
    assert again.to_dict() == info.to_dict()
    np.testing.assert_array_equal(again.pts, info.pts)


@pytest.mark.parametrize(
    ("make", "status", "match"),
    [
        (lambda d: V.empty_file(d / "zero.mp4"), "empty_video", "empty"),
        (lambda d: V.audio_only(d / "sound.m4a"), "no_video_stream", "no video stream"),
        (lambda d: V.not_a_video(d / "notes.mp4"), "unreadable_video", "cannot be read"),
        (lambda d: d / "absent.mp4", "unreadable_video", "does not exist"),
    ],
)
def test_files_without_frames_raise_with_their_status(tmp_path, make, status, match):
    path = make(tmp_path)
    with pytest.raises(VideoReadError, match=match) as err:
        probe_video(path)
    assert err.value.status == status
    assert isinstance(err.value, GeofaceError) and "\n" not in str(err.value)


def test_sampling_every_start_end():
    times = np.arange(100) / 10.0  # 10 frames per second
    assert Sampling().select(times).tolist() == list(range(100))
    assert Sampling(every=10).select(times).tolist() == list(range(0, 100, 10))
    assert Sampling(start=2.0, end=3.0).select(times).tolist() == list(range(20, 30))
    assert Sampling(every=4, start=2.05).select(times)[:3].tolist() == [21, 25, 29]
    assert Sampling(start=20.0).select(times).size == 0


def test_sampling_fps_picks_first_frame_at_or_after_each_target():
    times = np.arange(100) / 25.0
    assert Sampling(fps=5).select(times).tolist() == list(range(0, 100, 5))
    assert Sampling(fps=50).select(times).tolist() == list(range(100))  # never a frame twice
    assert Sampling(fps=1, start=0.5, end=2.6).select(times).tolist() == [13, 38, 63]
    uneven = np.array([0.0, 0.3, 0.35, 1.2, 1.25, 2.0, 2.01])
    assert Sampling(fps=1).select(uneven).tolist() == [0, 3, 5]


def test_sampling_is_decided_on_the_whole_index():
    times = np.cumsum(np.random.default_rng(3).uniform(0.02, 0.06, 500))
    times -= times[0]
    kept = Sampling(fps=7.5, start=1.0).select(times)
    # whatever pieces the kept frames are later cut into, the choice is the same
    again = np.concatenate([kept[:37], kept[37:]])
    np.testing.assert_array_equal(kept, again)
    np.testing.assert_array_equal(kept, Sampling(fps=7.5, start=1.0).select(times))
    assert np.all(np.diff(kept) > 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fps": 0}, "fps=0 must be above 0"),
        ({"fps": "2"}, "not a number"),
        ({"fps": float("nan")}, "not finite"),
        ({"every": 0}, "every=0 must be at least 1"),
        ({"every": 2.5}, "whole number"),
        ({"every": True}, "whole number"),
        ({"fps": 2, "every": 3}, "choose one"),
        ({"start": -1}, "before the video"),
        ({"start": 5, "end": 2}, "not after start"),
    ],
)
def test_sampling_refuses_bad_settings(kwargs, match):
    with pytest.raises(GeofaceError, match=match):
        Sampling(**kwargs)


def test_sampling_describes_itself():
    assert Sampling().describe() == "every frame"
    assert Sampling(every=3).describe() == "every 3rd frame"
    assert Sampling(fps=2, start=1.5, end=10).describe() == "2 frames per second from 1.5 s to 10 s"
    assert Sampling(every=2).to_dict() == {"fps": None, "every": 2, "start": None, "end": None}


def test_video_paths():
    assert is_video_path("a/b/Clip.MP4") and is_video_path("x.webm")
    assert not is_video_path("face.jpg") and not is_video_path("notes")


def test_video_frame_defaults():
    f = VideoFrame(3, 0.12, None, "unreadable_frame", "why")
    assert f.scale == 1.0


def test_simulated_expression_frames_shape_and_truth():
    frames, landmarks = V.simulated_expression_frames(9, size=(320, 180), seed=2)
    assert frames.shape == (9, 180, 320, 3) and frames.dtype == np.uint8
    assert landmarks.shape == (9, 68, 2)
    intensity = V.expression_intensity(9)
    assert intensity[0] == 0 and intensity[4] == pytest.approx(1) and intensity[8] < 1e-12
    mouth = np.linalg.norm(landmarks[:, 48] - landmarks[:, 54], axis=1)
    assert mouth[4] > mouth[0] and mouth[0] == pytest.approx(mouth[8])
    again, _ = V.simulated_expression_frames(9, size=(320, 180), seed=2)
    np.testing.assert_array_equal(frames, again)


@needs_dlib
@needs_helen
def test_dlib_finds_the_faces_of_the_test_videos(tmp_path):
    from geoface.landmarks import make_landmarker

    sim, sim_truth = V.simulated_expression_frames(11)
    info = probe_video(V.write_video(tmp_path / "sim.mp4", sim))
    decoded = [f.image for f in read_frames(info, [0, 5, 10])]
    photo, photo_truth = V.photo_frames(V.helen_photo(0), 11, blank=[3])
    two, two_truth = V.two_faces_crossing(5)
    found = make_landmarker("dlib").detect([*decoded, photo[0], photo[3], photo[10], two[2]])
    for faces, truth in zip(found[:3], sim_truth[[0, 5, 10]], strict=True):
        assert len(faces.landmarks) == 1
        assert np.abs(faces.landmarks[0] - truth).mean() < 5
    for faces, truth in zip((found[3], found[5]), photo_truth[[0, 10]], strict=True):
        assert len(faces.landmarks) == 1
        assert np.abs(faces.landmarks[0] - truth).mean() < 5
    assert len(found[4].landmarks) == 0 and np.isnan(photo_truth[3]).all()
    assert len(found[6].landmarks) == 2
    for lm in found[6].landmarks:
        assert min(np.abs(lm - t).mean() for t in two_truth[2]) < 5
