"""``geoface baseline train``: the CNN on every fold of the shared splits → a run directory.

For each fold the network trains on the other folds, early-stops on an inner
validation split grouped by subject (never the test fold), and predicts the
held-out fold. The run directory has the same format as ``geoface fit``'s, plus
``history.csv`` (per-epoch training curves), ``embeddings.npz`` and ``model/``
checkpoints saved and loaded with ``weights_only=True``.

``embeddings.npz`` holds the penultimate features for early fusion: ``ids``
and ``fold`` of the usable rows, ``embeddings`` (each face embedded by the
network that did not see it) and ``fold_embeddings`` (float16, one slice per
fold in the order of ``folds``: every usable face embedded by that fold's
network). A fused model trained on fold *k*'s training rows must use slice
*k* only, for every other network was trained on fold *k*'s faces.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from geoface import GeofaceError
from geoface.runs import (
    fold_score_row,
    run_header,
    staged_directory,
    summarise_predictions,
    write_figures,
    write_json,
    write_oof,
)
from geoface.splits import Splits, make_splits

from ._faces import FaceSet, load_faces, read_face_table
from ._net import load_checkpoint, save_checkpoint
from ._recipes import Recipe
from ._train import FaceStore, Runtime, predict, resolve_device, train_network

__all__ = ["BaselineRun", "train_baseline"]


def _inner_validation(y, groups, seed: int, fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of an inner validation set: about ``fraction`` of the subjects.

    Stratified by label where the classes allow it, always grouped by subject;
    with fewer than three subjects there is no validation set (fixed epochs).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    subjects = np.unique(groups)
    mask = np.zeros(len(y), dtype=bool)
    if len(subjects) < 3:
        return mask
    k = max(2, min(round(1 / fraction), len(subjects)))
    import warnings

    try:
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="The least populated class", category=UserWarning
            )
            _, val = next(cv.split(np.zeros(len(y)), y, groups))
        mask[val] = True
    except ValueError:  # classes too thin to stratify: a random fifth of the subjects
        rng = np.random.default_rng(seed)
        chosen = rng.choice(subjects, size=max(1, len(subjects) // k), replace=False)
        mask[np.isin(groups, chosen)] = True
    return mask


def train_baseline(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    recipe: Recipe,
    arch: str = "resnet18",
    pretrained: str = "none",
    splits: Splits | None = None,
    folds: int | str = 5,
    target: str = "label",
    group: str = "subject",
    landmarks: str | os.PathLike | None = None,
    image_root: str | os.PathLike | None = None,
    image_size: int = 224,
    align: str = "auto",
    device: str = "auto",
    workers: int | None = None,
    seed: int = 0,
    deterministic: bool = False,
    final: bool = True,
    n_boot: int = 2000,
    overwrite: bool = False,
    command: list[str] | None = None,
    progress=None,
) -> Path:
    """Train and evaluate the image baseline on shared folds; write a run directory.

    Parameters
    ----------
    source : path-like
        A feature table, landmark CSV or manifest with ``id, path`` (and
        ``subject``, ``label``) columns.
    out_dir : path-like
    recipe : Recipe
        See :data:`baselines.RECIPES` and :func:`baselines.resolve_recipe`.
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
    pretrained : "none", "imagenet" or a weights file, default="none"
    splits : Splits, optional
        The shared folds; made from the input like ``geoface split`` when omitted.
    folds, target, group
        As for ``geoface fit``.
    landmarks : path-like, optional
        Landmark CSV joined by ``id`` (for eye alignment).
    image_root : path-like, optional
        Folder image paths are relative to.
    image_size : int, default=224
    align : {"auto", "eyes", "box", "none"}
    device : {"auto", "cpu", "cuda"}
    workers : int, optional
        Image decoding threads.
    seed : int, default=0
        Seeds splits, initialisation, shuffling and augmentation.
    deterministic : bool, default=False
        Deterministic algorithms (a CPU run is then bit-identical).
    final : bool, default=True
        Also train a final network on every usable face (for ``predict``).
    n_boot : int, default=2000
    overwrite : bool, default=False
    command : list of str, optional
    progress : callable, optional

    Returns
    -------
    Path
    """
    t_start = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise GeofaceError(f"run directory {out} exists; choose another --out or add --overwrite")
    say = progress or (lambda msg: None)
    dev = resolve_device(device)
    frame, base = read_face_table(source, landmarks=landmarks)
    for col, flag in ((target, "--target"), (group, "--group")):
        if col not in frame.columns:
            raise GeofaceError(f"{source} has no {col!r} column for {flag}")
    t0 = time.perf_counter()
    faces = load_faces(
        frame, base=base, size=image_size, align=align, image_root=image_root, workers=workers
    )
    t_load = time.perf_counter() - t0
    status = faces.status.astype(object)
    status[(status == "ok") & frame[target].isna().to_numpy()] = "missing_target"
    status[(status == "ok") & frame[group].isna().to_numpy()] = "missing_group"
    if splits is None:
        usable = frame[["id", group, target]].assign(
            qc_status=np.where(status == "ok", "ok", "excluded")
        )
        splits = make_splits(usable, group=group, target=target, folds=folds, seed=seed)
        splits.info["excluded"] = {}
    ids = frame["id"].astype(str).to_numpy()
    fold_all = splits.fold_of(ids)
    unknown = np.setdiff1d(splits.frame["id"].astype(str).to_numpy(), ids)
    if len(unknown):
        raise GeofaceError(
            f"the splits name {len(unknown)} id(s) the input lacks, e.g. "
            f"{list(unknown[:3])}; make the splits from the same table"
        )
    status[(status == "ok") & (fold_all < 0)] = "not_in_splits"
    used = status == "ok"
    if used.sum() < 2:
        raise GeofaceError(
            f"only {int(used.sum())} usable face image(s); check the image paths "
            f"(relative to {base}, or give --image-root)"
        )
    image_row = np.cumsum(faces.ok) - 1  # row -> index into faces.images
    classes = sorted(frame.loc[used, target].astype(str).unique().tolist())
    if len(classes) < 2:
        raise GeofaceError(f"target {target!r} has fewer than two classes among usable faces")
    y_all = np.full(len(frame), -1)
    y_all[used] = np.searchsorted(classes, frame.loc[used, target].astype(str).to_numpy())
    groups_all = frame[group].astype(str).to_numpy()
    k = len(classes)
    rt = Runtime(
        device=dev, arch=arch, pretrained=pretrained, seed=seed, deterministic=deterministic
    )
    store = FaceStore(faces.images, dev)
    # rows of the training problem = usable rows; `img` maps them into the store
    rows = np.flatnonzero(used)
    img = image_row[rows]
    y, groups, fold = y_all[rows], groups_all[rows], fold_all[rows]
    say(
        f"{arch} ({recipe.name}) on {len(rows)} faces, {len(np.unique(groups))} {group}s, "
        f"{k} classes, {len(np.unique(fold))} folds, {image_size}px, device {dev}"
        f"{' (faces cached on the GPU)' if store.on_device else ''}; "
        f"faces decoded in {t_load:.1f} s"
    )
    # the network indexes the store directly; labels are looked up by store index
    y_store = np.full(len(store), -1)
    y_store[img] = y

    proba = np.zeros((len(rows), k))
    emb = fold_emb = None
    history, fold_scores, fold_ckpts = [], [], []
    t0 = time.perf_counter()
    with staged_directory(out, overwrite=overwrite) as tmp:
        (tmp / "model").mkdir()
        meta = {
            "arch": arch,
            "classes": classes,
            "dropout": recipe.dropout,
            "image_size": image_size,
            "align": faces.align,
            "recipe": asdict(recipe),
        }
        for f in np.unique(fold):
            test = fold == f
            train = ~test
            inner = _inner_validation(y[train], groups[train], seed)
            tr_idx, va_idx = img[train][~inner], img[train][inner]
            tf = time.perf_counter()
            net, hist = train_network(
                store, y_store, tr_idx, va_idx, k, recipe, rt, log=say, tag=f"fold {f}: "
            )
            p_test, e_test = predict(net, store, img[test], rt)
            p_train, e_train = predict(net, store, img[train], rt)
            proba[test] = p_test
            if emb is None:
                emb = np.zeros((len(rows), e_test.shape[1]), dtype=np.float32)
                fold_emb = np.zeros(
                    (len(np.unique(fold)), len(rows), e_test.shape[1]), dtype=np.float16
                )
            emb[test] = e_test
            slot = int(np.searchsorted(np.unique(fold), f))
            fold_emb[slot, test] = e_test
            fold_emb[slot, train] = e_train
            for h in hist:
                h["fold"] = int(f)
            history += hist
            row = fold_score_row(
                f,
                y[train],
                p_train.argmax(1),
                y[test],
                p_test.argmax(1),
                k,
                n_validation=int(inner.sum()),
            )
            row["fit_seconds"] = round(time.perf_counter() - tf, 3)
            fold_scores.append(row)
            name = f"fold_{int(f)}.pt"
            save_checkpoint(tmp / "model" / name, net, {**meta, "fold": int(f)})
            fold_ckpts.append({"fold": int(f), "file": name})
            say(
                f"fold {f}: held-out balanced accuracy {row['test_balanced_accuracy']:.3f} "
                f"(train {row['train_balanced_accuracy']:.3f})"
            )
        t_cv = time.perf_counter() - t0
        final_file = None
        t0 = time.perf_counter()
        if final:
            inner = _inner_validation(y, groups, seed)
            net, hist = train_network(
                store, y_store, img[~inner], img[inner], k, recipe, rt, log=say, tag="final: "
            )
            for h in hist:
                h["fold"] = "final"
            history += hist
            save_checkpoint(tmp / "model" / "final.pt", net, {**meta, "fold": "final"})
            final_file = "final.pt"
        t_final = time.perf_counter() - t0

        pred = proba.argmax(1)
        excluded = pd.Series(status[~used]).value_counts()
        metrics = summarise_predictions(
            y=y,
            pred=pred,
            proba=proba,
            groups=groups,
            classes=classes,
            fold=fold,
            fold_scores=fold_scores,
            excluded={str(a): int(b) for a, b in excluded.items()},
            model=f"{arch}-{recipe.name}",
            target=target,
            group=group,
            n_boot=n_boot,
            seed=seed,
        )
        write_json(tmp / "metrics.json", metrics)
        write_oof(
            tmp / "oof_predictions.csv",
            ids=ids,
            status=status.astype(str),
            used=used,
            fold=fold,
            groups=groups,
            y=y,
            pred=pred,
            proba=proba,
            classes=classes,
            group_col=splits.group,
        )
        splits.write(tmp / "splits.csv")
        pd.DataFrame(history).to_csv(tmp / "history.csv", index=False)
        np.savez_compressed(
            tmp / "embeddings.npz",
            ids=ids[rows].astype(str),
            fold=fold.astype(int),
            embeddings=emb,
            folds=np.unique(fold).astype(int),
            fold_embeddings=fold_emb,
        )
        write_json(
            tmp / "model" / "model.json",
            {
                "model": "cnn",
                **meta,
                "folds": fold_ckpts,
                "final": None if final_file is None else {"file": final_file},
            },
        )
        figs = write_figures(tmp / "figures", metrics)
        figs += _plot_history(tmp / "figures", pd.DataFrame(history))
        run = {
            **run_header(command, "torch", "torchvision"),
            "model": f"{arch}-{recipe.name}",
            "kind": "cnn",
            "arch": arch,
            "pretrained": pretrained,
            "recipe": asdict(recipe),
            "target": target,
            "group": group,
            "seed": seed,
            "deterministic": deterministic,
            "image_size": image_size,
            "align": faces.align,
            "input": str(source),
            "splits": splits.info,
            "device": {
                "type": dev.type,
                "name": torch.cuda.get_device_name(dev)
                if dev.type == "cuda"
                else platform.processor() or platform.machine(),
                "faces_cached_on_gpu": store.on_device,
                "amp": str(rt.amp_dtype) if rt.amp_dtype else None,
            },
            "timings_seconds": {
                "decode": round(t_load, 3),
                "cross_validation": round(t_cv, 3),
                "final_fit": round(t_final, 3),
                "total": round(time.perf_counter() - t_start, 3),
            },
        }
        write_json(tmp / "run.json", run)
    return out


def _plot_history(folder: Path, history: pd.DataFrame) -> list[Path]:
    import matplotlib.pyplot as plt

    from geoface.plotting import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    colours = plt.get_cmap("tab10")
    for i, (f, h) in enumerate(history.groupby("fold", sort=False)):
        x = np.arange(1, len(h) + 1)
        c = colours(i % 10)
        label = "final" if str(f) == "final" else f"fold {f}"
        axes[0].plot(x, h["train_loss"], color=c, ls="-", lw=1, label=label)
        axes[1].plot(x, h["train_accuracy"], color=c, ls="-", lw=1)
        if "val_loss" in h:
            axes[0].plot(x, h["val_loss"], color=c, ls="--", lw=1)
            axes[1].plot(x, h["val_accuracy"], color=c, ls="--", lw=1)
    axes[0].set_ylabel("loss (training: with smoothing and centre terms)")
    axes[1].set_ylabel("accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=6, frameon=False)
    axes[1].set_title("solid: training, dashed: inner validation", fontsize=8)
    written = save_figure(fig, folder / "training_curves")
    plt.close(fig)
    return written


class BaselineRun:
    """A baseline run directory, loaded for prediction."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        model_json = self.path / "model" / "model.json"
        if not model_json.exists():
            raise GeofaceError(f"{self.path} is not a baseline run directory (no model/model.json)")
        self.model_info = json.loads(model_json.read_text(encoding="utf-8"))
        if self.model_info.get("model") != "cnn":
            raise GeofaceError(f"{self.path} holds a geometric model: use 'geoface predict'")
        self.info = json.loads((self.path / "run.json").read_text(encoding="utf-8"))

    @property
    def classes(self) -> list[str]:
        return list(self.model_info["classes"])

    def networks(self, device="cpu"):
        """The final network, or every fold's network (averaged) when there is none."""
        entries = (
            [self.model_info["final"]] if self.model_info.get("final") else self.model_info["folds"]
        )
        return [load_checkpoint(self.path / "model" / e["file"], device)[0] for e in entries]

    def predict(
        self, source, *, landmarks=None, image_root=None, device: str = "auto", workers=None
    ) -> pd.DataFrame:
        """Predict every row of ``source``; rows without a usable image keep the reason."""
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
        k = len(self.classes)
        proba = np.full((len(frame), k), np.nan)
        if len(store):
            idx = np.arange(len(store))
            p = np.mean([predict(net, store, idx, rt)[0] for net in self.networks(dev)], axis=0)
            proba[faces.ok] = p
        out = pd.DataFrame({"id": frame["id"].astype(str), "status": faces.status})
        pred = pd.Series(pd.NA, index=out.index, dtype="object")
        if faces.ok.any():
            pred[faces.ok] = np.asarray(self.classes, dtype=object)[proba[faces.ok].argmax(1)]
        out["y_pred"] = pred
        for j, c in enumerate(self.classes):
            out[f"proba_{c}"] = proba[:, j]
        return out
