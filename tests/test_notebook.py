"""The tutorial notebooks run from top to bottom (small settings) and show their figures."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "01_quickstart.ipynb"
VIDEO_NOTEBOOK = NOTEBOOKS / "02_video.ipynb"


def _execute(path: Path, workdir: Path, small_env: str):
    nb = nbformat.read(path, as_version=4)
    env = {small_env: "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _errors(nb) -> list:
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]


def _images(nb) -> list:
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quickstart")
    return _execute(NOTEBOOK, workdir, "GEOFACE_QUICKSTART_SMALL"), workdir


def test_quickstart_runs_without_errors(executed):
    nb, workdir = executed
    assert not _errors(nb)
    for name in ("xgb", "svm", "resnet18", "fused-stack", "fused-concat"):
        assert (workdir / "quickstart" / "runs" / name / "metrics.json").exists(), name
    assert (workdir / "quickstart" / "compare").is_dir()
    assert (workdir / "quickstart" / "report.html").stat().st_size > 10_000


def test_quickstart_shows_its_figures(executed):
    nb, _ = executed
    assert len(_images(nb)) >= 4


@pytest.fixture(scope="module")
def video_executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("video")
    return _execute(VIDEO_NOTEBOOK, workdir, "GEOFACE_VIDEO_SMALL"), workdir / "video_tutorial"


def test_video_tutorial_runs_video_to_segments(video_executed):
    nb, work = video_executed
    assert not _errors(nb)
    frames = pd.read_parquet(work / "new_labelled.parquet", columns=["video", "label_status"])
    assert set(frames["video"]) == {"eli", "fay"}
    assert (frames["label_status"] == "ok").all()  # the coding covers every frame
    assert (work / "run" / "metrics.json").exists()
    pred = pd.read_csv(work / "pred.csv")
    assert len(pred) == len(frames)  # every frame has a row, QC failures included
    segments = pd.read_csv(work / "segments.csv")
    assert set(segments["video"]) == {"eli", "fay"}
    assert {"happy", "surprise"} <= set(segments["label"])
    for video in ("eli", "fay"):
        assert (work / "figures" / f"{video}.png").stat().st_size > 5_000
    agreement = pd.read_csv(work / "eval" / "event_agreement.csv").set_index("class")
    assert agreement.loc["overall", "n_coded"] == 10
    assert agreement.loc["overall", "recall"] >= 0.5  # most coded events are found


def test_video_tutorial_shows_its_figures(video_executed):
    nb, _ = video_executed
    # the frames, the time course, the regions over time
    assert len(_images(nb)) >= 3
