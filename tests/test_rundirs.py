"""One reader and one set of checks for the run directories compare and fuse combine."""

import json

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.compare import compare_runs, load_run_predictions
from geoface.fusion import align_runs as fusion_align
from geoface.fusion import read_run
from geoface.runs import check_same_problem, read_run_directory, run_names
from tests._synthetic_runs import CLASSES, design, write_run


def _run(tmp_path, name, **changes):
    ids, subjects, folds, y = design()
    kw = {"ids": ids, "subjects": subjects, "folds": folds, "y": y, "pred": y.copy()}
    kw.update(changes)
    return write_run(tmp_path / name, **kw)


def test_both_packages_read_through_one_reader(tmp_path):
    path = _run(tmp_path, "a")
    for run in (load_run_predictions(path), read_run(path), read_run_directory(path)):
        assert type(run) is type(read_run_directory(path))
        assert run.classes == CLASSES and run.target == "label" and run.group == "subject"
        assert run.usable.all() and run.proba().shape == (36, 3)
        assert run.oof["id"].iloc[0] == "face_000" and run.oof["y_true"].iloc[0] in CLASSES


def test_classes_fall_back_to_probability_columns(tmp_path):
    path = _run(tmp_path, "a")
    doc = json.loads((path / "metrics.json").read_text())
    del doc["classes"]
    (path / "metrics.json").write_text(json.dumps(doc))
    assert read_run_directory(path).classes == CLASSES


def test_missing_probabilities_refused_only_where_needed(tmp_path):
    path = _run(tmp_path, "a")
    oof = pd.read_csv(path / "oof_predictions.csv", dtype=str)
    oof.drop(columns=["proba_sad"]).to_csv(path / "oof_predictions.csv", index=False)
    assert load_run_predictions(path).proba() is None
    with pytest.raises(GeofaceError, match=r"lacks column\(s\) \['proba_sad'\]"):
        read_run(path)


def test_repeated_id_is_refused(tmp_path):
    path = _run(tmp_path, "a")
    oof = pd.read_csv(path / "oof_predictions.csv", dtype=str)
    pd.concat([oof, oof.iloc[:1]]).to_csv(path / "oof_predictions.csv", index=False)
    with pytest.raises(GeofaceError, match="repeats id 'face_000'"):
        read_run_directory(path)


def test_different_subjects_refused_by_compare_and_fuse(tmp_path):
    _, subjects, *_ = design()
    moved = subjects.copy()
    moved[0] = "s99"
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b", subjects=moved)
    for call in (lambda: compare_runs([a, b], n_boot=100), lambda: fusion_align([a, b])):
        with pytest.raises(GeofaceError, match=r"runs a and b disagree on the subject of 1 face"):
            call()


def test_face_outside_the_other_splits_refused_by_compare_and_fuse(tmp_path):
    ids, *_ = design()
    status = np.full(len(ids), "ok", dtype=object)
    status[4] = "not_in_splits"
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b", status=status)
    for call in (lambda: compare_runs([a, b], n_boot=100), lambda: fusion_align([a, b])):
        with pytest.raises(GeofaceError, match=r"1 face\(s\) .* not in the splits of b"):
            call()


def test_class_order_does_not_matter(tmp_path):
    _, _, _, y = design()
    a = _run(tmp_path, "a")
    b = _run(tmp_path, "b", classes=CLASSES[::-1], y=2 - y, pred=2 - y)
    runs = [read_run_directory(a), read_run_directory(b)]
    check_same_problem(runs, "compare")


def test_message_names_the_action(tmp_path):
    a = _run(tmp_path, "a")
    c = _run(tmp_path, "c", target="age_group")
    runs = [read_run_directory(a), read_run_directory(c)]
    with pytest.raises(GeofaceError, match=r"; fuse runs of one target$"):
        check_same_problem(runs, "fuse")


def test_run_names_add_parents_where_names_clash(tmp_path):
    assert run_names([tmp_path / "x" / "xgb", tmp_path / "y" / "xgb", tmp_path / "svm"]) == [
        "x/xgb",
        "y/xgb",
        "svm",
    ]
