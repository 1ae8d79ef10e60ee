"""The feature table: one row per face, with its sidecars, read and written safely.

A table at ``features.csv`` (or ``.parquet``) comes with two sidecars:

* ``features.meta.json``: geoface and library versions, the landmarker, the
  options, the mesh (template, triangles, regions) and its hash, and counts
  per ``qc_status``;
* ``features.featuremap.csv``: one row per feature with its kind, vertices,
  region and side (see :func:`geoface.features.feature_map`).

Rows whose landmarks failed are kept, with their ``qc_status`` and empty
features: nothing the user gave disappears.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._errors import GeofaceError
from ..mesh import Mesh
from ..statuses import USABLE_STATUSES as _USABLE_STATUSES
from ._names import feature_map
from ._transformer import MeshFeatures

__all__ = ["USABLE_STATUSES", "FeatureTable", "extract_table", "sidecar_paths"]

#: ``qc_status`` values of rows that have landmarks and features: a single face
#: (``ok``), the largest of several (``multiple_faces``), or a face found by the
#: tight-crop fallback (``fallback_box``).
USABLE_STATUSES = _USABLE_STATUSES  # declared with every other status in geoface.statuses

#: Columns that lead every table, in this order, when present.
LEADING_COLUMNS = ("id", "path", "subject", "label")
_TEXT_COLUMNS = ("id", "path", "subject", "label")


def sidecar_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """Paths of the JSON and feature-map sidecars of the table at ``path``."""
    p = Path(path)
    stem = p.with_suffix("")
    return stem.with_name(stem.name + ".meta.json"), stem.with_name(stem.name + ".featuremap.csv")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise GeofaceError(
        f"feature table {path} has extension {suffix or '(none)'!r}; "
        "use .csv (default, readable in R/Excel) or .parquet"
    )


def _versions() -> dict[str, str]:
    import scipy
    import sklearn

    from .. import __version__

    return {
        "geoface": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }


@dataclass
class FeatureTable:
    """A feature table with its mesh and provenance.

    Attributes
    ----------
    frame : DataFrame
        ``id, path, subject, label, <metadata…>, qc_status, qc_…, <features…>``.
    mesh : Mesh
    info : dict
        The JSON sidecar's content.
    """

    frame: pd.DataFrame
    mesh: Mesh
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return list(self.info["feature_names"])

    @property
    def features(self) -> np.ndarray:
        """Feature matrix of shape (n_rows, n_features), NaN on failed rows."""
        return self.frame[self.feature_names].to_numpy(dtype=float)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the rows with ``qc_status == "ok"``."""
        return (self.frame["qc_status"] == "ok").to_numpy()

    @property
    def usable(self) -> np.ndarray:
        """Boolean mask of the rows with features (``qc_status`` in :data:`USABLE_STATUSES`)."""
        return self.frame["qc_status"].isin(USABLE_STATUSES).to_numpy()

    def qc_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame["qc_status"].value_counts().items()}

    def check_compatible(self, other: FeatureTable | Mesh | str) -> None:
        """Refuse (one-line error) a table, mesh or hash from another mesh."""
        theirs = (
            other
            if isinstance(other, str)
            else (other.hash if isinstance(other, Mesh) else other.mesh.hash)
        )
        if theirs != self.mesh.hash:
            raise GeofaceError(
                f"mesh {theirs} differs from this table's mesh {self.mesh.hash}; features "
                "from different meshes cannot be mixed: re-extract both with the same mesh"
            )

    # --------------------------------------------------------------------- I/O
    def write(self, path: str | os.PathLike) -> Path:
        """Write the table and its two sidecars, each atomically; return the table path."""
        path = Path(path)
        fmt = _format_of(path)
        meta_path, map_path = sidecar_paths(path)
        info = dict(self.info)
        info.update(
            {
                "table": path.name,
                "format": fmt,
                "feature_map": map_path.name,
                "n_rows": len(self.frame),
                "qc_counts": self.qc_counts(),
                "mesh_hash": self.mesh.hash,
                "mesh": self.mesh.to_dict(),
            }
        )
        self.info = info
        with atomic_path(map_path) as tmp:
            feature_map(self.mesh).to_csv(tmp, index=False)
        with atomic_path(meta_path) as tmp:
            tmp.write_text(json.dumps(info, indent=1, default=str) + "\n", encoding="utf-8")
        with atomic_path(path) as tmp:
            if fmt == "csv":
                self.frame.to_csv(tmp, index=False, float_format="%.10g")
            else:
                self.frame.to_parquet(tmp, index=False)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> FeatureTable:
        """Read a table written by :meth:`write`, checking it against its sidecar."""
        path = Path(path)
        fmt = _format_of(path)
        meta_path, _ = sidecar_paths(path)
        if not path.exists():
            raise GeofaceError(f"feature table {path} does not exist")
        if not meta_path.exists():
            raise GeofaceError(
                f"{path} has no sidecar {meta_path.name}; a geoface feature table needs it "
                "(re-run 'geoface extract')"
            )
        try:
            info = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GeofaceError(f"cannot read {meta_path}: {exc}") from None
        if not isinstance(info, dict) or not isinstance(info.get("mesh"), dict):
            raise GeofaceError(
                f"{meta_path} has no mesh entry; the sidecar is damaged or was edited "
                "(re-run 'geoface extract' to write the table and its sidecar again)"
            )
        mesh = Mesh.from_dict(info["mesh"])
        if fmt == "csv":
            frame = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=True)
        else:
            frame = pd.read_parquet(path)
        missing = [c for c in info.get("feature_names", []) if c not in frame.columns]
        if missing or "qc_status" not in frame.columns:
            what = missing[:3] if missing else ["qc_status"]
            raise GeofaceError(
                f"{path} lacks columns {what} that its sidecar lists; the table was edited "
                "or belongs to another sidecar"
            )
        return cls(frame=frame, mesh=mesh, info=info)


