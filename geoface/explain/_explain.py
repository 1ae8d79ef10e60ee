"""Explaining a run: out-of-fold SHAP values for every usable face of its table.

By default each face is explained by the model of the fold that did **not**
train on it — the same model that made its out-of-fold prediction — so the
explanations describe what the model learnt from *other* subjects, never a
memorised face. ``final=True`` explains every face with the model refitted
on all faces instead (the one ``geoface predict`` uses).

Early-fusion runs (``geoface fuse --method concat``) are explained the same
way: fold ``k``'s XGBoost model reads the geometric features and the CNN
embedding components that fold ``k``'s PCA made from fold ``k``'s network
(stored in the run's ``model/embedding_pca.npz``); the components are
attributed to one pseudo-region, ``cnn``, beside the facial regions.
Late-fusion runs combine other runs' probabilities and have no features of
their own, so they are refused (:func:`check_explainable`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import GeofaceError
from ..mesh import Mesh
from ..metrics import label_strings
from ._engines import (
    SPACE_DESCRIPTIONS,
    explain_estimator,
    resolve_explainer,
    space_of,
    summarise_background,
)
from ._hierarchy import REGION_TREE, FeatureHierarchy

__all__ = [
    "DEFAULT_MAX_ROWS",
    "REGION_CHUNK_ROWS",
    "Explanation",
    "RegionExplanation",
    "check_explainable",
    "explain_run",
    "run_table",
]

#: Faces explained at a time with ``region_sums_only`` (each chunk reduced to regions at once).
REGION_CHUNK_ROWS = 10_000

#: Faces the partition explainer explains at most unless told otherwise (its cost).
DEFAULT_MAX_ROWS: dict[str, int | None] = {"tree": None, "linear": None, "partition": 300}


@dataclass
class Explanation:
    """SHAP values of a run's model on a set of faces, with what is needed to read them.

    Attributes
    ----------
    values : ndarray of shape (n_faces, n_features, n_classes)
        SHAP values in :attr:`space`. A class the explaining model never saw
        (absent from its training fold) has NaN values in margin, logit and
        decision space and zeros in probability space (its probability is 0).
    base_values : ndarray of shape (n_faces, n_classes)
        ``values.sum(axis=1) + base_values`` is the model's output.
    features : ndarray of shape (n_faces, n_features)
        The explained feature values.
    ids, subjects, labels : ndarray of str, shape (n_faces,)
        ``labels`` holds the true class ("" when unknown).
    folds : ndarray of int, shape (n_faces,)
        The fold whose model explained each face (-1: the final model).
    feature_names : list of str
        Mesh features, then the aligned landmark coordinates of a table
        extracted with ``--coords aligned``, then an early-fusion run's
        embedding components; :attr:`hierarchy` places each by the feature map.
    classes : list of str
    mesh : Mesh
    info : dict
        Explainer, space, model, mode, counts, cost and timings, and the
        feature kinds explained (``feature_kinds``) (``explain.json``).
    """

    values: np.ndarray
    base_values: np.ndarray
    features: np.ndarray
    ids: np.ndarray
    subjects: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    feature_names: list
    classes: list
    mesh: Mesh
    info: dict = field(default_factory=dict)

    @property
    def n_faces(self) -> int:
        return len(self.ids)

    @property
    def space(self) -> str:
        return str(self.info.get("space", "probability"))

    @cached_property
    def hierarchy(self) -> FeatureHierarchy:
        """Features → elements (triangles, edges, points) → regions, from the feature names."""
        extra = self.info.get("extra_regions") or {}
        names = self.feature_names
        if names is not None:
            pseudo = {str(n) for v in extra.values() for n in v}
            names = [str(n) for n in names if str(n) not in pseudo]
        return FeatureHierarchy(self.mesh, extra=extra, features=names)

    @property
    def output(self) -> np.ndarray:
        """The model's output in :attr:`space`: shape (n_faces, n_classes)."""
        return self.values.sum(axis=1) + self.base_values

    @property
    def predicted(self) -> np.ndarray:
        """Index of each face's predicted class (largest output): shape (n_faces,)."""
        out = np.where(np.isnan(self.output), -np.inf, self.output)
        return out.argmax(axis=1)

    def class_index(self, name: str) -> int:
        """Index of class ``name``; a one-line error lists the classes."""
        if name not in self.classes:
            raise GeofaceError(f"class {name!r} is not one of the run's classes {self.classes}")
        return self.classes.index(name)

    def element_values(self) -> np.ndarray:
        """Values summed into triangles and edges: shape (n_faces, n_elements, n_classes)."""
        return self.hierarchy.to_elements(self.values)

    def region_values(self) -> np.ndarray:
        """Values summed into regions: shape (n_faces, n_regions, n_classes)."""
        return self.hierarchy.to_regions(self.values)

    # --------------------------------------------------------------------- I/O
    def write(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``shap_values.npz`` and ``explain.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        from ..runs import write_json

        np.savez_compressed(
            folder / "shap_values.npz",
            values=self.values,
            base_values=self.base_values,
            features=self.features,
            ids=self.ids.astype(str),
            subjects=self.subjects.astype(str),
            labels=self.labels.astype(str),
            folds=self.folds.astype(int),
            feature_names=np.asarray(self.feature_names, dtype=str),
            classes=np.asarray(self.classes, dtype=str),
        )
        write_json(folder / "explain.json", {**self.info, "mesh": self.mesh.to_dict()})
        return [folder / "shap_values.npz", folder / "explain.json"]

    @classmethod
    def read(cls, folder: str | os.PathLike) -> Explanation | RegionExplanation:
        """Read an explanation written by :meth:`write` (``geoface explain --out``).

        A folder written with region sums only (``geoface explain
        --region-sums-only``) is read as a :class:`RegionExplanation`.
        """
        folder = Path(folder)
        npz, doc = folder / "shap_values.npz", folder / "explain.json"
        if not npz.exists() and (folder / REGION_VALUES_FILE).exists():
            return RegionExplanation.read(folder)
        if not npz.exists() or not doc.exists():
            raise GeofaceError(
                f"{folder} is not a geoface explanation (needs shap_values.npz and explain.json)"
            )
        info = json.loads(doc.read_text(encoding="utf-8"))
        mesh = Mesh.from_dict(info.pop("mesh"))
        with np.load(npz, allow_pickle=False) as z:
            return cls(
                values=z["values"],
                base_values=z["base_values"],
                features=z["features"],
                ids=z["ids"],
                subjects=z["subjects"],
                labels=z["labels"],
                folds=z["folds"],
                feature_names=z["feature_names"].tolist(),
                classes=z["classes"].tolist(),
                mesh=mesh,
                info=info,
            )


#: The file of an explanation kept as region sums only.
REGION_VALUES_FILE = "region_values.npz"


@dataclass
class RegionExplanation:
    """SHAP values of a run's model summed by facial region, per face (per-feature values not kept).

    What ``explain_run(..., region_sums_only=True)`` returns and ``geoface
    explain --region-sums-only`` writes (``region_values.npz``): enough for
    :func:`geoface.explain.region_table` and
    :func:`geoface.evaluate.region_contributions_over_time` (the region × time
    heat map) on hours of frames.

    Attributes
    ----------
    region_sums : ndarray of shape (n_faces, n_regions, n_classes)
        Regions in ``hierarchy.regions`` order.
    base_values : ndarray of shape (n_faces, n_classes)
    ids, subjects, labels : ndarray of str, shape (n_faces,)
    folds : ndarray of int, shape (n_faces,)
    classes : list of str
    mesh : Mesh
    info : dict
    feature_names : list of str, optional
        The explained columns (what the regions were summed from, for
        :attr:`hierarchy`); None: the mesh's features only.
    """

    region_sums: np.ndarray
    base_values: np.ndarray
    ids: np.ndarray
    subjects: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    classes: list
    mesh: Mesh
    info: dict = field(default_factory=dict)
    feature_names: list | None = None

    n_faces = Explanation.n_faces
    space = Explanation.space
    class_index = Explanation.class_index
    predicted = Explanation.predicted
    hierarchy = Explanation.hierarchy

    @property
    def output(self) -> np.ndarray:
        """The model's output in :attr:`space`: shape (n_faces, n_classes)."""
        return self.region_sums.sum(axis=1) + self.base_values

    def region_values(self) -> np.ndarray:
        """Values summed into regions: shape (n_faces, n_regions, n_classes)."""
        return self.region_sums

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``region_values.npz`` and ``explain.json`` into ``folder``."""
        from ..runs import write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            folder / REGION_VALUES_FILE,
            region_sums=self.region_sums,
            base_values=self.base_values,
            ids=self.ids.astype(str),
            subjects=self.subjects.astype(str),
            labels=self.labels.astype(str),
            folds=self.folds.astype(int),
            regions=np.asarray(self.hierarchy.regions, dtype=str),
            classes=np.asarray(self.classes, dtype=str),
            **(
                {"feature_names": np.asarray(self.feature_names, dtype=str)}
                if self.feature_names is not None
                else {}
            ),
        )
        write_json(folder / "explain.json", {**self.info, "mesh": self.mesh.to_dict()})
        return [folder / REGION_VALUES_FILE, folder / "explain.json"]

    @classmethod
    def read(cls, folder: str | os.PathLike) -> RegionExplanation:
        """Read what :meth:`write` wrote."""
        folder = Path(folder)
        npz, doc = folder / REGION_VALUES_FILE, folder / "explain.json"
        if not npz.exists() or not doc.exists():
            raise GeofaceError(
                f"{folder} is not a geoface explanation of region sums (needs "
                f"{REGION_VALUES_FILE} and explain.json)"
            )
        info = json.loads(doc.read_text(encoding="utf-8"))
        mesh = Mesh.from_dict(info.pop("mesh"))
        with np.load(npz, allow_pickle=False) as z:
            out = cls(
                region_sums=z["region_sums"],
                base_values=z["base_values"],
                ids=z["ids"],
                subjects=z["subjects"],
                labels=z["labels"],
                folds=z["folds"],
                classes=z["classes"].tolist(),
                mesh=mesh,
                info=info,
                feature_names=z["feature_names"].tolist() if "feature_names" in z else None,
            )
            if z["regions"].tolist() != list(out.hierarchy.regions):
                raise GeofaceError(f"{npz} names other regions than its mesh gives")
        return out


def check_explainable(run) -> None:
    """Refuse, in one line, a run that has no features of its own (a late-fusion run)."""
    info = run.info
    if info.get("kind") == "fusion" and info.get("method") != "concat":
        names = ", ".join(str(d.get("path", d.get("name"))) for d in info.get("inputs", []))
        raise GeofaceError(
            f"{run.path} is a late-fusion run ({info.get('method')}): it combines other runs' "
            f"probabilities and has no features of its own to explain; explain its inputs "
            f"instead ({names})"
        )


class _Embedding:
    """The CNN embedding columns of an early-fusion run, per fold (``embedding_pca.npz``)."""

    def __init__(self, run):
        entry = run.model_info["embedding"]
        from ..runs import MODEL_DIR

        path = run.path / MODEL_DIR / entry["file"]
        if not path.exists():
            raise GeofaceError(f"{path} is missing; the fused run is incomplete")
        with np.load(path, allow_pickle=False) as z:
            self.reduced = z["reduced"]
            self.folds = z["folds"].astype(int)
            ids = z["ids"].astype(str)
        self.names = [str(n) for n in entry["names"]]
        self.region = str(entry.get("region", "cnn"))
        self.index = pd.Series(np.arange(len(ids)), index=ids)

    def has(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(pd.Index(ids).isin(self.index.index))

    def columns(self, fold: int, ids: np.ndarray) -> np.ndarray:
        """Fold ``fold``'s components of faces ``ids``: shape (len(ids), n_components)."""
        slot = np.flatnonzero(self.folds == fold)
        if len(slot) == 0:
            raise GeofaceError(f"the fused run has no embedding slice for fold {fold}")
        return self.reduced[slot[0]][self.index.reindex(ids).to_numpy()].astype(float)


def run_table(run, table=None, table_path: str | None = None):
    """The feature table to explain: the one given, or the one the run was fitted on.

    Returns
    -------
    table : FeatureTable
    path : str or None
        Where it was read from (``table_path`` for a given table).
    """
    from ..features import FeatureTable

    if table is not None:
        return table, table_path
    recorded = (run.info.get("table") or {}).get("path")
    if not recorded:
        raise GeofaceError(
            f"run {run.path} does not record its feature table; give it with --features"
        )
    candidates = [Path(recorded)]
    if not Path(recorded).is_absolute():
        candidates.append(run.path.parent / recorded)
    for cand in candidates:
        if cand.exists():
            return FeatureTable.read(cand), str(cand)
    raise GeofaceError(
        f"the run's feature table {recorded} was not found (it is relative to where 'fit' ran); "
        "give it with --features"
    )


def _column(frame: pd.DataFrame, oof: pd.DataFrame, name: str | None, ids: np.ndarray):
    if name and name in frame.columns:  # class names as fit made them ("1", not "1.0")
        values = label_strings(frame[name])
        return np.where(pd.isna(values), "", values).astype(str)
    if name and name in oof.columns:
        col = oof.set_index("id")[name].reindex(ids)
        return np.where(col.isna(), "", col.astype(str)).astype(str)
    return np.full(len(ids), "", dtype=object).astype(str)


def _row_status(frame: pd.DataFrame, X: np.ndarray, oof: pd.DataFrame, *, final: bool):
    """Why each row can or cannot be explained, its explaining fold and its CV fold.

    Returns
    -------
    status : ndarray of object, shape (n_rows,)
        ``ok``, ``qc_<status>``, ``nonfinite_features`` or ``no_fold``.
    fold : ndarray of int, shape (n_rows,)
        The fold whose model explains the row (-1: the final model).
    trained : ndarray of float, shape (n_rows,)
        The row's fold in the run's cross-validation (NaN: it took no part).
    """
    status = np.full(len(frame), "ok", dtype=object)
    qc = frame["qc_status"].astype(str).to_numpy()
    status[qc != "ok"] = np.char.add("qc_", qc[qc != "ok"].astype(str))
    status[(status == "ok") & ~np.isfinite(X).all(axis=1)] = "nonfinite_features"
    oof_fold = oof.set_index(oof["id"].astype(str))["fold"]
    ids = frame["id"].astype(str)
    trained = ids.map(oof_fold).to_numpy(dtype=float, na_value=np.nan)
    if final:
        return status, np.full(len(frame), -1), trained
    status[(status == "ok") & np.isnan(trained)] = "no_fold"
    return status, np.where(np.isnan(trained), -1, trained).astype(int), trained


def _cap_rows(status: np.ndarray, cap: int | None, seed: int, say, method: str) -> None:
    """Mark all but a seeded random ``cap`` of the explainable rows ``over_max_rows``."""
    candidates = np.flatnonzero(status == "ok")
    if cap is None or len(candidates) <= cap:
        return
    keep = np.sort(np.random.default_rng(seed).choice(candidates, size=cap, replace=False))
    status[np.setdiff1d(candidates, keep)] = "over_max_rows"
    say(
        f"explaining {cap} of {len(candidates)} faces (a seeded random subset: the "
        f"{method} explainer's cap; --max-rows 0 explains all)"
    )


def _feature_kinds(hierarchy: FeatureHierarchy) -> dict:
    """What was explained: counts of mesh features, aligned coordinates and embedding columns."""
    kinds = hierarchy.feature_kinds
    groups = {
        "mesh": sum(kinds.get(k, 0) for k in ("area", "angle", "strain")),
        "coords": kinds.get("coord", 0),
        "embedding": kinds.get("embedding", 0),
    }
    words = {
        "mesh": "mesh features (triangles and edges)",
        "coords": "aligned landmark coordinates (each in its point's region and side)",
        "embedding": "CNN embedding components (pseudo-region)",
    }
    return {
        **{k: n for k, n in groups.items() if n},
        "by_kind": kinds,
        "summary": " + ".join(f"{n} {words[k]}" for k, n in groups.items() if n),
    }


def explain_run(
    run,
    table=None,
    *,
    final: bool = False,
    explainer: str = "auto",
    background: int = 20,
    max_evals: int = 300,
    max_rows: int | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    table_path: str | None = None,
    progress=None,
    region_sums_only: bool = False,
    chunk_rows: int | None = None,
) -> Explanation | RegionExplanation:
    """SHAP values of a run's model(s) on the faces of a feature table.

    Parameters
    ----------
    run : Run or path-like
        A ``geoface fit`` run directory.
    table : FeatureTable, optional
        Faces to explain; by default the table the run was fitted on
        (``run.json``'s ``table.path``). It must be built on the run's mesh
        with the run's features.
    final : bool, default=False
        Explain every face with the refitted final model instead of the
        model of the fold that did not train on it. Faces that took no part
        in the run's cross-validation can only be explained with ``final``.
    explainer : {"auto", "tree", "linear", "partition"}, default="auto"
        See :mod:`geoface.explain._engines`.
    background : int, default=20
        Partition explainer: k-means centres of the model's training faces
        that masked features are drawn from.
    max_evals : int, default=300
        Partition explainer: model evaluations per face (each over the whole
        background).
    max_rows : int, optional
        Explain at most this many faces (a random, seeded subset); 0 means
        all. By default all for the exact explainers and
        ``DEFAULT_MAX_ROWS["partition"]`` for the partition explainer.
    seed : int, default=0
    n_jobs : int, optional
        Threads for XGBoost and the partition explainer (all cores when None).
    table_path : str, optional
        Recorded in ``info``.
    progress : callable, optional
        Receives one-line progress messages.
    region_sums_only : bool, default=False
        Keep only each face's values summed by region (a
        :class:`RegionExplanation`): the faces are explained ``chunk_rows`` at a
        time and each chunk's values reduced to regions at once, so memory holds
        faces × regions × classes instead of faces × features × classes (an hour
        of frames: 108,000 × 602 × 7 values would take 3.6 GB; its region sums,
        108,000 × 10 × 7, 60 MB).
    chunk_rows : int, optional
        Faces explained at a time (default: all at once, or
        :data:`REGION_CHUNK_ROWS` with ``region_sums_only``).

    Returns
    -------
    Explanation or RegionExplanation
    """
    from ..models import Run, feature_matrix
    from ..runs import versions

    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    run = run if isinstance(run, Run) else Run(run)
    check_explainable(run)
    embedding = _Embedding(run) if run.model_info.get("embedding") else None
    if embedding is not None and final:
        raise GeofaceError(
            f"{run.path} is an early-fusion run: it has no final model (the CNN embeds faces "
            "per fold only); explain it out of fold, without --final"
        )
    model_name = str(run.model_info.get("model", run.info.get("model")))
    method = resolve_explainer(model_name, explainer)
    if background < 1 or max_evals < 10:
        raise GeofaceError(
            f"background={background} and max_evals={max_evals} must be at least 1 and 10"
        )
    table, table_path = run_table(run, table, table_path)
    run.check_table(table)

    frame = table.frame.reset_index(drop=True)
    X = feature_matrix(table)
    ids = frame["id"].astype(str).to_numpy()
    oof = run.oof_predictions()
    status, fold, trained = _row_status(frame, X, oof, final=final)
    if embedding is not None:
        status[(status == "ok") & ~embedding.has(ids)] = "no_embedding"
    cap = DEFAULT_MAX_ROWS[method] if max_rows is None else (max_rows or None)
    _cap_rows(status, cap, seed, say, method)
    rows = np.flatnonzero(status == "ok")
    if len(rows) == 0:
        counts = pd.Series(status).value_counts().to_dict()
        hint = "" if final else "; faces the run did not cross-validate need --final"
        raise GeofaceError(f"no face of the table can be explained ({counts}){hint}")

    classes = run.classes
    k = len(classes)
    extra = {embedding.region: embedding.names} if embedding is not None else None
    # mesh features and aligned coordinates are placed by the feature map (one line if not)
    hierarchy = FeatureHierarchy(table.mesh, extra=extra, features=table.feature_names)
    n_features = hierarchy.n_features

    def features_of(f: int, at_rows: np.ndarray) -> np.ndarray:
        if embedding is None:
            return X[at_rows]
        return np.hstack([X[at_rows], embedding.columns(f, ids[at_rows])])

    space = space_of(method, model_name)
    fill = 0.0 if space == "probability" else np.nan
    width = len(hierarchy.regions) if region_sums_only else n_features
    values = np.full((len(rows), width, k), fill)
    explained = None if region_sums_only else np.full((len(rows), n_features), np.nan)
    base = np.full((len(rows), k), fill)
    if chunk_rows is not None and chunk_rows < 1:
        raise GeofaceError(f"chunk_rows={chunk_rows} must be at least 1")
    step = chunk_rows or (REGION_CHUNK_ROWS if region_sums_only else max(1, len(rows)))
    error = 0.0
    evaluations = 0
    timings = {}
    models = {-1: run.final_model()} if final else run.fold_models()
    for f in sorted(np.unique(fold[rows])):
        at = np.flatnonzero(fold[rows] == f)
        if f not in models:
            raise GeofaceError(f"run {run.path} has no model for fold {f}; the run is incomplete")
        estimator, present = models[f]
        t0 = time.perf_counter()
        bg = None
        if method == "partition":
            # the faces this model was trained on: its fold's complement, or every CV face
            trained_on = np.isfinite(trained) & (trained != f if f >= 0 else True)
            train_rows = np.flatnonzero(trained_on & np.isin(status, ["ok", "over_max_rows"]))
            if len(train_rows) == 0:  # faces new to the run: summarise the faces themselves
                train_rows = rows
            bg = summarise_background(features_of(f, train_rows), background, seed=seed)
        for a in range(0, len(at), step):
            sub = at[a : a + step]
            feats = features_of(f, rows[sub])
            if explained is not None:
                explained[sub] = feats
            res = explain_estimator(
                estimator,
                feats,
                explainer=method,
                model_name=model_name,
                hierarchy=hierarchy,
                background=bg,
                max_evals=max_evals,
                seed=seed,
                n_jobs=n_jobs,
            )
            block = hierarchy.to_regions(res.values) if region_sums_only else res.values
            values[np.ix_(sub, np.arange(width), present)] = block
            base[np.ix_(sub, present)] = res.base_values
            error = max(
                error, float(np.abs(res.values.sum(axis=1) + res.base_values - res.output).max())
            )
            evaluations += res.evaluations
            if len(at) > step:
                say(f"  {min(a + step, len(at))} of {len(at)} faces explained")
        name = "final" if f < 0 else f"fold_{f}"
        timings[name] = round(time.perf_counter() - t0, 3)
        say(f"{name}: {len(at)} faces explained in {timings[name]:.1f} s")

    counts = pd.Series(status).value_counts()
    info: dict[str, Any] = {
        "run": str(run.path),
        "model": model_name,
        "target": run.info.get("target"),
        "table": table_path,
        "mode": "final" if final else "out-of-fold",
        "explainer": method,
        "space": space,
        "space_description": SPACE_DESCRIPTIONS[space],
        "classes": classes,
        "n_faces": len(rows),
        "n_features": n_features,
        "feature_kinds": _feature_kinds(hierarchy),
        "extra_regions": extra,
        "skipped": {str(s): int(n) for s, n in counts.items() if s != "ok"},
        "additivity_max_error": error,
        "region_features": dict(
            zip(hierarchy.regions, hierarchy.region_sizes.tolist(), strict=True)
        ),
        "coalitions": (
            {
                "levels": ["feature", "triangle or edge", "side of a region", "region"],
                "region_tree": REGION_TREE,
            }
            if method == "partition"
            else None
        ),
        "options": {
            "background": background if method == "partition" else None,
            "max_evals": max_evals if method == "partition" else None,
            "max_rows": cap,
            "seed": seed,
        },
        "cost": {
            "model_evaluations": evaluations,
            "per_face_at_most": max_evals * background if method == "partition" else None,
        },
        "timings_seconds": {**timings, "total": round(time.perf_counter() - t_start, 3)},
        "versions": versions("shap", "xgboost"),
    }
    feature_names = [*table.feature_names, *(embedding.names if embedding else [])]
    target = run.info.get("target", "label")
    labels = _column(frame, oof.rename(columns={"y_true": target}), target, ids)
    group = run.info.get("group", "subject")
    subjects = _column(frame, oof, group, ids)[rows]
    subjects = np.where(subjects == "", ids[rows], subjects)  # no subject: each face its own
    if region_sums_only:
        info["region_sums_only"] = {
            "chunk_rows": step,
            "note": "values summed by region per face; per-feature values not kept",
        }
        return RegionExplanation(
            region_sums=values,
            base_values=base,
            ids=ids[rows],
            subjects=subjects.astype(str),
            labels=labels[rows],
            folds=fold[rows],
            classes=classes,
            mesh=table.mesh,
            info=info,
            feature_names=feature_names,
        )
    return Explanation(
        values=values,
        base_values=base,
        features=explained,
        ids=ids[rows],
        subjects=subjects.astype(str),
        labels=labels[rows],
        folds=fold[rows],
        feature_names=feature_names,
        classes=classes,
        mesh=table.mesh,
        info=info,
    )
