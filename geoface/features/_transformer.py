"""The scikit-learn transformer: landmarks in, mesh features out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .._convention import N_LANDMARKS, landmarks_from_frame
from .._errors import GeofaceError
from ..mesh import Mesh
from ._coords import aligned_coordinates, check_coords
from ._geometry import GeometryResult, compute_geometry
from ._names import feature_names

__all__ = ["FeatureResult", "MeshFeatures"]

_REFERENCES = ("template", "neutral")
_IODS = ("centres", "corners")


@dataclass(frozen=True)
class FeatureResult:
    """Features of a batch of faces with their per-face quality columns.

    Attributes
    ----------
    features : ndarray of shape (n_faces, n_features)
    qc : DataFrame of shape (n_faces, n_qc_columns)
        ``qc_status``, ``qc_iod_px``, ``qc_roll_deg``, ``qc_shape_rmse``,
        ``qc_folded`` and, with ``reference="neutral"``,
        ``qc_reference_fallback`` (True where the subject had no neutral face
        and the template was used instead).
    feature_names : list of str
    """

    features: np.ndarray
    qc: pd.DataFrame
    feature_names: list[str]


def _to_landmarks(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return landmarks_from_frame(X, source="X")
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 2 * N_LANDMARKS:
        # flat rows in the CSV order: x_0..x_67, y_0..y_67
        return np.stack([arr[:, :N_LANDMARKS], arr[:, N_LANDMARKS:]], axis=-1)
    if arr.ndim == 2 and arr.shape == (N_LANDMARKS, 2):
        return arr[None]
    if arr.ndim == 3 and arr.shape[1:] == (N_LANDMARKS, 2):
        return arr
    raise GeofaceError(
        f"X has shape {arr.shape}; expected landmarks (n_faces, 68, 2), flat rows "
        "(n_faces, 136) ordered x_0..x_67, y_0..y_67, or a DataFrame with those columns"
    )


class MeshFeatures(TransformerMixin, BaseEstimator):
    """Turn 68-point landmarks into Delaunay-mesh features.

    For every triangle of the mesh: its area divided by the squared
    inter-ocular distance (IOD) and its three interior angles in degrees; for
    every edge: its strain ``(length / IOD) / (reference length / IOD_ref) - 1``.
    Angles are regularised by the mesh's ``angle_regularisation`` (0.01 IOD)
    so that they stay continuous when points of a triangle coincide, as the
    inner-lip points do on a closed mouth (see
    :func:`geoface.features.compute_geometry`). All features are invariant to
    translation, rotation and uniform scaling of the input, so no alignment
    step is needed before them, and a mirrored face gives the mirrored features.

    Parameters
    ----------
    mesh : "default", "fit", Mesh or dict, default="default"
        ``"default"`` uses the built-in template's mesh; ``"fit"`` builds one
        on the symmetrised Procrustes mean of the landmarks passed to ``fit``
        (e.g. for infant proportions); a :class:`Mesh` or a saved mesh
        description is used as it is.
    reference : {"template", "neutral"}, default="template"
        Reference lengths of the edge strains. ``"neutral"`` uses the mean
        edge lengths of the same subject's neutral faces; it needs subject
        and label for every row (columns of a DataFrame ``X``, or the
        ``subject=`` and ``label=`` arguments of ``transform``). A subject
        with no neutral face falls back to the template and is flagged. Note
        that this picks references by label, so the neutral faces are known
        at test time, as in datasets that record a neutral baseline.
    iod : {"centres", "corners"}, default="centres"
        Eye centres (means of points 36–41 and 42–47) or outer corners (36, 45).
    neutral_label : str, default="neutral"
        The label value that marks a neutral face.
    subject_column, label_column : str, default="subject", "label"
        Where a DataFrame ``X`` keeps subject and label.
    coords : {"none", "aligned"}, default="none"
        ``"aligned"`` adds the Procrustes-aligned landmark coordinates (in the
        template's inter-ocular distances, lateral and vertical; see
        :func:`geoface.features.aligned_coordinates`) after the mesh features.

    Attributes
    ----------
    mesh_ : Mesh
    feature_names_out_ : ndarray of str
    n_features_out_ : int

    Examples
    --------
    >>> from geoface.features import MeshFeatures
    >>> from geoface.simulate import simulate_landmarks
    >>> data = simulate_landmarks(n_subjects=4, random_state=0)
    >>> X = MeshFeatures().fit_transform(data.landmarks)
    >>> X.shape
    (112, 602)
    """

    def __init__(
        self,
        *,
        mesh="default",
        reference: str = "template",
        iod: str = "centres",
        neutral_label: str = "neutral",
        subject_column: str = "subject",
        label_column: str = "label",
        coords: str = "none",
    ):
        self.mesh = mesh
        self.reference = reference
        self.iod = iod
        self.neutral_label = neutral_label
        self.subject_column = subject_column
        self.label_column = label_column
        self.coords = coords

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if self.reference not in _REFERENCES:
            raise GeofaceError(
                f"reference={self.reference!r} is not one of {{'template', 'neutral'}}"
            )
        if self.iod not in _IODS:
            raise GeofaceError(f"iod={self.iod!r} is not one of {{'centres', 'corners'}}")
        check_coords(self.coords)

    def fit(self, X, y=None):
        """Resolve the mesh (building it from ``X`` when ``mesh="fit"``).

        Parameters
        ----------
        X : array-like of shape (n_faces, 68, 2) or (n_faces, 136), or DataFrame
        y : ignored

        Returns
        -------
        self : MeshFeatures
        """
        self._check_params()
        if isinstance(self.mesh, Mesh):
            mesh = self.mesh
        elif isinstance(self.mesh, dict):
            mesh = Mesh.from_dict(self.mesh)
        elif self.mesh == "default":
            mesh = Mesh.default()
        elif self.mesh == "fit":
            mesh = Mesh.fit(_to_landmarks(X))
        else:
            raise GeofaceError(
                f"mesh={self.mesh!r} is not one of {{'default', 'fit'}}, a Mesh or a saved mesh"
            )
        self.mesh_ = mesh
        self.feature_names_out_ = np.asarray(feature_names(mesh, self.coords), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output features (``tri_041_area``, ``edge_087_strain``, …)."""
        if not hasattr(self, "mesh_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("MeshFeatures is not fitted yet; call fit first")
        return self.feature_names_out_.copy()

    # --------------------------------------------------------------- transforming
    def transform(self, X, *, subject=None, label=None) -> np.ndarray:
        """Compute the features.

        Parameters
        ----------
        X : array-like of shape (n_faces, 68, 2) or (n_faces, 136), or DataFrame
            Landmarks; a DataFrame needs columns ``x_0 … x_67, y_0 … y_67``.
        subject, label : array-like of shape (n_faces,), optional
            Needed with ``reference="neutral"`` unless ``X`` is a DataFrame
            holding them.

        Returns
        -------
        features : ndarray of shape (n_faces, n_features_out_)
            NaN on rows whose landmarks are non-finite or degenerate; see
            :meth:`transform_with_qc` for the reasons.
        """
        return self.transform_with_qc(X, subject=subject, label=label).features

    def transform_with_qc(self, X, *, subject=None, label=None) -> FeatureResult:
        """Like :meth:`transform`, and also return the per-face quality columns."""
        if not hasattr(self, "mesh_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("MeshFeatures is not fitted yet; call fit first")
        self._check_params()
        landmarks = _to_landmarks(X)
        result = compute_geometry(landmarks, self.mesh_, iod=self.iod)
        features = result.features
        qc = _qc_frame(result)
        if self.reference == "neutral":
            subject, label = self._subject_and_label(X, subject, label, len(landmarks))
            features, fallback = _neutral_strains(
                features, result, self.mesh_, subject, label, self.neutral_label
            )
            qc["qc_reference_fallback"] = fallback
        if self.coords == "aligned":
            block = aligned_coordinates(landmarks, self.mesh_.template, iod=self.iod)
            block[result.status != "ok"] = np.nan
            features = np.concatenate([features, block], axis=1)
        return FeatureResult(features, qc, list(self.feature_names_out_))

    def _subject_and_label(self, X, subject, label, n):
        if isinstance(X, pd.DataFrame):
            if subject is None and self.subject_column in X.columns:
                subject = X[self.subject_column].to_numpy()
            if label is None and self.label_column in X.columns:
                label = X[self.label_column].to_numpy()
        missing = [name for name, v in (("subject", subject), ("label", label)) if v is None]
        if missing:
            raise GeofaceError(
                f"reference='neutral' needs {' and '.join(missing)} for every face; pass "
                f"{', '.join(m + '=' for m in missing)} or use a table with "
                f"'{self.subject_column}' and '{self.label_column}' columns"
            )
        subject, label = np.asarray(subject), np.asarray(label)
        if len(subject) != n or len(label) != n:
            raise GeofaceError(
                f"subject has {len(subject)} and label {len(label)} values for {n} faces"
            )
        return subject, label


def _qc_frame(result: GeometryResult) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qc_status": result.status,
            "qc_iod_px": result.iod,
            "qc_roll_deg": result.roll,
            "qc_shape_rmse": result.shape_rmse,
            "qc_folded": result.folded,
        }
    )


def _neutral_strains(features, result, mesh, subject, label, neutral_label):
    """Re-reference edge strains to each subject's mean neutral face."""
    t = mesh.n_triangles
    strain = features[:, 4 * t :]
    template_len = np.hypot(*(mesh.template[mesh.edges[:, 1]] - mesh.template[mesh.edges[:, 0]]).T)
    # lengths in IOD units, recovered from the template-referenced strains
    lengths = (strain + 1.0) * template_len
    ok = result.status == "ok"
    subj = pd.Series(subject).astype(str).to_numpy()
    is_neutral = (pd.Series(label).astype(str).to_numpy() == str(neutral_label)) & ok
    refs = pd.DataFrame(lengths[is_neutral]).groupby(subj[is_neutral]).mean()
    has_ref = pd.Index(refs.index).get_indexer(subj)
    fallback = has_ref < 0
    out = np.array(features, dtype=float, order="F")
    rows = ~fallback
    if rows.any():
        ref_rows = refs.to_numpy()[has_ref[rows]]
        out[rows, 4 * t :] = lengths[rows] / ref_rows - 1.0
    return out, fallback