def _ordered_meta(meta: pd.DataFrame | None, n: int) -> pd.DataFrame:
    meta = pd.DataFrame(index=range(n)) if meta is None else meta.reset_index(drop=True).copy()
    if len(meta) != n:
        raise GeofaceError(f"metadata has {len(meta)} rows for {n} faces")
    reserved = [c for c in meta.columns if str(c).startswith(("qc_", "tri_", "edge_"))]
    if reserved:
        raise GeofaceError(
            f"input columns {reserved[:3]} use the prefixes geoface reserves "
            "(qc_, tri_, edge_); rename them"
        )
    if "id" not in meta.columns:
        width = max(5, len(str(n)))
        meta.insert(0, "id", [f"face_{i:0{width}d}" for i in range(n)])
    ids = meta["id"].astype(str)
    if ids.isna().any() or (ids.str.strip() == "").any():
        raise GeofaceError("the id column has empty values; give every face an id")
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise GeofaceError(
            f"the id column repeats {len(dup)} value(s), e.g. {list(dup[:3])}; ids must be unique"
        )
    meta["id"] = ids
    lead = [c for c in LEADING_COLUMNS if c in meta.columns]
    return meta[lead + [c for c in meta.columns if c not in lead]]


def _check_qc(qc: pd.DataFrame, n: int) -> pd.DataFrame:
    qc = qc.reset_index(drop=True)
    if len(qc) != n:
        raise GeofaceError(f"qc has {len(qc)} rows for {n} faces")
    if "qc_status" not in qc.columns:
        raise GeofaceError("qc lacks the column qc_status")
    bad = [c for c in qc.columns if not str(c).startswith("qc_")]
    computed = [c for c in qc.columns if c in _GEOMETRY_QC]
    if bad or computed:
        raise GeofaceError(
            f"qc columns {(bad or computed)[:3]} are not allowed: qc holds only qc_… columns "
            f"and not those geoface computes ({', '.join(_GEOMETRY_QC)})"
        )
    return qc


