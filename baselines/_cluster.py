"""The CNN's folds as independent jobs: here one after the other, or on a Dask cluster.

Each fold's network depends only on the faces, the targets, its training and
early-stopping indices, the recipe and the seed (every fold trains from the
same seed in its own random-number state), so a fold is a pure job:
:class:`FoldJob` says which fold, :func:`fit_fold` trains it and returns what
the run directory needs (outputs on the held-out and training faces, the
per-epoch history, the weights on the CPU). ``train_baseline(..., cluster=…)``
sends the jobs to a cluster with :func:`geoface.cluster.run_tasks` — one fold
per worker at a time, the faces and targets sent once as a shared value — and
writes the same run directory as the serial run: the same folds, and on CPU
with one thread per task (``threads=1``, or ``--deterministic``) the same numbers.

Each worker trains on its own device: ``device="auto"`` resolves on the worker
(a GPU worker started with ``CUDA_VISIBLE_DEVICES=k`` uses its GPU ``k``).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ._recipes import Recipe
from ._train import FaceStore, Runtime, forward_all, resolve_device, train_network

__all__ = ["FoldJob", "FoldResult", "SharedFaces", "fit_fold", "run_fold_jobs"]


@dataclass(frozen=True)
class SharedFaces:
    """What every fold needs, sent once: the faces and the targets by store index."""

    images: np.ndarray
    y_store: np.ndarray
    aux_store: np.ndarray | None = None

    def __sizeof__(self) -> int:  # what Dask weighs when it decides how to send it
        aux = 0 if self.aux_store is None else self.aux_store.nbytes
        return int(self.images.nbytes + self.y_store.nbytes + aux)


@dataclass(frozen=True)
class FoldJob:
    """One network to train: a fold (or ``"final"``, every usable face).

    Attributes
    ----------
    fold : int or "final"
    train_idx, val_idx : ndarray of int
        Store indices to train on and to early-stop on.
    test_idx, seen_idx : ndarray of int
        Store indices of the held-out faces and of the fold's training faces (outputs of
        both come back); empty for the final network.
    n_classes : int
    recipe : Recipe
    device : str
        Resolved where the job runs (``auto``: that worker's GPU, else its CPU).
    arch, pretrained : str
    seed : int
    deterministic : bool
    task, loss : str
    aux_weight : float
    """

    fold: object
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    seen_idx: np.ndarray
    n_classes: int
    recipe: Recipe
    device: str = "auto"
    arch: str = "resnet18"
    pretrained: str = "none"
    seed: int = 0
    deterministic: bool = False
    task: str = "classification"
    loss: str = "l1"
    aux_weight: float = 0.5

    def __len__(self) -> int:
        return 1


@dataclass
class FoldResult:
    """What :func:`fit_fold` gives back (picklable: tensors on the CPU)."""

    fold: object
    net: torch.nn.Module
    history: list
    test: object  # Outputs of the held-out faces (None for the final network)
    seen: object  # Outputs of the training faces (None for the final network)
    seconds: float
    where: dict = field(default_factory=dict)


def fit_fold(job: FoldJob, shared: SharedFaces, log=None, store=None) -> FoldResult:
    """Train one fold's network and predict its held-out and training faces.

    Parameters
    ----------
    job : FoldJob
    shared : SharedFaces
    log : callable, optional
        Progress messages (per epoch).
    store : FaceStore, optional
        The faces already on the device (the serial run builds it once).

    Returns
    -------
    FoldResult
    """
    t0 = time.perf_counter()
    dev = resolve_device(job.device)
    if store is None:
        store = FaceStore(shared.images, dev)
    rt = Runtime(
        device=dev,
        arch=job.arch,
        pretrained=job.pretrained,
        seed=job.seed,
        deterministic=job.deterministic,
    )
    tag = "final: " if job.fold == "final" else f"fold {job.fold}: "
    net, hist = train_network(
        store,
        shared.y_store,
        job.train_idx,
        job.val_idx,
        job.n_classes,
        job.recipe,
        rt,
        log=log,
        tag=tag,
        task=job.task,
        loss=job.loss,
        aux=shared.aux_store,
        aux_weight=job.aux_weight,
    )
    test = seen = None
    if job.fold != "final":
        test = forward_all(net, store, job.test_idx, rt)
        seen = forward_all(net, store, job.seen_idx, rt)
    where = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
    }
    return FoldResult(job.fold, net, hist, test, seen, time.perf_counter() - t0, where)


def _fit_remote(job: FoldJob, shared: SharedFaces) -> FoldResult:
    """:func:`fit_fold` on a worker: the network comes back on the CPU."""
    result = fit_fold(job, shared)
    result.net = result.net.to("cpu")
    return result


def run_fold_jobs(jobs: list[FoldJob], shared: SharedFaces, *, cluster, threads=None,
                  progress: bool = True):  # fmt: skip
    """Train every job on a cluster; return the results in job order and the run's record.

    Parameters
    ----------
    jobs : list of FoldJob
    shared : SharedFaces
        Sent to the cluster once (:func:`geoface.cluster.run_tasks`' ``shared``).
    cluster : str, ClusterSpec or distributed.Client
    threads : int, optional
        Threads of each job (default: each worker's share).
    progress : bool, default=True

    Returns
    -------
    results : list of FoldResult
    record : dict
        Where the run happened, per-worker tasks and busy time, and per fold the
        worker, device and seconds (for ``run.json``).
    """
    from geoface.cluster import parse_cluster, run_tasks

    spec = cluster
    if isinstance(cluster, str | os.PathLike):
        spec = parse_cluster(cluster)
    run = run_tasks(
        jobs,
        _fit_remote,
        cluster=spec,
        threads=threads,
        progress=progress,
        unit="fold",
        desc="folds",
        name="geoface-cnn",
        shared={"faces": shared},
        key_of=lambda job: "faces",
    )
    where = spec.to_dict() if hasattr(spec, "to_dict") else {"kind": "client"}
    record = {
        **where,
        "threads_per_task": threads
        if threads is not None
        else (spec.task_threads() if hasattr(spec, "task_threads") else None),
        "run": run.to_dict(),
        "folds": [
            {"fold": r.fold, "worker": w, **r.where, "seconds": round(r.seconds, 3)}
            for r, w in zip(run.results, run.task_workers, strict=True)
        ],
    }
    return run.results, record
