"""The one subject draw every bootstrap uses."""

import numpy as np

from geoface.compare import paired_bootstrap
from geoface.metrics import (
    confusion_counts,
    draw_subjects,
    per_subject_confusion,
    regression_bootstrap,
    scores_from_confusion,
    subject_bootstrap,
)


def _data(n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["s3", "s1", "s2", "s0", "s4"], n)
    return groups, rng.integers(0, k, n), rng.integers(0, k, n)


def test_draws_are_whole_subjects_and_reproducible():
    groups, _, _ = _data()
    codes, draws = draw_subjects(groups, 50, 7)
    assert draws.shape == (50, 5) and (draws.sum(axis=1) == 5).all()
    assert [groups[codes == c][0] for c in range(5)] == ["s0", "s1", "s2", "s3", "s4"]
    again = draw_subjects(groups, 50, 7)[1]
    assert np.array_equal(draws, again)
    assert not np.array_equal(draws, draw_subjects(groups, 50, 8)[1])


def test_per_subject_confusion_adds_up_to_the_confusion_matrix():
    groups, y, pred = _data()
    codes, draws = draw_subjects(groups, 1, 0)
    per = per_subject_confusion(codes, draws.shape[1], y, pred, 3)
    assert np.array_equal(per.sum(axis=0).reshape(3, 3), confusion_counts(y, pred, 3))


def test_bootstraps_share_the_draw():
    """With the same seed, each bootstrap's replicates come from the same subject draws."""
    groups, y, pred = _data()
    codes, draws = draw_subjects(groups, 200, 3)
    cms = (draws @ per_subject_confusion(codes, 5, y, pred, 3)).reshape(200, 3, 3)
    acc = scores_from_confusion(cms)["accuracy"]
    ci = subject_bootstrap(y, pred, None, groups, 3, n_boot=200, random_state=3)["accuracy"]
    assert np.isclose(ci["low"], np.quantile(acc, 0.025))
    assert np.isclose(ci["high"], np.quantile(acc, 0.975))
    diff = paired_bootstrap(y, pred, y, groups, 3, n_boot=200, random_state=3)["accuracy"]
    assert np.isclose(diff["low"], np.quantile(acc - 1.0, 0.025))
    err = pred - y.astype(float)
    sums = np.zeros((5, 2))
    np.add.at(sums, codes, np.stack([np.ones_like(err), np.abs(err)], axis=1))
    mae = (draws @ sums[:, 1]) / (draws @ sums[:, 0])
    reg = regression_bootstrap(y, pred, groups, n_boot=200, random_state=3)["mae"]
    assert np.isclose(reg["high"], np.quantile(mae, 0.975))
