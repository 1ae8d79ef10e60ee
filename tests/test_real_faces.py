"""The default commands on real expression photographs (CK+ development half).

``geoface extract --landmarker dlib`` → ``geoface split --folds 10`` →
``geoface fit --model svm`` / ``--model xgb``, as a new user runs them. The
balanced accuracy is pinned loosely, so that a change of defaults that costs
accuracy on real faces is caught. Skips when ``../shared/data/ckplus-dev`` is
absent; nothing derived from it is kept.
"""

import json

import pytest

from geoface.cli import main
from tests.conftest import SHARED_DATA, needs_dlib

CKPLUS = SHARED_DATA / "ckplus-dev"

pytestmark = [
    pytest.mark.skipif(
        not (CKPLUS / "manifest.csv").exists(),
        reason="../shared/data/ckplus-dev (CK+ development half) is not present",
    ),
    needs_dlib,
]


@pytest.fixture(scope="module")
def ckplus_table(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckplus")
    table = root / "features.csv"
    args = ["extract", str(CKPLUS / "manifest.csv"), "--out", str(table)]
    assert main([*args, "--landmarker", "dlib", "--quiet"]) == 0
    assert main(["split", str(table), "--folds", "10", "--out", str(root / "splits.csv")]) == 0
    return table, root / "splits.csv"


def test_extract_default_describes_each_subject_relative_to_its_mean_face(ckplus_table):
    table, _ = ckplus_table
    meta = json.loads(table.with_suffix(".meta.json").read_text())
    relative = meta["options"]["relative"]
    assert relative["rule"] == "mean" and relative["by"] == "subject"
    assert relative["asked"] == "auto"


@pytest.mark.parametrize(("model", "floor"), [("svm", 0.90), ("xgb", 0.83)])
def test_default_commands_reach_their_floor_on_real_faces(ckplus_table, tmp_path, model, floor):
    table, splits = ckplus_table
    out = tmp_path / model
    argv = ["fit", str(table), "--splits", str(splits), "--model", model, "--out", str(out)]
    assert main([*argv, "--bootstrap", "200", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_used"] == 314
    assert metrics["balanced_accuracy"] >= floor
