"""``geoface baseline predict``: a trained baseline run applied to new faces.

Every input row gets a prediction or the reason it has none (``status``).
A classification run writes ``id, status, y_pred, proba_<class>…`` (and
``<AU>_proba`` for each auxiliary Action-Unit head); an age run writes
``id, status, age_pred`` in the run's unit, and with age groups ``age_group``
(boundaries in years, see :mod:`geoface.age_groups`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geoface import GeofaceError
from geoface.age_groups import AGE_GROUPS, DEFAULT_AGE_BINS, assign_age_groups
from geoface.runs import MODEL_DIR, MODEL_JSON, read_json, read_run_info

from ._faces import FaceSet, load_faces, read_face_table
from ._net import load_checkpoint
from ._train import FaceStore, Runtime, forward_all, resolve_device

__all__ = ["BaselineRun"]


class BaselineRun:
    """A baseline run directory, loaded for prediction."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        model_json = self.path / MODEL_DIR / MODEL_JSON
        if not model_json.exists():
            raise GeofaceError(
                f"{self.path} is not a baseline run directory (no {MODEL_DIR}/{MODEL_JSON})"
            )
        self.model_info = read_json(model_json)
        if self.model_info.get("model") != "cnn":
            raise GeofaceError(f"{self.path} holds a geometric model: use 'geoface predict'")
        self.info = read_run_info(self.path)

    @property
    def task(self) -> str:
        """``classification`` or ``age``."""
        return self.model_info.get("task", "classification")

    @property
    def classes(self) -> list[str]:
        return list(self.model_info["classes"])

    @property
    def aux_targets(self) -> list[str]:
        """Names of the auxiliary heads' targets (empty without them)."""
        return list(self.model_info.get("aux_targets") or [])

    @property
    def unit(self) -> str | None:
        """The age unit (``years`` or ``months``) of an age run."""
        return self.model_info.get("unit")

    def networks(self, device="cpu"):
        """The final network, or every fold's network (averaged) when there is none."""
        entries = (
            [self.model_info["final"]] if self.model_info.get("final") else self.model_info["folds"]
        )
        return [load_checkpoint(self.path / MODEL_DIR / e["file"], device)[0] for e in entries]

    def predict(
        self,
        source,
        *,
        landmarks=None,
        image_root=None,
        device: str = "auto",
        workers=None,
        age_groups: bool = False,
        age_bins: Sequence[float] = DEFAULT_AGE_BINS,
        age_labels: Sequence[str] = AGE_GROUPS,
    ) -> pd.DataFrame:
        """Predict every row of ``source``; rows without a usable image keep the reason.

        Parameters
        ----------
        source : path-like
            Feature table, landmark CSV or manifest with ``id, path``.
        landmarks, image_root, device, workers
            As for :func:`baselines.train_baseline`.
        age_groups : bool, default=False
            Add ``age_group`` (age runs only).
        age_bins, age_labels
            Lower edges in years and names, see :func:`geoface.age_groups.assign_age_groups`.

        Returns
        -------
        DataFrame
        """
        if age_groups and self.task != "age":
            raise GeofaceError(
                f"{self.path} is a {self.task} run; --assign-age-groups needs an age run "
                "('geoface baseline train … --task age')"
            )
        dev = resolve_device(device)
        frame, base = read_face_table(source, landmarks=landmarks)
        faces: FaceSet = load_faces(
            frame,
            base=base,
            size=self.model_info["image_size"],
            align=self.model_info["align"],
            image_root=image_root,
            workers=workers,
        )
        rt = Runtime(device=dev, arch=self.model_info["arch"])
        store = FaceStore(faces.images, dev)
        outputs = []
        if len(store):
            idx = np.arange(len(store))
            outputs = [forward_all(net, store, idx, rt) for net in self.networks(dev)]
        out = pd.DataFrame({"id": frame["id"].astype(str), "status": faces.status})
        if self.task == "age":
            ages = np.full(len(frame), np.nan)
            if outputs:
                ages[faces.ok] = np.mean([o.main for o in outputs], axis=0)
            out["age_pred"] = ages
            if age_groups:
                years = ages / (12.0 if self.unit == "months" else 1.0)
                out["age_group"] = assign_age_groups(years, bins=age_bins, labels=age_labels)
        else:
            k = len(self.classes)
            proba = np.full((len(frame), k), np.nan)
            if outputs:
                proba[faces.ok] = np.mean([o.main for o in outputs], axis=0)
            pred = pd.Series(pd.NA, index=out.index, dtype="object")
            if faces.ok.any():
                pred[faces.ok] = np.asarray(self.classes, dtype=object)[proba[faces.ok].argmax(1)]
            out["y_pred"] = pred
            for j, c in enumerate(self.classes):
                out[f"proba_{c}"] = proba[:, j]
        for j, name in enumerate(self.aux_targets):
            column = np.full(len(frame), np.nan)
            if outputs:
                column[faces.ok] = np.mean([o.aux[:, j] for o in outputs], axis=0)
            out[f"{name}_proba"] = column
        return out
