"""Vectorised geometry: triangle areas and angles, edge strains, per-face QC.

Angles are regularised so that they are continuous on every face. The plain
angle at a point of a triangle is undefined when another point of the
triangle coincides with it, and on a closed mouth the inner-lip points do
coincide (the 300-W markup and dlib place 61/67, 62/66 and 63/65 on top of
each other), so the plain angles of the inner-mouth triangles jump between 0
and 180 degrees with rounding noise. Each angle is therefore measured on the
triangle whose squared side lengths are ``l**2 + eps**2`` (``l`` in
eye-centre inter-ocular distances whatever ``iod`` is chosen, so that the choice
of IOD rescales areas and strains only; ``eps`` the mesh's
``angle_regularisation``, 0.01 by default). Such lengths always form a
proper triangle, so its angles are smooth functions of the face, sum to 180
degrees, and depend only on side lengths (hence on nothing a similarity
transform or a mirror changes). In closed form, with ``q = (eps * IOD)**2``
(the eye-centre IOD), ``cross`` twice the signed area and
``S`` the sum of the squared sides::

    angle_a = atan2(sqrt(cross**2 + q * S / 2 + 3 * q**2 / 4), (b - a).(c - a) + q / 2)

For a proper triangle (sides of 0.1 IOD and more) this bends the angle by
well under a degree. When two points coincide, the angle at the third goes
to 0 and the two at the coinciding points go to 90 degrees each (exactly
``(180 - angle_at_third) / 2``); when all three coincide, all are 60 degrees.
Areas and strains need no regularisation: a closed mouth has inner-mouth
areas near 0 and inner-lip strains near -1, so open and closed mouths stay
apart.

Everything here is NumPy on blocks of faces (``chunk`` rows at a time, so the
working set stays in cache) with no Python loop over faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._convention import N_LANDMARKS, as_landmarks
from .._errors import GeofaceError
from ..mesh import Mesh
from ..statuses import QC_STATUSES as _QC_STATUSES

__all__ = ["QC_STATUSES", "GeometryResult", "compute_geometry", "edge_lengths"]

#: Per-face statuses this step can give, best first.
QC_STATUSES = _QC_STATUSES  # declared with every other status in geoface.statuses

_RAD2DEG = 180.0 / np.pi


@dataclass(frozen=True)
class GeometryResult:
    """Features and quality measures of a batch of faces.

    Attributes
    ----------
    features : ndarray of shape (n_faces, 4 * n_triangles + n_edges)
        NaN on rows whose ``status`` is not ``"ok"``.
    status : ndarray of str, shape (n_faces,)
        One of :data:`QC_STATUSES`.
    iod : ndarray of shape (n_faces,)
        Inter-ocular distance in input units (pixels).
    roll : ndarray of shape (n_faces,)
        Angle of the eye line in degrees, positive when the subject's left eye
        (image right) is lower in the image.
    shape_rmse : ndarray of shape (n_faces,)
        Root-mean-square distance, in inter-ocular distances, between the
        face after similarity alignment and the mesh template: large values
        point at failed landmark fits or extreme expressions.
    folded : ndarray of shape (n_faces,)
        Number of triangles whose orientation is flipped relative to the
        template by more than the angle regularisation's area scale
        (twice-area below ``-(eps * IOD)**2``): 0 for a well-fitted face;
        collapsed inner-lip triangles of a closed mouth flip by rounding
        noise and are not counted.
    """

    features: np.ndarray
    status: np.ndarray
    iod: np.ndarray
    roll: np.ndarray
    shape_rmse: np.ndarray
    folded: np.ndarray


def edge_lengths(landmarks: np.ndarray, mesh: Mesh, *, iod: str = "centres") -> np.ndarray:
    """Edge lengths in units of each face's inter-ocular distance.

    Parameters
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
    mesh : Mesh
    iod : {"centres", "corners"}, default="centres"

    Returns
    -------
    lengths : ndarray of shape (n_faces, n_edges)
    """
    from .._convention import inter_ocular_distance

    p = as_landmarks(landmarks)
    d = p[:, mesh.edges[:, 1]] - p[:, mesh.edges[:, 0]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.hypot(d[..., 0], d[..., 1]) / inter_ocular_distance(p, iod)[:, None]


class _Plan:
    """Index arrays for one mesh, computed once."""

    def __init__(self, mesh: Mesh):
        self.e0 = np.ascontiguousarray(mesh.edges[:, 0])
        self.e1 = np.ascontiguousarray(mesh.edges[:, 1])
        te = mesh.triangle_edges
        self.t_ab, self.t_ac, self.t_bc = (np.ascontiguousarray(te[:, i]) for i in range(3))
        self.n_tri = mesh.n_triangles
        self.eps = mesh.angle_regularisation
        self.n_edge = mesh.n_edges
        tpl = mesh.template
        ab = tpl[mesh.triangles[:, 1]] - tpl[mesh.triangles[:, 0]]
        ac = tpl[mesh.triangles[:, 2]] - tpl[mesh.triangles[:, 0]]
        self.orientation = np.sign(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
        self.template_c = (tpl[:, 0] - tpl[:, 0].mean()) + 1j * (tpl[:, 1] - tpl[:, 1].mean())
        self.template_ss = float((np.abs(self.template_c) ** 2).sum())


class _Workspace:
    """Scratch arrays for one chunk, allocated once and reused (cache-friendly)."""

    def __init__(self, n_edges: int, n_tri: int, width: int):
        self.vx = np.empty((n_edges, width))
        self.vy = np.empty((n_edges, width))
        self.tmp_e = np.empty((n_edges, width))
        self.tri = [np.empty((n_tri, width)) for _ in range(10)]


def _block(x, y, plan: _Plan, iod_method: str, ref, out, ws: _Workspace):
    """Fill ``out`` (features × faces of one chunk) and return the chunk's QC arrays.

    ``x`` and ``y`` are (68, n_chunk): points along the first axis, so every
    gather below copies whole contiguous rows into preallocated scratch.
    """
    c = x.shape[1]
    cdx = (x[42:48].sum(axis=0) - x[36:42].sum(axis=0)) / 6.0
    cdy = (y[42:48].sum(axis=0) - y[36:42].sum(axis=0)) / 6.0
    if iod_method == "centres":
        dx, dy = cdx, cdy
    else:
        dx = x[45] - x[36]
        dy = y[45] - y[36]
    iod = np.sqrt(dx * dx + dy * dy)
    # the angle regularisation is measured in eye-centre IODs whatever ``iod_method``,
    # so that the choice of IOD rescales areas and strains and leaves angles alone
    iod_reg = np.sqrt(cdx * cdx + cdy * cdy)
    roll = np.arctan2(dy, dx) * _RAD2DEG

    # similarity alignment to the template (closed form, complex numbers):
    # the residual of the best fit, without forming the aligned shape
    zx = x - x.mean(axis=0)
    zy = y - y.mean(axis=0)
    z_ss = np.einsum("ij,ij->j", zx, zx) + np.einsum("ij,ij->j", zy, zy)
    tr, ti = plan.template_c.real, plan.template_c.imag
    cr = tr @ zx + ti @ zy
    ci = ti @ zx - tr @ zy
    with np.errstate(invalid="ignore", divide="ignore"):
        resid_ss = plan.template_ss - (cr * cr + ci * ci) / z_ss
        shape_rmse = np.sqrt(np.maximum(resid_ss, 0.0) / N_LANDMARKS)

    vx, vy, tmp = ws.vx[:, :c], ws.vy[:, :c], ws.tmp_e[:, :c]
    np.take(x, plan.e1, axis=0, out=vx)
    np.take(x, plan.e0, axis=0, out=tmp)
    vx -= tmp
    np.take(y, plan.e1, axis=0, out=vy)
    np.take(y, plan.e0, axis=0, out=tmp)
    vy -= tmp

    abx, aby, acx, acy, bcx, bcy, cross, dot, height, tmp_t = (a[:, :c] for a in ws.tri)
    np.take(vx, plan.t_ab, axis=0, out=abx)
    np.take(vy, plan.t_ab, axis=0, out=aby)
    np.take(vx, plan.t_ac, axis=0, out=acx)
    np.take(vy, plan.t_ac, axis=0, out=acy)
    np.take(vx, plan.t_bc, axis=0, out=bcx)
    np.take(vy, plan.t_bc, axis=0, out=bcy)
    np.multiply(abx, acy, out=cross)
    np.multiply(aby, acx, out=dot)
    cross -= dot
    # q: the squared regularisation length in pixels, one per face
    q = (plan.eps * iod_reg) ** 2
    np.multiply(cross, plan.orientation[:, None], out=dot)
    folded = (dot < -q).sum(axis=0)
    twice_area = np.abs(cross, out=cross)

    t = plan.n_tri
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inv_iod = 1.0 / iod
        np.multiply(twice_area, 0.5 * inv_iod * inv_iod, out=out[:t])
        # the regularised triangle's doubled area (over 2):
        # sqrt(cross**2 + q * S / 2 + 3 q**2 / 4), S the sum of squared sides
        np.square(abx, out=height)
        np.square(aby, out=tmp_t)
        height += tmp_t
        np.square(acx, out=tmp_t)
        height += tmp_t
        np.square(acy, out=tmp_t)
        height += tmp_t
        np.square(bcx, out=tmp_t)
        height += tmp_t
        np.square(bcy, out=tmp_t)
        height += tmp_t
        height *= 0.5 * q
        height += 0.75 * q * q
        np.square(twice_area, out=tmp_t)
        height += tmp_t
        np.sqrt(height, out=height)
        half_q = 0.5 * q
        angles = out[t : 4 * t].reshape(t, 3, -1)
        # angle at a: between ab and ac (acx is scratch once used)
        np.multiply(abx, acx, out=dot)
        np.multiply(aby, acy, out=acx)
        dot += acx
        dot += half_q
        np.arctan2(height, dot, out=angles[:, 0])
        # angle at b: between -ab and bc
        np.multiply(abx, bcx, out=dot)
        np.multiply(aby, bcy, out=acx)
        dot += acx
        np.negative(dot, out=dot)
        dot += half_q
        np.arctan2(height, dot, out=angles[:, 1])
        angles[:, :2] *= _RAD2DEG
        # angle at c: the three sum to 180 degrees
        np.subtract(180.0, angles[:, 0], out=angles[:, 2])
        angles[:, 2] -= angles[:, 1]

        strain = out[4 * t :]
        vx *= vx
        vy *= vy
        vx += vy
        np.sqrt(vx, out=strain)
        strain *= inv_iod
        strain /= ref
        strain -= 1.0
    return iod, roll, shape_rmse, folded


def compute_geometry(
    landmarks: np.ndarray,
    mesh: Mesh,
    *,
    reference_lengths: np.ndarray | None = None,
    iod: str = "centres",
    chunk: int = 1024,
) -> GeometryResult:
    """Compute triangle and edge features for a batch of faces.

    Parameters
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
        Pixel coordinates in the iBUG convention.
    mesh : Mesh
    reference_lengths : ndarray of shape (n_edges,) or (n_faces, n_edges), optional
        Reference edge lengths in inter-ocular distances for the strains; the
        template's edge lengths by default.
    iod : {"centres", "corners"}, default="centres"
        How the inter-ocular distance is measured (see
        :func:`geoface.inter_ocular_distance`).
    chunk : int, default=1024
        Faces per vectorised block.

    Returns
    -------
    GeometryResult

    Notes
    -----
    Areas are in squared IODs; angles are in degrees, regularised by the
    mesh's ``angle_regularisation`` so that they are continuous when points
    of a triangle coincide (see the module docstring); strains are
    dimensionless. All are invariant to translation, rotation and uniform
    scaling, and a mirrored face gives the mirrored features
    (:func:`geoface.features.feature_mirror`).
    """
    if iod not in {"centres", "corners"}:
        raise GeofaceError(
            f"iod={iod!r} is not one of {{'centres', 'corners'}}; "
            "use 'centres' (eye centres) or 'corners' (outer eye corners 36 and 45)"
        )
    p = as_landmarks(landmarks)
    n = len(p)
    plan = _plan_for(mesh)
    if reference_lengths is None:
        template_iod_len = np.hypot(*(mesh.template[plan.e1] - mesh.template[plan.e0]).T)
        if iod == "corners":
            template_iod_len = template_iod_len / np.hypot(*(mesh.template[45] - mesh.template[36]))
        ref = template_iod_len[:, None]
        per_row = False
    else:
        ref = np.asarray(reference_lengths, dtype=float)
        per_row = ref.ndim == 2
        if ref.shape[-1] != plan.n_edge or (per_row and ref.shape[0] != n):
            raise GeofaceError(
                f"reference_lengths has shape {ref.shape}; expected ({plan.n_edge},) "
                f"or ({n}, {plan.n_edge})"
            )
        ref = ref.T if per_row else ref[:, None]

    # points along the first axis: faces are columns, gathers copy whole rows
    x_all = np.ascontiguousarray(p[..., 0].T)
    y_all = np.ascontiguousarray(p[..., 1].T)
    finite = np.isfinite(x_all).all(axis=0) & np.isfinite(y_all).all(axis=0)
    if not finite.all():
        # ±inf would turn into NaN through inf - inf and 0 * inf, each with a NumPy
        # RuntimeWarning; NaN goes through silently, and such faces get their own status
        x_all = np.where(finite, x_all, np.nan)
        y_all = np.where(finite, y_all, np.nan)
    features_t = np.empty((4 * plan.n_tri + plan.n_edge, n), dtype=float)
    iod_arr = np.empty(n)
    roll = np.empty(n)
    rmse = np.empty(n)
    folded = np.empty(n, dtype=np.int64)
    ws = _Workspace(plan.n_edge, plan.n_tri, min(chunk, max(n, 1)))
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        r = ref[:, sl] if per_row else ref
        iod_arr[sl], roll[sl], rmse[sl], folded[sl] = _block(
            x_all[:, sl], y_all[:, sl], plan, iod, r, features_t[:, sl], ws
        )
    # a Fortran-ordered (n_faces, n_features) view: no transposing copy
    features = features_t.T

    with np.errstate(invalid="ignore"):
        spread = np.sqrt(np.var(x_all, axis=0) + np.var(y_all, axis=0))
    with np.errstate(invalid="ignore"):
        degenerate = finite & ~(iod_arr > 1e-6 * spread)
    status = np.full(n, "ok", dtype=object)
    status[degenerate] = "degenerate"
    status[~finite] = "nonfinite_landmarks"
    bad = status != "ok"
    features[bad] = np.nan
    rmse[bad] = np.nan
    folded[bad] = 0
    return GeometryResult(features, status.astype(str), iod_arr, roll, rmse, folded)


_PLANS: dict[str, _Plan] = {}


def _plan_for(mesh: Mesh) -> _Plan:
    plan = _PLANS.get(mesh.hash)
    if plan is None:
        plan = _PLANS[mesh.hash] = _Plan(mesh)
    return plan
