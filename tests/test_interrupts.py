"""Interrupted and killed commands leave the complete old result or the complete new one.

Real ``geoface`` processes on small simulated data are stopped with SIGINT
(Ctrl-C) or SIGKILL at random, seeded moments; every output is then compared
with what it held before and with what an uninterrupted run writes. A second
test extracts a folder holding a decompression bomb among real photographs and
measures the child process's peak memory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoface._errors import GeofaceError
from geoface.cli import main
from tests.conftest import DLIB_FACES, needs_dlib, needs_dlib_faces
from tests.test_nothing_lost import bomb_png

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CMD = [sys.executable, "-m", "geoface"]
#: Random interruptions per command: one SIGINT and one SIGKILL each, at seeded moments.
SIGNALS = (signal.SIGINT, signal.SIGKILL)


def _geoface(*argv) -> None:
    code = main([str(a) for a in argv])
    assert code == 0, argv


def _snapshot(path: Path) -> dict[str, bytes]:
    """Every file under a folder (or the file itself), by relative path, with its bytes."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _restore(path: Path, saved: dict[str, bytes]) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    for rel, data in saved.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _run(argv, *, after: float | None = None, sig: int | None = None) -> float:
    """Run ``geoface argv``; with ``after``, send ``sig`` that many seconds in. Return its time."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*CMD, *map(str, argv)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if after is not None:
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    if after is None:
        assert proc.returncode == 0, err.decode()
    return time.perf_counter() - t0


def _hidden_leftovers(out: Path) -> list[str]:
    """Hidden temporary files or folders beside ``out`` (named ``.OUT_NAME.…``)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _remove_leftovers(out: Path) -> None:  # what a SIGKILL may leave: safe to delete
    for name in _hidden_leftovers(out):
        p = out.parent / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupts")
    _geoface("simulate", "--out", root / "sim", "--subjects", 3, "--takes", 1)
    _geoface("extract", root / "sim" / "landmarks.csv", "--out", root / "features.csv")
    _geoface("split", root / "features.csv", "--out", root / "splits.csv", "--folds", 2)
    return root


def _table_state(path: Path):
    from geoface.features import sidecar_paths

    meta, fmap = sidecar_paths(path)
    return path.read_bytes(), fmap.read_bytes(), json.loads(meta.read_text())["content_sha256"]


def test_interrupted_extract_leaves_the_old_table_or_the_new_one(project):
    from geoface.features import FeatureTable, sidecar_paths

    rng = np.random.default_rng(17)
    out = project / "features.csv"
    files = [out, *sidecar_paths(out)]
    old_files = {p: p.read_bytes() for p in files}
    old = _table_state(out)
    argv = ["extract", project / "sim" / "landmarks.csv", "--out", out, "--mesh", "fit"]
    duration = _run(argv)
    new = _table_state(out)
    assert new[0] != old[0]
    for sig in SIGNALS:
        for p, data in old_files.items():
            p.write_bytes(data)
        _run(argv, after=float(rng.uniform(0.2, 1.1)) * duration, sig=sig)
        state = _table_state(out)
        if state not in (old, new):
            # only a kill between two renames can leave this, and the reader refuses it
            assert sig == signal.SIGKILL
            with pytest.raises(GeofaceError, match="does not match its sidecar"):
                FeatureTable.read(out)
        else:
            FeatureTable.read(out)
        if sig == signal.SIGINT:
            assert not any(_hidden_leftovers(p) for p in files), "a temporary file was left"
        for p in files:
            _remove_leftovers(p)


def _folder_case(project, out: Path, make_old, argv_new, is_new):
    rng = np.random.default_rng(23)
    make_old()
    old = _snapshot(out)
    duration = _run(argv_new)
    new_names = set(_snapshot(out))
    assert is_new(out)
    for sig in SIGNALS:
        _restore(out, old)
        _run(argv_new, after=float(rng.uniform(0.2, 1.1)) * duration, sig=sig)
        now = _snapshot(out)
        assert now == old or (set(now) == new_names and is_new(out)), (
            f"{out.name} holds a mix after {signal.Signals(sig).name}: "
            f"{sorted(set(now) ^ set(old))[:5]}"
        )
        if sig == signal.SIGINT:
            assert not _hidden_leftovers(out), "a temporary folder was left behind"
        _remove_leftovers(out)


def test_interrupted_fit_and_explain_leave_the_old_folder_or_the_new_one(project):
    run_dir = project / "run"
    fit = ["fit", project / "features.csv", "--splits", project / "splits.csv"]
    fit += ["--model", "logreg", "--bootstrap", 100, "--quiet", "--out", run_dir]

    def seed_of(path, name="run.json"):
        return json.loads((path / name).read_text())["seed"]

    _folder_case(
        project,
        run_dir,
        lambda: _geoface(*fit, "--seed", 0),
        [*fit, "--seed", 1, "--overwrite"],
        lambda p: seed_of(p) == 1,
    )
    shutil.rmtree(run_dir)
    _geoface(*fit, "--seed", 0)
    out = project / "explained"
    explain = ["explain", run_dir, "--out", out, "--no-figures", "--quiet"]
    _folder_case(
        project,
        out,
        lambda: _geoface(*explain, "--seed", 0),
        [*explain, "--seed", 1, "--overwrite"],
        lambda p: '"seed": 1' in (p / "explain.json").read_text(),
    )


@needs_dlib
@needs_dlib_faces
def test_a_decompression_bomb_among_real_photos_costs_no_memory(tmp_path):
    """Peak memory of the extraction stays under 2 GB and every other image keeps its row."""
    photos = sorted(DLIB_FACES.glob("*.jpg"))[:3]
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in photos:
        (folder / p.name).symlink_to(p)
    (folder / "bomb.png").write_bytes(bomb_png())  # about 1 MB, 30000×30000 pixels declared
    extract = [*CMD, "extract", str(folder), "--landmarker", "dlib", "--out"]
    extract += [str(tmp_path / "f.csv"), "--no-cache", "--quiet"]
    # a fresh parent whose only child is the extraction: its RUSAGE_CHILDREN is that child's
    probe = (
        "import resource, subprocess, sys; "
        f"rc = subprocess.run({extract!r}, stdout=subprocess.DEVNULL).returncode; "
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, timeout=600
    )
    rc, max_rss_kb = (int(v) for v in proc.stdout.split()[-2:])
    assert rc == 0, proc.stderr
    assert max_rss_kb * 1024 < 2 * 2**30, f"peak memory {max_rss_kb / 2**20:.2f} GB"
    frame = pd.read_csv(tmp_path / "f.csv")
    status = dict(zip(frame["path"], frame["qc_status"], strict=True))
    assert status.pop("bomb.png") == "too_large"
    assert sorted(status) == sorted(p.name for p in photos)
    assert all(s in ("ok", "multiple_faces", "fallback_box", "no_face") for s in status.values())
