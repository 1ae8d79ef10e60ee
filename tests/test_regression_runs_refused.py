"""Age-regression runs are refused by compare, fuse and report, in one line."""

import json

import numpy as np
import pytest

from baselines._age import write_age_oof
from geoface import GeofaceError
from geoface.cli import main
from geoface.compare import compare_runs, load_run_predictions
from geoface.fusion import fuse_runs, read_run
from geoface.report import write_report
from tests._synthetic_runs import design, write_run


def _age_run(path):
    """A tiny age run as ``geoface baseline train --task age`` lays it out."""
    ids, subjects, folds, _ = design()
    rng = np.random.default_rng(0)
    age = rng.uniform(1, 24, len(ids))
    path.mkdir()
    (path / "metrics.json").write_text(
        json.dumps({"task": "age", "model": "resnet18", "target": "age_months", "unit": "months"}),
        encoding="utf-8",
    )
    (path / "run.json").write_text(
        json.dumps({"kind": "cnn", "model": "resnet18", "target": "age_months"}),
        encoding="utf-8",
    )
    write_age_oof(
        path / "oof_predictions.csv",
        ids=list(ids),
        status=["ok"] * len(ids),
        used=np.ones(len(ids), bool),
        fold=folds,
        groups=subjects,
        y=age,
        pred=age + 1.0,
    )
    return path


@pytest.fixture
def runs(tmp_path):
    ids, subjects, folds, y = design()
    cls = write_run(tmp_path / "xgb", ids=ids, subjects=subjects, folds=folds, y=y, pred=y)
    return cls, _age_run(tmp_path / "age")


MESSAGE = (
    r"age is an age-regression run \(task 'age'\); compare, fuse and report take classification"
)


def test_readers_refuse_an_age_run(runs):
    _, age = runs
    with pytest.raises(GeofaceError, match=MESSAGE):
        load_run_predictions(age)
    with pytest.raises(GeofaceError, match=MESSAGE):
        read_run(age)


@pytest.mark.parametrize("first", [True, False])
def test_functions_refuse_an_age_run(runs, tmp_path, first):
    cls, age = runs
    pair = [age, cls] if first else [cls, age]
    with pytest.raises(GeofaceError, match=MESSAGE):
        compare_runs(pair, n_boot=100)
    with pytest.raises(GeofaceError, match=MESSAGE):
        fuse_runs(pair, tmp_path / "fused", n_boot=100)
    with pytest.raises(GeofaceError, match=MESSAGE):
        write_report(pair, tmp_path / "report.html", n_boot=100)
    assert not (tmp_path / "fused").exists()
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("command", ["compare", "fuse", "report"])
def test_cli_refuses_an_age_run_in_one_line(runs, tmp_path, capsys, command):
    cls, age = runs
    out = tmp_path / ("out.html" if command == "report" else "out")
    code = main([command, str(cls), str(age), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("geoface: error: ") and captured.err.count("\n") == 1
    assert "age-regression run (task 'age')" in captured.err
    assert not out.exists()
