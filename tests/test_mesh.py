import json

import numpy as np
import pytest

from geoface import MIRROR_PERMUTATION, GeofaceError
from geoface.mesh import (
    REGIONS,
    Mesh,
    align_to,
    build_template,
    generalized_procrustes,
    mirror_shapes,
    region_of,
)
from tests.conftest import needs_helen

#: The built-in mesh's identity. Changing it changes every saved table's meaning.
# the hash covers the angle regularisation; the same mesh with plain angles
# (as saved before the regularisation existed) keeps its old hash
DEFAULT_HASH = "562f97f6b71daf64"
PLAIN_ANGLES_HASH = "f9af81bdfe9cdc73"


def test_template_is_exactly_symmetric_in_iod_units(template):
    assert template.shape == (68, 2)
    np.testing.assert_array_equal(template[:, 0], -template[MIRROR_PERMUTATION, 0])
    np.testing.assert_array_equal(template[:, 1], template[MIRROR_PERMUTATION, 1])
    right, left = template[36:42].mean(0), template[42:48].mean(0)
    np.testing.assert_allclose(right, [-0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(left, [0.5, 0.0], atol=1e-6)
    assert template[8, 1] > template[33, 1] > template[27, 1] > template[19, 1]  # chin below nose


def test_default_mesh_is_frozen(mesh):
    assert (mesh.n_triangles, mesh.n_edges) == (107, 174)
    assert mesh.hash == DEFAULT_HASH
    assert Mesh.default() is mesh


def test_default_mesh_is_mirror_symmetric(mesh):
    assert mesh.is_symmetric
    tri = {tuple(t) for t in mesh.triangles.tolist()}
    for t in tri:
        assert tuple(sorted(MIRROR_PERMUTATION[list(t)])) in tri
    np.testing.assert_array_equal(mesh.triangle_mirror[mesh.triangle_mirror], np.arange(107))
    np.testing.assert_array_equal(mesh.edge_mirror[mesh.edge_mirror], np.arange(174))
    # mirrored simplices share region, and sides swap
    np.testing.assert_array_equal(
        mesh.triangle_regions, mesh.triangle_regions[mesh.triangle_mirror]
    )
    swap = {"right": "left", "left": "right", "midline": "midline"}
    assert [swap[s] for s in mesh.triangle_sides] == list(mesh.triangle_sides[mesh.triangle_mirror])


def test_mesh_triangles_are_proper_and_cover_the_face(mesh, template):
    p = template[mesh.triangles]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    assert (np.abs(cross) > 1e-4).all()
    assert set(np.unique(mesh.triangles)) == set(range(68))  # every landmark is a vertex
    # edges are exactly the triangles' sides
    sides = {
        tuple(sorted(e))
        for t in mesh.triangles.tolist()
        for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2]))
    }
    assert sides == {tuple(e) for e in mesh.edges.tolist()}
    te = mesh.triangle_edges
    for k, (a, b, c) in enumerate(mesh.triangles.tolist()):
        assert [tuple(mesh.edges[i]) for i in te[k]] == [(a, b), (a, c), (b, c)]


def test_forehead_slivers_are_peeled(mesh):
    # the hull edge 19-24 spans the forehead; Delaunay gives slivers there
    assert not any({19, 24} <= set(t) for t in mesh.triangles.tolist())
    assert any(set(t) == {21, 22, 27} for t in mesh.triangles.tolist())


def test_regions_follow_the_documented_rule(mesh):
    assert set(mesh.triangle_regions) == set(REGIONS)
    assert region_of([36, 37, 41]) == "eyes"
    assert region_of([21, 22, 27]) == "glabella"
    assert region_of([18, 19, 37]) == "brows"
    assert region_of([31, 48, 49]) == "mouth"
    assert region_of([8, 57, 58]) == "jaw"
    assert region_of([2, 3, 48]) == "cheeks"
    assert region_of([27, 28, 39]) == "nose"
    assert region_of([31, 39, 40]) == "cheeks"
    assert region_of([0, 17]) == "cheeks"


