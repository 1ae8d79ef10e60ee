"""The tutorial notebook runs from top to bottom (small settings) and shows its figures."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_quickstart.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("quickstart")
    env = {
        "GEOFACE_QUICKSTART_SMALL": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
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
    return nb, workdir


def test_quickstart_runs_without_errors(executed):
    nb, workdir = executed
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    for name in ("xgb", "svm", "resnet18", "fused-stack", "fused-concat"):
        assert (workdir / "quickstart" / "runs" / name / "metrics.json").exists(), name
    assert (workdir / "quickstart" / "compare").is_dir()
    assert (workdir / "quickstart" / "report.html").stat().st_size > 10_000


def test_quickstart_shows_its_figures(executed):
    nb, _ = executed
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 4