_GEOMETRY_QC = ("qc_iod_px", "qc_roll_deg", "qc_shape_rmse", "qc_folded", "qc_reference_fallback")


def extract_table(
    landmarks: np.ndarray,
    meta: pd.DataFrame | None = None,
    *,
    qc: pd.DataFrame | None = None,
    mesh="default",
    reference: str = "template",
    iod: str = "centres",
    neutral_label: str = "neutral",
    landmarker: str = "file",
    source: str | None = None,
) -> FeatureTable:
    """Build a feature table from landmarks and their metadata.

    Parameters
    ----------
    landmarks : ndarray of shape (n_faces, 68, 2)
    meta : DataFrame of shape (n_faces, n_columns), optional
        Carried to the table unchanged (``id`` is made when absent).
    qc : DataFrame of shape (n_faces, n_qc_columns), optional
        Quality columns from an earlier step (e.g. image-level detection QC
        from :func:`geoface.landmarks.detect_landmarks`): ``qc_status`` and
        other ``qc_…`` columns. Its ``qc_status`` takes precedence over the
        geometry's (a face that was not found stays ``no_face``, not
        ``nonfinite_landmarks``), except that a geometry failure replaces a
        status that still had landmarks (``ok``, ``multiple_faces``,
        ``fallback_box``). Rows whose final status is not one of
        :data:`USABLE_STATUSES` get empty features. The other columns follow
        the geometry's QC columns.
    mesh, reference, iod, neutral_label
        As for :class:`MeshFeatures`.
    landmarker : str, default="file"
        Recorded in the sidecar: where the landmarks came from.
    source : str, optional
        Recorded in the sidecar: the input file.

    Returns
    -------
    FeatureTable
    """
    landmarks = np.asarray(landmarks, dtype=float)
    meta = _ordered_meta(meta, len(landmarks))
    if qc is not None:
        qc = _check_qc(qc, len(landmarks))
        given = qc["qc_status"].astype(str).to_numpy()
    transformer = MeshFeatures(mesh=mesh, reference=reference, iod=iod, neutral_label=neutral_label)
    fit_on = landmarks
    if mesh == "fit":
        keep = np.isfinite(landmarks).all(axis=(1, 2))
        if qc is not None:
            keep &= np.isin(given, USABLE_STATUSES)
        fit_on = landmarks[keep]
    transformer.fit(fit_on)
    subject = meta["subject"].to_numpy() if "subject" in meta.columns else None
    label = meta["label"].to_numpy() if "label" in meta.columns else None
    result = transformer.transform_with_qc(
        landmarks, **({"subject": subject, "label": label} if reference == "neutral" else {})
    )
    features = result.features
    quality = result.qc
    if qc is not None:
        geometry = quality["qc_status"].to_numpy()
        had_landmarks = np.isin(given, USABLE_STATUSES)
        status = np.where(had_landmarks & (geometry != "ok"), geometry, given)
        quality = quality.assign(qc_status=status)
        quality = pd.concat([quality, qc.drop(columns=["qc_status"])], axis=1)
        unusable = ~np.isin(status, USABLE_STATUSES)
        if unusable.any():
            features = np.array(features, dtype=float)
            features[unusable] = np.nan
    feats = pd.DataFrame(features, columns=result.feature_names)
    frame = pd.concat([meta, quality, feats], axis=1)
    info = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "landmarker": landmarker,
        "options": {
            "mesh": mesh if isinstance(mesh, str) else "custom",
            "reference": reference,
            "iod": iod,
            "neutral_label": neutral_label,
        },
        "units": {
            "area": "triangle area / IOD^2",
            "angle": "degrees",
            "strain": "(length/IOD) / (reference length/IOD_ref) - 1",
        },
        "versions": _versions(),
        "feature_names": result.feature_names,
    }
    return FeatureTable(frame=frame, mesh=transformer.mesh_, info=info)
