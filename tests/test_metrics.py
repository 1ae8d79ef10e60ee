import numpy as np
import pytest
from sklearn import metrics as skm

from geoface.metrics import (
    chance_levels,
    classification_metrics,
    scores_from_confusion,
    subject_bootstrap,
)


@pytest.fixture()
def predictions():
    rng = np.random.default_rng(0)
    n, k = 300, 4
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    proba = rng.dirichlet(np.ones(k), n)
    proba[np.arange(n), pred] += 1.0
    proba /= proba.sum(axis=1, keepdims=True)
    return y, pred, proba, k


def test_point_metrics_equal_scikit_learns(predictions):
    y, pred, proba, k = predictions
    classes = ["a", "b", "c", "d"]
    m = classification_metrics(y, pred, proba, classes)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=range(k)), rel=1e-9)
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=range(k), zero_division=0)
    for i, c in enumerate(classes):
        assert m["per_class"][c] == pytest.approx(
            {"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]}
        )
    np.testing.assert_array_equal(m["confusion_matrix"]["counts"], skm.confusion_matrix(y, pred))
    np.testing.assert_allclose(
        m["confusion_matrix"]["normalized"],
        skm.confusion_matrix(y, pred, normalize="true"),
        atol=1e-6,
    )


def test_absent_classes_follow_scikit_learn_conventions():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])  # class 2 predicted, never true; class 3 absent
    cm = np.zeros((4, 4), int)
    np.add.at(cm, (y, pred), 1)
    s = scores_from_confusion(cm)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = skm.balanced_accuracy_score(y, pred)
    assert s["balanced_accuracy"] == pytest.approx(expected)
    assert s["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))


def test_chance_levels():
    y = np.array([0] * 6 + [1] * 3 + [2] * 1)
    c = chance_levels(y, 3)
    assert c["majority"]["accuracy"] == pytest.approx(0.6)
    assert c["uniform"]["accuracy"] == pytest.approx(1 / 3)
    assert c["uniform"]["log_loss"] == pytest.approx(np.log(3))
    p = np.array([0.6, 0.3, 0.1])
    assert c["prior"]["log_loss"] == pytest.approx(-(p * np.log(p)).sum())
    # a constant majority predictor really scores what chance_levels says
    const = np.zeros_like(y)
    assert c["majority"]["macro_f1"] == pytest.approx(
        skm.f1_score(y, const, average="macro", labels=[0, 1, 2], zero_division=0)
    )


def _grouped(n_subjects, rng):
    groups = np.repeat(np.arange(n_subjects), 7)
    y = np.tile(np.arange(7), n_subjects)
    pred = np.where(rng.random(len(y)) < 0.7, y, rng.integers(0, 7, len(y)))
    return y, pred, groups


def test_bootstrap_ci_contains_estimate_and_narrows_with_more_subjects():
    rng = np.random.default_rng(1)
    widths = []
    for n_subjects in (10, 40, 160):
        y, pred, groups = _grouped(n_subjects, rng)
        ci = subject_bootstrap(y, pred, None, groups, 7, n_boot=1000, random_state=0)
        point = classification_metrics(y, pred, None, list("abcdefg"))
        for name in ("accuracy", "balanced_accuracy", "macro_f1"):
            assert ci[name]["low"] <= point[name] <= ci[name]["high"]
        widths.append(ci["accuracy"]["high"] - ci["accuracy"]["low"])
        assert ci["n_groups"] == n_subjects
    assert widths[0] > widths[1] > widths[2]


def test_bootstrap_resamples_subjects_not_faces():
    # two subjects: one always right, one always wrong -> replicates are 0, 0.5 or 1
    y = np.zeros(20, int)
    pred = np.r_[np.zeros(10, int), np.ones(10, int)]
    groups = np.r_[np.zeros(10), np.ones(10)]
    ci = subject_bootstrap(y, pred, None, groups, 2, n_boot=500, random_state=0)
    assert ci["accuracy"]["low"] == 0.0 and ci["accuracy"]["high"] == 1.0
    same = subject_bootstrap(y, pred, None, groups, 2, n_boot=500, random_state=0)
    assert same == ci
