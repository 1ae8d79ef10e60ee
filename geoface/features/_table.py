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

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import replace_together, temp_sibling_file
from .._errors import GeofaceError
from ..labels import normalise_labels
from ..mesh import Mesh
from ..statuses import USABLE_STATUSES as _USABLE_STATUSES
from ._names import coords_of, feature_map
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
        """Write the table and its two sidecars together; return the table path.

        The three files are written under temporary names first, then renamed
        into place one after the other with interrupts held back. The sidecar
        records the SHA-256 of the table and of the feature map, so a reader
        (:meth:`read`) recognises a table and sidecars that do not belong
        together (a process killed between two renames) and refuses them.
        """
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
        tmps: list[Path] = []
        try:
            for final in (map_path, path, meta_path):
                tmps.append(temp_sibling_file(final))
            tmp_map, tmp_table, tmp_meta = tmps
            feature_map(self.mesh, coords_of(self.feature_names)).to_csv(tmp_map, index=False)
            if fmt == "csv":
                self.frame.to_csv(tmp_table, index=False, float_format="%.10g")
            else:
                self.frame.to_parquet(tmp_table, index=False)
            info["content_sha256"] = {
                "table": _sha256(tmp_table),
                "feature_map": _sha256(tmp_map),
            }
            # what this write replaces: a reader that finds these beside the new sidecar
            # knows the write was cut short
            info["replaces_sha256"] = {
                "table": _sha256(path) if path.is_file() else None,
                "feature_map": _sha256(map_path) if map_path.is_file() else None,
            }
            tmp_meta.write_text(json.dumps(info, indent=1, default=str) + "\n", encoding="utf-8")
            # every file is complete: rename the three into place as one step, the sidecar
            # first, so that a process killed in between leaves a state the reader recognises
            replace_together([(tmp_meta, meta_path), (tmp_map, map_path), (tmp_table, path)])
        except BaseException:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)
            raise
        self.info = info
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
        _check_content(path, info)
        mesh = Mesh.from_dict(info["mesh"])
        if fmt == "csv":
            frame = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=True)
        else:
            frame = pd.read_parquet(path)
        if "label" in frame.columns:
            normalised, changes = normalise_labels(frame["label"])
            if changes:  # a table edited by hand, or written before the rule
                frame["label"] = normalised
                info["label_normalised_on_read"] = changes
        missing = [c for c in info.get("feature_names", []) if c not in frame.columns]
        if missing or "qc_status" not in frame.columns:
            what = missing[:3] if missing else ["qc_status"]
            raise GeofaceError(
                f"{path} lacks columns {what} that its sidecar lists; the table was edited "
                "or belongs to another sidecar"
            )
        return cls(frame=frame, mesh=mesh, info=info)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_content(path: Path, info: dict) -> None:
    """Refuse a table (or feature map) that a cut-short write left beside a newer sidecar.

    :meth:`FeatureTable.write` renames the sidecar first, then the feature map,
    then the table, and records the hashes of the files it replaces. A table
    or feature map whose hash is one of those replaced is the old one beside
    the new sidecar: refused. A table whose hash is neither the recorded nor a
    replaced one was edited after it was written, and is read as it is (its
    columns are checked against the sidecar). Tables written before the hashes
    were recorded carry none and are read as they are.
    """
    recorded = info.get("content_sha256") if isinstance(info, dict) else None
    replaced = info.get("replaces_sha256") if isinstance(info, dict) else None
    if not isinstance(recorded, dict) or not isinstance(replaced, dict):
        return
    meta_path, map_path = sidecar_paths(path)
    for key, file in (("table", path), ("feature_map", map_path)):
        old = replaced.get(key)
        if not old or old == recorded.get(key) or not file.is_file():
            continue
        if _sha256(file) == old:
            raise GeofaceError(
                f"{file} does not match its sidecar {meta_path.name}: it is the file an "
                "interrupted write was replacing, beside that write's sidecar (another mesh "
                "or other options); re-run 'geoface extract' to write them again"
            )


