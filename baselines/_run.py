"""``geoface baseline train``: the CNN on every fold of the shared splits → a run directory.

For each fold the network trains on the other folds, early-stops on an inner
validation split grouped by subject (never the test fold), and predicts the
held-out fold. The run directory has the same format as ``geoface fit``'s, plus
``history.csv`` (per-epoch training curves), ``embeddings.npz`` and ``model/``
checkpoints saved and loaded with ``weights_only=True``.

With ``task="age"`` the head is a regression head (one output: the age in the
target's unit) and the run directory holds the age metrics of
:mod:`baselines._age` (``metrics.json`` with ``task: "age"``, numeric ``y_true,
y_pred`` in ``oof_predictions.csv``). With ``aux_targets`` (Action-Unit
columns), auxiliary binary heads train beside the main one and the run adds
``aux_predictions.csv`` and ``metrics.json["aux"]`` (see :mod:`baselines._aux`).

``embeddings.npz`` holds the penultimate features for early fusion: ``ids``
and ``fold`` of the usable rows, ``embeddings`` (each face embedded by the
network that did not see it) and ``fold_embeddings`` (float16, one slice per
fold in the order of ``folds``: every usable face embedded by that fold's
network). A fused model trained on fold *k*'s training rows must use slice
*k* only, for every other network was trained on fold *k*'s faces.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from geoface import GeofaceError
from geoface.runs import (
    EMBEDDINGS_NPZ,
    FIGURES_DIR,
    check_output_dir,
    run_header,
    write_run,
)
from geoface.splits import Splits

from ._aux import aux_metrics, write_aux_predictions
from ._cluster import FoldJob, SharedFaces, fit_fold, run_fold_jobs
from ._curves import plot_history
from ._faces import load_faces, read_face_table
from ._folds import make_baseline_splits
from ._net import resolve_pretrained, save_checkpoint
from ._objectives import REGRESSION_LOSSES
from ._predict import BaselineRun
from ._recipes import Recipe
from ._targets import TASKS, age_unit_of, age_values, aux_matrix, parse_aux_targets
from ._tasks import AgeTask, ClassificationTask
from ._train import FaceStore, Runtime, resolve_device

__all__ = ["BaselineRun", "train_baseline"]


def train_baseline(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    recipe: Recipe,
    arch: str = "resnet18",
    pretrained: str = "none",
    splits: Splits | None = None,
    folds: int | str = 5,
    task: str = "classification",
    target: str | None = None,
    group: str = "subject",
    loss: str = "l1",
    age_unit: str | None = None,
    aux_targets: str | list[str] | None = None,
    aux_weight: float = 0.5,
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
    cluster=None,
    threads: int | None = None,
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
    pretrained : "none", "imagenet", "auto" or a weights file, default="none"
        ``auto``: ImageNet weights when cached or fetchable, else from scratch,
        with a note in ``run.json`` (see :func:`baselines._net.resolve_pretrained`).
    splits : Splits, optional
        The shared folds; made from the input like ``geoface split`` when omitted
        (for ``task="age"`` stratified by quantiles of the subjects' mean ages).
    folds : int or "loso", default=5
    task : {"classification", "age"}, default="classification"
        ``age``: a regression head (one output) learns the age in ``target``;
        the recipe's label smoothing and centre loss do not apply and are set to 0.
    target : str, optional
        The class column (default ``label``) or the age column (default
        ``age_years``, else ``age_months``). Blank values are kept as ``missing_target``.
    group : str, default="subject"
    loss : {"l1", "smooth_l1", "mse"}, default="l1"
        The age loss, on ages standardised by the training faces' mean and SD.
    age_unit : {"years", "months"}, optional
        The unit of the age column (default: ``months`` when its name says so).
    aux_targets : str or list of str, optional
        Binary auxiliary target columns (Action Units, ``"AU1,AU12"``, or
        ``"all"`` for every ``AU…`` column): an auxiliary head trains beside the
        main one with the masked BCE loss.
    aux_weight : float, default=0.5
        Weight of the auxiliary loss.
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
    cluster : str, ClusterSpec or distributed.Client, optional
        Train the folds (and the final network) in parallel on a Dask cluster,
        one per worker at a time (``local:N``, a scheduler address or a config
        file: :func:`geoface.cluster.parse_cluster`); the faces are decoded here
        and sent once. Each worker resolves ``device`` itself (a GPU worker uses
        its own GPU). The folds, seeds and outputs are those of the serial run.
    threads : int, optional
        With ``cluster``: threads of each fold's training (default: each worker's share).

    Returns
    -------
    Path
    """
    t_start = time.perf_counter()
    if isinstance(cluster, str | os.PathLike):
        from geoface.cluster import parse_cluster

        cluster = parse_cluster(cluster)  # a wrong spec fails now, before any work
    out = check_output_dir(Path(out_dir), overwrite=overwrite)
    if task not in TASKS:
        raise GeofaceError(f"task={task!r} is not one of {{{', '.join(map(repr, TASKS))}}}")
    if loss not in REGRESSION_LOSSES:
        choices = ", ".join(map(repr, REGRESSION_LOSSES))
        raise GeofaceError(f"loss={loss!r} is not one of {{{choices}}}")
    if aux_weight < 0:
        raise GeofaceError(f"aux weight {aux_weight} must be zero or positive")
    regression = task == "age"
    say = progress or (lambda msg: None)
    dev = resolve_device(device) if cluster is None else None  # on a cluster: each worker's
    pretrained, weights_note = resolve_pretrained(arch, pretrained)
    frame, base = read_face_table(source, landmarks=landmarks)
    if target is None:
        present = [c for c in ("age_years", "age_months") if c in frame.columns]
        target = (present or ["age_years"])[0] if regression else "label"
    for col, flag in ((target, "--target"), (group, "--group")):
        if col not in frame.columns and not (regression and col == target):
            raise GeofaceError(f"{source} has no {col!r} column for {flag}")
    unit = None
    if regression:
        ages = age_values(frame, target)  # one-line errors for non-numeric ages
        unit = age_unit_of(target, age_unit)
        recipe = replace(recipe, label_smoothing=0.0, center_loss=0.0)
        missing_target = np.isnan(ages)
    else:
        missing_target = frame[target].isna().to_numpy()
    aux_names = parse_aux_targets(aux_targets, frame)
    aux_all = aux_matrix(frame, aux_names) if aux_names else None
    t0 = time.perf_counter()
    faces = load_faces(
        frame, base=base, size=image_size, align=align, image_root=image_root, workers=workers
    )
    t_load = time.perf_counter() - t0
    status = faces.status.astype(object)
    status[(status == "ok") & missing_target] = "missing_target"
    status[(status == "ok") & frame[group].isna().to_numpy()] = "missing_group"
    if splits is None:
        splits = make_baseline_splits(
            frame, status, target, group, folds, seed, ages if regression else None
        )
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
    job = (
        AgeTask(ages, target, unit, loss, used)
        if regression
        else ClassificationTask(frame, target, used)
    )
    classes, y_all = job.classes, job.y_all
    groups_all = frame[group].astype(str).to_numpy()
    k = job.n_outputs
    store = FaceStore(faces.images, dev) if cluster is None else None
    # rows of the training problem = usable rows; `img` maps them into the store
    rows = np.flatnonzero(used)
    img = image_row[rows]
    y, groups, fold = y_all[rows], groups_all[rows], fold_all[rows]
    what = job.describe()
    say(
        f"{arch} ({recipe.name}) on {len(rows)} faces, {len(np.unique(groups))} {group}s, "
        f"{what}, {len(np.unique(fold))} folds, {image_size}px, "
        + (f"device {dev}" if cluster is None else f"on {_describe(cluster)}")
        + f"{' (faces cached on the GPU)' if store is not None and store.on_device else ''}; "
        f"faces decoded in {t_load:.1f} s"
        + (f"; auxiliary heads {', '.join(aux_names)} (weight {aux_weight})" if aux_names else "")
    )
    # the network indexes the store directly; targets are looked up by store index
    n_store = len(faces.images)
    y_store = np.full(n_store, job.store_fill())
    y_store[img] = y
    aux_store = None
    if aux_all is not None:
        aux_store = np.full((n_store, len(aux_names)), np.nan)
        aux_store[img] = aux_all[rows]

    def inner_split(yy, gg):
        return job.inner_split(yy, gg, seed)

    # --- every network as a job (the folds, then the final one): here or on a cluster
    shared = SharedFaces(faces.images, y_store, aux_store)
    job_kw = {
        "n_classes": k,
        "recipe": recipe,
        "device": device,
        "arch": arch,
        "pretrained": pretrained,
        "seed": seed,
        "deterministic": deterministic,
        "task": job.network_task,
        "loss": loss,
        "aux_weight": aux_weight,
    }
    jobs = []
    for f in np.unique(fold):
        test = fold == f
        inner = inner_split(y[~test], groups[~test])
        tr, va = img[~test][~inner], img[~test][inner]
        jobs.append(FoldJob(f, tr, va, img[test], img[~test], **job_kw))
    if final:
        inner = inner_split(y, groups)
        jobs.append(FoldJob("final", img[~inner], img[inner], img[:0], img[:0], **job_kw))
    cluster_record = None
    if cluster is None:
        results = (fit_fold(j, shared, log=say, store=store) for j in jobs)
    else:
        t0 = time.perf_counter()
        results, cluster_record = run_fold_jobs(
            jobs, shared, cluster=cluster, threads=threads, progress=progress is not None
        )
        cluster_record["cluster_s"] = round(time.perf_counter() - t0, 3)
        results = iter(results)

    main = job.predictions(len(rows))
    mean_pred = np.zeros(len(rows))
    aux_proba = None if aux_all is None else np.zeros((len(rows), len(aux_names)))
    emb = fold_emb = None
    history, fold_scores, fold_ckpts = [], [], []
    t0 = time.perf_counter()
    with write_run(out, overwrite=overwrite) as run_dir:
        tmp, model_dir = run_dir.path, run_dir.model_dir
        meta = {
            "arch": arch,
            "task": task,
            "classes": classes,
            "target": target,
            "unit": unit,
            "loss": job.loss,
            "aux_targets": aux_names,
            "aux_weight": aux_weight if aux_names else None,
            "dropout": recipe.dropout,
            "image_size": image_size,
            "align": faces.align,
            "recipe": asdict(recipe),
        }
        for f in np.unique(fold):
            test = fold == f
            train = ~test
            tf = time.perf_counter()
            result = next(results)
            net, hist, o_test, o_train = result.net, result.history, result.test, result.seen
            n_validation = len(jobs[int(np.searchsorted(np.unique(fold), f))].val_idx)
            main[test] = o_test.main
            if aux_proba is not None:
                aux_proba[test] = o_test.aux
            e_test, e_train = o_test.embedding, o_train.embedding
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
            mean_pred[test] = y[train].mean()  # the age task's mean predictor
            row = job.fold_row(
                f, y[train], o_train.main, y[test], o_test.main, n_validation=n_validation
            )
            row["fit_seconds"] = round(
                time.perf_counter() - tf if cluster is None else result.seconds, 3
            )
            fold_scores.append(row)
            name = f"fold_{int(f)}.pt"
            save_checkpoint(model_dir / name, net, {**meta, "fold": int(f)})
            fold_ckpts.append({"fold": int(f), "file": name})
            say(job.fold_message(f, row))
        t_cv = time.perf_counter() - t0
        final_file = None
        t0 = time.perf_counter()
        if final:
            result = next(results)
            net, hist = result.net, result.history
            for h in hist:
                h["fold"] = "final"
            history += hist
            save_checkpoint(model_dir / "final.pt", net, {**meta, "fold": "final"})
            final_file = "final.pt"
        t_final = time.perf_counter() - t0

        excluded = {str(a): int(b) for a, b in pd.Series(status[~used]).value_counts().items()}
        # the columns every per-row file starts with: id, fold, <group>, status
        per_row = dict(
            ids=ids,
            status=status.astype(str),
            used=used,
            fold=fold,
            groups=groups,
            group_col=splits.group,
            row_groups=frame[group].to_numpy(),
        )
        model_name = f"{arch}-{recipe.name}"
        summary = {
            "fold_scores": fold_scores,
            "excluded": excluded,
            "model": model_name,
            "group": group,
            "n_boot": n_boot,
            "seed": seed,
        }
        metrics = job.write(
            run_dir, per_row, y=y, main=main, fold=fold, summary=summary, mean_pred=mean_pred
        )
        if aux_proba is not None:
            aux_true = aux_all[rows]
            metrics["aux"] = aux_metrics(
                aux_names, aux_true, aux_proba, groups, weight=aux_weight, n_boot=n_boot, seed=seed
            )
            write_aux_predictions(
                tmp / "aux_predictions.csv",
                **per_row,
                names=aux_names,
                targets=aux_true,
                proba=aux_proba,
            )
        run_dir.metrics(metrics)
        run_dir.splits(splits)
        pd.DataFrame(history).to_csv(tmp / "history.csv", index=False)
        np.savez_compressed(
            tmp / EMBEDDINGS_NPZ,
            ids=ids[rows].astype(str),
            fold=fold.astype(int),
            embeddings=emb,
            folds=np.unique(fold).astype(int),
            fold_embeddings=fold_emb,
        )
        run_dir.model_json(
            {
                "model": "cnn",
                **meta,
                "folds": fold_ckpts,
                "final": None if final_file is None else {"file": final_file},
            },
        )
        job.figures(run_dir, metrics, y, main, fold)
        plot_history(tmp / FIGURES_DIR, pd.DataFrame(history), unit=unit)
        run = {
            **run_header(command, "torch", "torchvision"),
            "model": model_name,
            "kind": "cnn",
            "task": task,
            "arch": arch,
            "pretrained": pretrained,
            "pretrained_note": weights_note,
            "recipe": asdict(recipe),
            "target": target,
            "unit": unit,
            "loss": meta["loss"],
            "aux_targets": aux_names,
            "aux_weight": aux_weight if aux_names else None,
            "group": group,
            "seed": seed,
            "deterministic": deterministic,
            "image_size": image_size,
            "align": faces.align,
            "input": str(source),
            "splits": splits.info,
            "device": _device_record(dev, store, cluster_record),
            "timings_seconds": {
                "decode": round(t_load, 3),
                "cross_validation": round(t_cv, 3),
                "final_fit": round(t_final, 3),
                "total": round(time.perf_counter() - t_start, 3),
            },
        }
        if cluster_record is not None:
            run["cluster"] = cluster_record
        run_dir.header(run)
    return out


def _describe(cluster) -> str:
    return cluster.describe() if hasattr(cluster, "describe") else "a Dask cluster"


def _device_record(dev, store, cluster_record) -> dict:
    """``run.json``'s device: this machine's, or (on a cluster) the devices the folds used."""
    if cluster_record is not None:
        folds = cluster_record["folds"]
        return {
            "type": "/".join(sorted({str(f["device"]).split(":")[0] for f in folds})),
            "name": "/".join(sorted({str(f["device_name"]) for f in folds})),
            "on": "each worker's own (see cluster.folds)",
        }
    rt = Runtime(device=dev)
    return {
        "type": dev.type,
        "name": torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else platform.processor() or platform.machine(),
        "faces_cached_on_gpu": store.on_device,
        "amp": str(rt.amp_dtype) if rt.amp_dtype else None,
    }
