import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoface import GeofaceError
from geoface.splits import Splits, make_splits


def _frame(subjects, labels, status=None):
    n = len(subjects)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "subject": subjects,
            "label": labels,
            "qc_status": status if status is not None else ["ok"] * n,
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    n_subjects=st.integers(4, 25),
    per_subject=st.integers(1, 6),
    n_classes=st.integers(2, 4),
    folds=st.integers(2, 4),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_no_subject_is_ever_in_two_folds(n_subjects, per_subject, n_classes, folds, seed, data):
    subjects = np.repeat(np.arange(n_subjects), per_subject).astype(str)
    labels = data.draw(
        st.lists(st.integers(0, n_classes - 1), min_size=len(subjects), max_size=len(subjects))
    )
    frame = _frame(subjects, [f"c{v}" for v in labels])
    try:
        splits = make_splits(frame, folds=folds, seed=seed)
    except GeofaceError as exc:
        assert "fewer subjects than" in str(exc) or "only" in str(exc)
        return
    f = splits.frame
    assert f.groupby("subject")["fold"].nunique().max() == 1
    assert sorted(f["id"]) == sorted(frame["id"])
    assert f["fold"].nunique() == folds


def test_same_seed_same_folds_and_stratified(sim):
    frame = sim.meta.assign(qc_status="ok")
    a = make_splits(frame, folds=4, seed=3)
    b = make_splits(frame, folds=4, seed=3)
    c = make_splits(frame, folds=2, seed=4)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.info["seed"] == 3 and a.info["method"] == "stratified-group-k-fold"
    assert c.n_folds == 2
    # every fold sees every class (each subject shows all seven)
    assert (a.frame.merge(frame[["id", "label"]]).groupby("fold")["label"].nunique() == 7).all()


def test_loso_gives_one_fold_per_subject(sim):
    splits = make_splits(sim.meta.assign(qc_status="ok"), folds="loso")
    assert splits.n_folds == sim.meta["subject"].nunique()
    assert splits.info["method"] == "leave-one-subject-out"


def test_failed_rows_are_excluded_and_counted():
    frame = _frame(
        list("aabbccdd"),
        list("xyxyxyxy"),
        ["ok", "no_face", "ok", "ok", "ok", "ok", "unreadable", "ok"],
    )
    frame.loc[7, "label"] = None
    splits = make_splits(frame, folds=2)
    assert len(splits.frame) == 5
    assert splits.info["excluded"] == {"qc_no_face": 1, "qc_unreadable": 1, "missing_target": 1}


def test_thin_classes_and_bad_options_are_explained():
    frame = _frame(list("aabbccdd"), ["x", "y", "x", "y", "x", "x", "x", "x"])
    with pytest.raises(
        GeofaceError,
        match=r"class\(es\) 'y' \(2\) have fewer subjects than the 3 "
        r"folds.*use --folds 2, or --folds loso",
    ):
        make_splits(frame, folds=3)
    with pytest.raises(GeofaceError, match="only 4 subjects for 5 folds"):
        make_splits(frame, folds=5)
    with pytest.raises(GeofaceError, match="no 'infant' column; choose one with --group"):
        make_splits(frame, group="infant")
    with pytest.raises(GeofaceError, match="folds='ten' is neither"):
        make_splits(frame, folds="ten")
    with pytest.raises(GeofaceError, match="at least 2 folds"):
        make_splits(frame, folds=1)


def test_write_read_and_leak_check(tmp_path, sim):
    splits = make_splits(sim.meta.assign(qc_status="ok"), folds=2)
    path = splits.write(tmp_path / "splits.csv")
    back = Splits.read(path)
    pd.testing.assert_frame_equal(back.frame, splits.frame.astype({"subject": str}))
    assert back.info["n_folds"] == 2 and (tmp_path / "splits.meta.json").exists()
    leaked = back.frame.copy()
    leaked.loc[0, "fold"] = 1 - leaked.loc[0, "fold"]
    leaked.to_csv(path, index=False)
    with pytest.raises(GeofaceError, match=r"appear\(s\) in more than one fold"):
        Splits.read(path)
    pd.DataFrame({"id": ["a"]}).to_csv(path, index=False)
    with pytest.raises(GeofaceError, match=r"lacks column\(s\) \['fold'\]"):
        Splits.read(path)
    assert list(back.fold_of(["nope", splits.frame["id"][0]])) == [-1, splits.frame["fold"][0]]


def test_rows_with_features_take_part_whatever_their_face_count():
    frame = _frame(
        list("aabbccdd"),
        list("xyxyxyxy"),
        ["ok", "multiple_faces", "fallback_box", "ok", "ok", "ok", "no_face", "ok"],
    )
    splits = make_splits(frame, folds=2)
    assert len(splits.frame) == 7 and splits.info["excluded"] == {"qc_no_face": 1}