def _ordered_meta(meta: pd.DataFrame | None, n: int) -> pd.DataFrame:
    meta = pd.DataFrame(index=range(n)) if meta is None else meta.reset_index(drop=True).copy()
    if len(meta) != n:
        raise GeofaceError(f"metadata has {len(meta)} rows for {n} faces")
    reserved = [c for c in meta.columns if str(c).startswith(("qc_", "tri_", "edge_", "pt_"))]
    if reserved:
        raise GeofaceError(
            f"input columns {reserved[:3]} use the prefixes geoface reserves "
            "(qc_, tri_, edge_, pt_); rename them"
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


_GEOMETRY_QC = (
    "qc_iod_px",
    "qc_roll_deg",
    "qc_shape_rmse",
    "qc_folded",
    "qc_reference_fallback",
    "qc_relative_fallback",
)


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
    relative: str = "none",
    relative_by: str = "subject",
    relative_order: str | None = None,
    relative_mark: str | None = None,
    coords: str = "none",
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
    relative : {"none", "auto", "mean", "first", "marked", "quiet"}, default="none"
        Person-specific reference (see :mod:`geoface.features._reference`):
        every feature becomes its difference from the reference of the row's
        ``relative_by`` group, never the row itself. ``mean``: the mean of the
        group's other faces; ``first``: the group's first face by
        ``relative_order``; ``marked``: the faces ``relative_mark`` marks;
        ``quiet``: a track's quietest frames (ordered by ``relative_order``).
        ``auto`` is ``mean`` when the table has a ``relative_by`` column and
        some group has two usable faces, else ``none``. Rows without a
        reference of their own use the mesh template's features and get
        ``qc_relative_fallback`` True. Recorded in the sidecar.
    relative_by, relative_order, relative_mark : str
        The grouping column (subject, session, sequence, track), the column
        ordering a group for ``first`` and the boolean column for ``marked``.
    coords : {"none", "aligned"}, default="none"
        ``"aligned"`` adds the Procrustes-aligned landmark coordinates after
        the mesh features (see :class:`MeshFeatures`); with ``relative`` they
        too become displacements from the person's reference. Recorded in
        the sidecar.

    Returns
    -------
    FeatureTable
    """
    landmarks = np.asarray(landmarks, dtype=float)
    meta = _ordered_meta(meta, len(landmarks))
    label_changes: dict[str, str] = {}
    if "label" in meta.columns:
        original = meta["label"].to_numpy(dtype=object)
        normalised, label_changes = normalise_labels(original)
        if label_changes:
            meta["label"] = normalised
            counts = pd.Series(original).value_counts()
            label_counts = {k: int(counts.get(k, 0)) for k in label_changes}
    if qc is not None:
        qc = _check_qc(qc, len(landmarks))
        given = qc["qc_status"].astype(str).to_numpy()
    transformer = MeshFeatures(
        mesh=mesh, reference=reference, iod=iod, neutral_label=neutral_label, coords=coords
    )
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
    usable = np.isin(quality["qc_status"].to_numpy(), USABLE_STATUSES)
    relative, rel_info = _resolve_relative(relative, relative_by, meta, usable)
    if relative != "none":
        rule = (relative, relative_by, relative_order, relative_mark)
        features, fallback = _make_relative(features, meta, usable, transformer, *rule)
        quality = quality.assign(qc_relative_fallback=fallback)
        rel_info["n_fallback"] = int(fallback.sum())
    rel_info.update(
        {"rule": relative, "by": relative_by, "order": relative_order, "mark": relative_mark}
    )
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
            "coords": coords,
            "relative": rel_info,
        },
        "units": {
            "area": "triangle area / IOD^2",
            "angle": "degrees",
            "strain": "(length/IOD) / (reference length/IOD_ref) - 1",
            **({"coord": "template IOD (Procrustes-aligned)"} if coords == "aligned" else {}),
        },
        "versions": _versions(),
        "feature_names": result.feature_names,
    }
    if label_changes:
        info["label_normalised"] = {
            "rule": "stripped, inner spaces collapsed, lower case",
            "changed": label_changes,
            "rows": label_counts,
        }
    return FeatureTable(frame=frame, mesh=transformer.mesh_, info=info)


_RELATIVE_CHOICES = ("none", "auto", "mean", "first", "marked", "quiet")


def _resolve_relative(relative: str, by: str, meta: pd.DataFrame, usable: np.ndarray):
    """The rule ``auto`` stands for here, and why (for the sidecar)."""
    if relative not in _RELATIVE_CHOICES:
        raise GeofaceError(
            f"relative={relative!r} is not one of {set(_RELATIVE_CHOICES)}; pick one "
            "('none' keeps the features absolute)"
        )
    if relative != "auto":
        if relative != "none" and by not in meta.columns:
            raise GeofaceError(
                f"relative={relative!r} groups faces by {by!r}, which is not a column; choose "
                f"one of {list(meta.columns)} with --relative-by, or --relative none"
            )
        return relative, {"asked": relative}
    if by not in meta.columns:
        return "none", {"asked": "auto", "why": f"no {by!r} column"}
    sizes = meta.loc[usable, by].astype(str).value_counts()
    if not (sizes >= 2).any():
        return "none", {"asked": "auto", "why": f"no {by} has two usable faces"}
    return "mean", {"asked": "auto", "why": f"{by} column with several faces per {by}"}


def _make_relative(features, meta, usable, transformer, rule, by, order, mark):
    from ._reference import reference_mask, relative_to_reference

    template = transformer.mesh_.template[None]
    plain = MeshFeatures(mesh=transformer.mesh_, iod=transformer.iod, coords=transformer.coords)
    plain = plain.fit(template)
    fallback = plain.transform(template)[0]
    is_ref = reference_mask(
        meta, rule, group=by, order=order, mark=mark, usable=usable, features=features
    )
    groups = meta[by].where(meta[by].notna(), None).to_numpy()
    res = relative_to_reference(features, groups, is_ref, fallback=fallback, usable=usable)
    return res.features, res.fallback
