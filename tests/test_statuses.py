"""One vocabulary of statuses: every word the code assigns is declared in geoface.statuses."""

from __future__ import annotations

import ast
from pathlib import Path

from geoface import statuses
from geoface.datasets import STATUSES as DATASET_STATUSES
from geoface.features import QC_STATUSES, USABLE_STATUSES
from geoface.landmarks import IMAGE_STATUSES

ROOT = Path(__file__).resolve().parents[1]


def test_each_step_declares_its_statuses_in_the_one_module():
    assert IMAGE_STATUSES is statuses.IMAGE_STATUSES
    assert QC_STATUSES is statuses.QC_STATUSES
    assert USABLE_STATUSES is statuses.USABLE_STATUSES
    assert DATASET_STATUSES is statuses.DATASET_STATUSES
    for word in USABLE_STATUSES:
        assert statuses.is_usable(word) and word not in statuses.FAILURE_STATUSES
    for word in ("no_face", "degenerate", "not_in_splits", "unknown_label"):
        assert not statuses.is_usable(word) and word in statuses.FAILURE_STATUSES
    assert statuses.STATUSES["unreadable"].steps == ("landmarks", "run")
    assert "no face" in statuses.describe_status("qc_no_face")


def _assigned_status_words():
    """String constants assigned into a ``status[...]`` array in geoface/ and baselines/."""
    for top in ("geoface", "baselines"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
                    continue
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "status"
                        and isinstance(node.value.value, str)
                    ):
                        yield path.relative_to(ROOT), node.value.value


def test_every_status_the_code_assigns_is_declared():
    found = list(_assigned_status_words())
    assert found, "the scan found no status assignment"
    undeclared = [(str(p), w) for p, w in found if w not in statuses.STATUSES]
    assert not undeclared, undeclared
