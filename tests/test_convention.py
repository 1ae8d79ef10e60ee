import numpy as np
import pytest

from geoface import (
    LANDMARK_GROUPS,
    MIDLINE_POINTS,
    MIRROR_PERMUTATION,
    N_LANDMARKS,
    inter_ocular_distance,
)


def test_mirror_permutation_is_an_involution_over_all_points():
    assert sorted(MIRROR_PERMUTATION) == list(range(N_LANDMARKS))
    np.testing.assert_array_equal(MIRROR_PERMUTATION[MIRROR_PERMUTATION], np.arange(68))


def test_mirror_pairs_follow_ibug():
    assert MIRROR_PERMUTATION[0] == 16
    assert MIRROR_PERMUTATION[36] == 45 and MIRROR_PERMUTATION[39] == 42
    assert MIRROR_PERMUTATION[48] == 54 and MIRROR_PERMUTATION[60] == 64
    assert MIDLINE_POINTS == (8, 27, 28, 29, 30, 33, 51, 57, 62, 66)


def test_groups_cover_every_point_once():
    pts = [p for g in LANDMARK_GROUPS.values() for p in g]
    assert sorted(pts) == list(range(68))


def test_iod_centres_and_corners(template):
    assert inter_ocular_distance(template) == pytest.approx(1.0, abs=1e-6)
    corners = inter_ocular_distance(template, "corners")
    assert corners == pytest.approx(template[45, 0] - template[36, 0])
    many = inter_ocular_distance(np.stack([template, 2 * template]))
    np.testing.assert_allclose(many, [1.0, 2.0], atol=1e-6)


def test_iod_rejects_unknown_method(template):
    with pytest.raises(ValueError, match=r"iod='pupils' is not one of"):
        inter_ocular_distance(template, "pupils")
