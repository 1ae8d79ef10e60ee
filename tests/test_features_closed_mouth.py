"""Features on real faces and on closed mouths: invariant, mirror-symmetric, continuous.

On a closed mouth the inner-lip points coincide (61/67, 62/66, 63/65 in the
300-W markup and in dlib's fits), so six inner-mouth triangles collapse. Their
plain angles are decided by rounding noise; the regularised angles are not.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoface import MIRROR_PERMUTATION
from geoface.features import compute_geometry, feature_mirror
from geoface.landmarks import read_pts
from geoface.mesh import Mesh

#: Upper and lower inner-lip points that meet when the mouth closes.
UPPER, LOWER = [61, 62, 63], [67, 66, 65]


def _similarity(shapes, theta, scale, shift):
    """Rotate, scale and shift each face by its own parameters (arrays of length n)."""
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (n, 2, 2)
    return np.einsum("nij,nkj->nki", rot, shapes) * scale[:, None, None] + shift[:, None, :]


def _mirrored(shapes):
    out = shapes.copy()
    out[..., 0] = -out[..., 0]
    return out[:, MIRROR_PERMUTATION]


def _check_invariant_and_symmetric(shapes, mesh, rng):
    n = len(shapes)
    base = compute_geometry(shapes, mesh)
    assert (base.status == "ok").all()
    moved = compute_geometry(
        _similarity(
            shapes,
            rng.uniform(-np.pi, np.pi, n),
            10.0 ** rng.uniform(-2, 3, n),
            rng.uniform(-1e4, 1e4, (n, 2)),
        ),
        mesh,
    )
    np.testing.assert_allclose(moved.features, base.features, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(moved.folded, base.folded)
    mirror = compute_geometry(_mirrored(shapes), mesh)
    np.testing.assert_allclose(
        mirror.features, base.features[:, feature_mirror(mesh)], rtol=0, atol=1e-6
    )
    return base


@pytest.fixture(scope="module")
def helen_shapes(helen_pts):
    return np.stack([read_pts(p) for p in helen_pts])


def test_helen_faces_are_similarity_invariant_and_mirror_symmetric(helen_shapes, mesh):
    assert helen_shapes.shape == (50, 68, 2)
    # the markup closes many mouths exactly: the case the features must survive
    closed = (np.linalg.norm(helen_shapes[:, UPPER] - helen_shapes[:, LOWER], axis=-1) == 0).any(1)
    assert closed.sum() >= 10
    rng = np.random.default_rng(0)
    for _ in range(3):
        _check_invariant_and_symmetric(helen_shapes, mesh, rng)


def test_plain_angles_fail_on_helen_so_the_check_can_fail(helen_shapes, mesh):
    plain = Mesh(mesh.template, mesh.triangles, angle_regularisation=0.0)
    with pytest.raises(AssertionError):
        _check_invariant_and_symmetric(helen_shapes, plain, np.random.default_rng(0))


def _closed_mouth(template, opening, jitter, direction):
    """The template with its inner lips ``opening`` IOD apart, then jittered."""
    face = template.copy()
    face[LOWER] = face[UPPER] + [0.0, opening]
    face[LOWER] += jitter * np.stack([np.cos(direction), np.sin(direction)], -1)
    return face


@settings(max_examples=30, deadline=None)
@given(
    jitter=st.sampled_from([0.0, 1e-12, 1e-9]),
    direction=st.lists(st.floats(-np.pi, np.pi), min_size=3, max_size=3),
    theta=st.floats(-np.pi, np.pi),
    scale=st.floats(1e-1, 1e3),
    shift=st.floats(-1e4, 1e4),
    seed=st.integers(0, 2**16),
)
def test_drawn_closed_mouths_are_invariant_and_continuous(
    template, mesh, jitter, direction, theta, scale, shift, seed
):
    rng = np.random.default_rng(seed)
    face = _closed_mouth(template, 0.0, jitter, np.array(direction))
    # a little whole-face noise so the rest of the face is not the template's
    face[[i for i in range(68) if i not in LOWER]] += rng.normal(0, 0.01, (65, 2))
    face[LOWER] = face[UPPER] + (face[LOWER] - template[UPPER])
    shapes = np.stack([face, face.copy()])
    shapes[1, LOWER] = shapes[1, UPPER]  # exactly closed
    shapes = _similarity(shapes, np.full(2, theta), np.full(2, scale), np.full((2, 2), shift))
    base = _check_invariant_and_symmetric(shapes, mesh, rng)
    # continuity: the features move at most in proportion to the jitter (in IODs);
    # angles change by at most about 2 * 57.3 / eps degrees per IOD (plain angles jump by 180)
    bound = 2 * np.degrees(1.0) / mesh.angle_regularisation * jitter + 1e-7
    np.testing.assert_allclose(base.features[0], base.features[1], rtol=0, atol=bound)


def test_collapsed_triangles_take_the_documented_angles(template, mesh):
    face = _closed_mouth(template, 0.0, 0.0, np.zeros(3))
    g = compute_geometry(face[None], mesh)
    t = mesh.n_triangles
    angles = g.features[0, t : 4 * t].reshape(t, 3)
    areas = g.features[0, :t]
    for k, tri in enumerate(mesh.triangles.tolist()):
        pts = face[tri]
        same = [(i, j) for i in range(3) for j in range(i + 1, 3) if np.array_equal(pts[i], pts[j])]
        if not same:
            continue
        assert areas[k] == 0.0
        if len(same) == 3:  # all three points coincide
            np.testing.assert_allclose(angles[k], 60.0)
            continue
        (i, j) = same[0]
        apex = 3 - i - j
        # the angle at the third point is small; the two at the coinciding points share the rest
        assert 0.0 < angles[k, apex] < 10.0
        assert angles[k, i] == pytest.approx(angles[k, j], abs=1e-9)
        assert angles[k, i] == pytest.approx((180.0 - angles[k, apex]) / 2, abs=1e-9)


def test_closed_and_open_mouths_stay_apart(template, mesh):
    closed = _closed_mouth(template, 0.0, 0.0, np.zeros(3))
    opened = _closed_mouth(template, 0.2, 0.0, np.zeros(3))
    g = compute_geometry(np.stack([closed, opened]), mesh)
    inner = [k for k, tri in enumerate(mesh.triangles.tolist()) if min(tri) >= 60]
    assert len(inner) == 4
    t = mesh.n_triangles
    assert (g.features[0, inner] == 0).all() and (g.features[1, inner] > 0.01).all()
    e = {tuple(v): k for k, v in enumerate(mesh.edges.tolist())}[(62, 66)]
    assert g.features[0, 4 * t + e] == pytest.approx(-1.0)
    assert g.features[1, 4 * t + e] > 0
