"""An extraction killed mid-video resumes where it stopped, with every frame exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from geoface.features import FeatureTable

from ._videos import simulated_expression_frames, write_video

pytest.importorskip("av")
pytest.importorskip("dlib")

ROOT = Path(__file__).resolve().parents[1]


def _parts(cache: Path) -> list[Path]:
    return sorted((cache / "video").glob("*/seg-*.parquet")) if cache.exists() else []


def test_resume_after_sigkill_gives_every_frame_once(tmp_path):
    frames, _ = simulated_expression_frames(48, size=(320, 240), seed=2)
    video = write_video(tmp_path / "long.mp4", frames, fps=25, gop=12)
    cache = tmp_path / "cache"
    out = tmp_path / "resumed.parquet"
    argv = [
        sys.executable,
        "-m",
        "geoface",
        "extract",
        str(video),
        "--out",
        str(out),
        "--landmarker",
        "dlib",
        "--segment-frames",
        "4",
        "--detect-side",
        "320",
        "--workers",
        "1",
        "--cache",
        str(cache),
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_parts(cache)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done_before = len(_parts(cache))
    assert proc.returncode == -signal.SIGKILL
    assert 3 <= done_before < 12, "the extraction should have been killed mid-video"
    assert not out.exists()
    # no half-written part: every part file there is complete
    for part in _parts(cache):
        assert len(pd.read_parquet(part)) == 4

    from geoface.video import extract_videos

    resumed = extract_videos(
        video,
        out,
        landmarker="dlib",
        segment_frames=4,
        cache=cache,
        progress=False,
        detect_side=320,
    )
    assert resumed.info["segments"] == {
        "n": 12,
        "computed": 12 - done_before,
        "reused": done_before,
    }
    fresh = extract_videos(
        video,
        tmp_path / "fresh.parquet",
        landmarker="dlib",
        segment_frames=4,
        detect_side=320,
        cache=tmp_path / "other-cache",
        processes=2,  # segments in two worker processes: the same table
        progress=False,
    )
    a = FeatureTable.read(resumed.path).frame
    b = FeatureTable.read(fresh.path).frame
    assert a["id"].is_unique and a["frame"].tolist() == list(range(48))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(resumed.landmarks_path), pd.read_parquet(fresh.landmarks_path)
    )