def test_symmetric_trapezoids_keep_both_diagonals(template):
    from scipy.spatial import Delaunay

    # pull the midline lip points out of the upper-lip trapezoid 50-52-63-61:
    # it is then an empty cocircular quad and Delaunay picks one diagonal
    shape = template.copy()
    shape[51, 1] = shape[33, 1] + 0.02
    shape[62, 1] = shape[66, 1] - 0.01
    plain = {tuple(sorted(t)) for t in Delaunay(shape).simplices.tolist()}
    in_quad = {t for t in plain if set(t) <= {50, 52, 61, 63}}
    assert len(in_quad) == 2  # one diagonal: asymmetric on its own
    mesh = Mesh.from_template(shape)
    assert mesh.is_symmetric
    quad = {tuple(t) for t in mesh.triangles.tolist() if set(t) <= {50, 52, 61, 63}}
    assert quad == {(50, 52, 61), (50, 52, 63), (50, 61, 63), (52, 61, 63)}
    assert {(50, 63), (52, 61)} <= {tuple(e) for e in mesh.edges.tolist()}


def test_hash_round_trip_and_tamper_detection(mesh):
    doc = json.loads(json.dumps(mesh.to_dict()))
    assert Mesh.from_dict(doc) == mesh
    doc["triangles"] = doc["triangles"][:-1]
    with pytest.raises(GeofaceError, match="does not match its content"):
        Mesh.from_dict(doc)
    with pytest.raises(GeofaceError, match="lacks 'template'"):
        Mesh.from_dict({"triangles": []})


def test_mesh_constructor_validates(template, mesh):
    with pytest.raises(GeofaceError, match=r"expected finite \(68, 2\)"):
        Mesh(template[:10], mesh.triangles)
    with pytest.raises(GeofaceError, match="each row increasing"):
        Mesh(template, mesh.triangles[::-1])


def test_mesh_fit_on_infant_faces(sim):
    infant = Mesh.fit(sim.landmarks)
    assert infant.is_symmetric
    assert infant.hash != Mesh.default().hash
    # infants' lower face is shorter relative to the eyes than the adult template's
    assert infant.template[8, 1] < Mesh.default().template[8, 1]


def test_align_to_recovers_a_similarity(template):
    theta, scale, shift = 0.4, 37.0, np.array([120.0, -40.0])
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = template @ rot.T * scale + shift
    aligned, params = align_to(moved, template, return_params=True)
    np.testing.assert_allclose(aligned, template, atol=1e-9)
    np.testing.assert_allclose(params["scale"], 1 / scale)
    np.testing.assert_allclose(params["rotation"], -theta)
    assert params["rmse"][0] < 1e-9
    nan = align_to(np.full((1, 68, 2), np.nan), template)
    assert np.isnan(nan).all()


def test_mirror_shapes_is_an_involution(faces):
    np.testing.assert_allclose(mirror_shapes(mirror_shapes(faces)), faces)


def test_generalized_procrustes_needs_two_faces(template):
    with pytest.raises(GeofaceError, match="at least 2 finite shapes"):
        generalized_procrustes(template[None])
    mean = generalized_procrustes(np.stack([template, template * 3 + 1]))
    np.testing.assert_allclose(np.sqrt((mean**2).sum()), 1.0)


@needs_helen
def test_built_in_template_rebuilds_from_helen(helen_pts, template):
    from geoface.landmarks import read_pts

    rebuilt = build_template(np.stack([read_pts(p) for p in helen_pts]))
    np.testing.assert_allclose(rebuilt, template, atol=2e-6)


def test_meshes_saved_before_angle_regularisation_keep_their_meaning(mesh, sim):
    from geoface.features import extract_table

    assert mesh.angle_regularisation == 0.01
    old = json.loads(json.dumps(mesh.to_dict()))
    del old["angle_regularisation"]
    old["hash"] = PLAIN_ANGLES_HASH
    legacy = Mesh.from_dict(old)  # an old sidecar: plain angles, old hash
    assert legacy.angle_regularisation == 0.0 and legacy.hash == PLAIN_ANGLES_HASH
    assert Mesh.from_dict(json.loads(json.dumps(legacy.to_dict()))) == legacy
    old_table = extract_table(sim.landmarks[:4], mesh=legacy)
    new_table = extract_table(sim.landmarks[:4])
    with pytest.raises(GeofaceError, match=f"mesh {PLAIN_ANGLES_HASH} differs.*cannot be mixed"):
        new_table.check_compatible(old_table)
    with pytest.raises(GeofaceError, match=r"angle_regularisation=-1\.0 is not a finite number"):
        Mesh(mesh.template, mesh.triangles, angle_regularisation=-1.0)
