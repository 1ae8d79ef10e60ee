"""Training one network: cached faces on the device, augmentation on the device, AMP.

Faces are decoded and resized once; the uint8 tensor of all faces is kept on
the GPU when it fits (else in pinned host memory), and each batch is
augmented there (flip, small rotation/scale/shift, brightness and contrast),
so an epoch costs no decoding at all. On CUDA, training runs in bfloat16
autocast with channels-last tensors.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from geoface import GeofaceError

from ._net import build_net
from ._objectives import Objective, make_objective, masked_bce
from ._recipes import Recipe

__all__ = [
    "FaceStore",
    "Outputs",
    "Runtime",
    "forward_all",
    "predict",
    "resolve_device",
    "train_network",
]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available (else Apple's MPS, else CPU); ``cuda`` without a GPU
    is a one-line error. The same rule as the landmark backends'."""
    from geoface.landmarks import resolve_device as _resolve

    return torch.device(_resolve(device))


@dataclass
class Runtime:
    """Where and how training runs."""

    device: torch.device
    arch: str = "resnet18"
    pretrained: str = "none"
    seed: int = 0
    deterministic: bool = False

    @property
    def amp_dtype(self):
        if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)


class FaceStore:
    """All faces as one uint8 tensor (N, 3, S, S), on the GPU when it fits."""

    def __init__(self, images: np.ndarray, device: torch.device):
        t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
        self.on_device = False
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if t.numel() < 0.4 * free:
                t = t.to(device)
                self.on_device = True
            else:
                t = t.pin_memory()
        self.data = t
        self.device = device
        mean = torch.tensor(_MEAN, device=device).view(1, 3, 1, 1)
        std = torch.tensor(_STD, device=device).view(1, 3, 1, 1)
        self._mean, self._std = mean, std

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, idx: torch.Tensor, *, augment: bool, gen: torch.Generator | None):
        src = self.data[idx.to(self.data.device)]
        x = src.to(self.device, non_blocking=True).float().div_(255.0)
        if augment:
            x = _augment(x, gen)
        x = (x - self._mean) / self._std
        return x.contiguous(memory_format=torch.channels_last)


def _uniform(n, gen, device, low, high):
    return torch.rand(n, generator=gen, device=device) * (high - low) + low


def _augment(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    flip = torch.rand(n, generator=gen, device=dev) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    angle = _uniform(n, gen, dev, -math.radians(10), math.radians(10))
    scale = _uniform(n, gen, dev, 0.95, 1.05)
    tx, ty = _uniform(n, gen, dev, -0.04, 0.04), _uniform(n, gen, dev, -0.04, 0.04)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = _uniform(n, gen, dev, -0.15, 0.15).view(-1, 1, 1, 1)
    contrast = _uniform(n, gen, dev, 0.8, 1.2).view(-1, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp_(0.0, 1.0)


def _set_trainable(net, recipe: Recipe, *, head_only: bool) -> None:
    for p in net.backbone.parameters():
        p.requires_grad_(not head_only)
    for name in recipe.freeze:
        part = getattr(net.backbone, name, None)
        if part is None:
            raise GeofaceError(f"freeze: the network has no part {name!r}")
        part.requires_grad_(False)


def _frozen_to_eval(net, recipe: Recipe, head_only: bool) -> None:
    parts = [net.backbone] if head_only else [getattr(net.backbone, n) for n in recipe.freeze]
    for part in parts:
        part.eval()  # keep frozen batch-norm statistics fixed


@dataclass
class Outputs:
    """What a network says about some faces.

    Attributes
    ----------
    main : ndarray
        Class probabilities, shape (n, n_classes), or predicted values, shape (n,).
    aux : ndarray of shape (n, n_aux) or None
        Probabilities of the auxiliary binary targets (sigmoid of the logits).
    embedding : ndarray of shape (n, embedding_dim)
    """

    main: np.ndarray
    aux: np.ndarray | None
    embedding: np.ndarray


@torch.inference_mode()
def forward_all(net, store: FaceStore, idx: np.ndarray, rt: Runtime, batch_size: int = 256):
    """Every output of the network for the faces ``idx`` (see :class:`Outputs`)."""
    net.eval()
    mains, auxs, embs = [], [], []
    for start in range(0, len(idx), batch_size):
        b = torch.as_tensor(idx[start : start + batch_size], dtype=torch.long)
        with rt.autocast():
            out, emb = net(store.batch(b, augment=False, gen=None))
            aux = net.aux_logits(emb) if getattr(net, "aux_head", None) is not None else None
        if getattr(net, "regression", False):
            mains.append(out.float().view(-1).cpu())
        else:
            mains.append(torch.softmax(out.float(), dim=1).cpu())
        if aux is not None:
            auxs.append(torch.sigmoid(aux.float()).cpu())
        embs.append(emb.float().cpu())
    n_aux = net.aux_head.out_features if getattr(net, "aux_head", None) is not None else 0
    if not mains:
        main = np.zeros(0) if net.regression else np.zeros((0, net.head.out_features))
        return Outputs(
            main, np.zeros((0, n_aux)) if n_aux else None, np.zeros((0, net.embedding_dim))
        )
    return Outputs(
        torch.cat(mains).numpy(),
        torch.cat(auxs).numpy() if auxs else None,
        torch.cat(embs).numpy(),
    )


def predict(net, store: FaceStore, idx: np.ndarray, rt: Runtime, batch_size: int = 256):
    """Class probabilities (or, for a regression network, values) and penultimate embeddings
    of the faces ``idx``."""
    out = forward_all(net, store, idx, rt, batch_size)
    return out.main, out.embedding


@contextlib.contextmanager
def _determinism(rt: Runtime):
    old_det = torch.are_deterministic_algorithms_enabled()
    old_bench = torch.backends.cudnn.benchmark
    try:
        if rt.deterministic:
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        elif rt.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.backends.cudnn.benchmark = old_bench


def train_network(
    store: FaceStore,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    n_classes: int,
    recipe: Recipe,
    rt: Runtime,
    *,
    log=None,
    tag: str = "",
    task: str = "classification",
    loss: str = "l1",
    aux: np.ndarray | None = None,
    aux_weight: float = 0.5,
):
    """Train one network with early stopping on ``val_idx`` (never the test fold).

    Parameters
    ----------
    store : FaceStore
    y : ndarray of shape (n_store,)
        Targets by store index: class indices, or values for ``task="regression"``.
    train_idx, val_idx : ndarray of int
        Store indices to train on and to early-stop on.
    n_classes : int
        Classes of the main head (ignored for regression: one output).
    recipe : Recipe
    rt : Runtime
    log : callable, optional
    tag : str
        Prefix of the progress messages.
    task : {"classification", "regression"}, default="classification"
    loss : {"l1", "smooth_l1", "mse"}, default="l1"
        The regression loss (on standardised targets).
    aux : ndarray of shape (n_store, n_aux), optional
        Auxiliary binary targets (0/1, NaN where missing): an auxiliary head
        is trained beside the main one (see :mod:`baselines._objectives`).
    aux_weight : float, default=0.5

    Returns
    -------
    net : FaceNet
        The weights of the best validation epoch (or the last, without validation).
    history : list of dict
        One row per epoch: stage, epoch, train/val loss and accuracy (regression:
        mean absolute error), lr, seconds, images per second; with an auxiliary
        head also ``val_aux_loss`` (the masked BCE on the validation faces).
    """
    say = log or (lambda msg: None)
    regression = task == "regression"
    n_aux = 0 if aux is None else aux.shape[1]
    cuda_ids = [rt.device.index or 0] if rt.device.type == "cuda" else []
    with _determinism(rt), torch.random.fork_rng(devices=cuda_ids):
        torch.manual_seed(rt.seed)
        net, _ = build_net(
            rt.arch,
            1 if regression else n_classes,
            dropout=recipe.dropout,
            pretrained=rt.pretrained,
            n_aux=n_aux,
            regression=regression,
        )
        net = net.to(rt.device).to(memory_format=torch.channels_last)
        objective = make_objective(
            task,
            y,
            train_idx,
            net,
            n_classes=n_classes,
            label_smoothing=recipe.label_smoothing,
            center_loss=recipe.center_loss,
            loss=loss,
            aux=aux,
            aux_weight=aux_weight,
            device=rt.device,
        )
        gen = torch.Generator(device=rt.device)
        gen.manual_seed(rt.seed)
        cpu_gen = torch.Generator().manual_seed(rt.seed)
        score_name = "mae" if regression else "accuracy"
        history: list[dict] = []
        best = {"loss": math.inf, "state": None, "epoch": 0}
        stages = []
        if recipe.head_epochs:
            stages.append(("head", recipe.head_epochs, recipe.lr, True))
            stages.append(("finetune", recipe.epochs, recipe.lr * recipe.finetune_lr_factor, False))
        else:
            stages.append(("train", recipe.epochs, recipe.lr, False))
        batch_size = recipe.batch_size
        for stage, epochs, lr, head_only in stages:
            _set_trainable(net, recipe, head_only=head_only)
            params = [p for p in net.parameters() if p.requires_grad]
            if objective.center is not None:
                params += list(objective.center.parameters())
            opt_cls = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.Adam
            opt = opt_cls(params, lr=lr, weight_decay=recipe.weight_decay)
            steps = epochs * max(1, math.ceil(len(train_idx) / batch_size))
            sched = (
                torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
                if recipe.schedule == "cosine"
                else None
            )
            step = _Step(objective, recipe, opt, sched, rt, gen, cpu_gen, head_only)
            stale = 0
            for epoch in range(1, epochs + 1):
                t0 = time.perf_counter()
                while True:
                    try:
                        loss_sum, score_sum = _epoch(net, store, train_idx, batch_size, step)
                        break
                    except torch.OutOfMemoryError:
                        if batch_size <= 1:
                            raise GeofaceError(
                                "the GPU ran out of memory even at batch size 1; "
                                "use a smaller --image-size"
                            ) from None
                        batch_size //= 2
                        torch.cuda.empty_cache()
                        say(f"{tag}GPU out of memory: batch size halved to {batch_size}")
                seconds = time.perf_counter() - t0
                row = {
                    "stage": stage,
                    "epoch": epoch,
                    "train_loss": loss_sum / len(train_idx),
                    f"train_{score_name}": score_sum / len(train_idx),
                    "lr": opt.param_groups[0]["lr"],
                    "seconds": round(seconds, 3),
                    "images_per_second": round(len(train_idx) / max(seconds, 1e-9), 1),
                }
                if len(val_idx):
                    row.update(_validate(net, store, val_idx, rt, objective, y))
                history.append(row)
                say(
                    f"{tag}{stage} epoch {epoch}: loss {row['train_loss']:.3f}, "
                    f"{score_name} {row[f'train_{score_name}']:.3f}"
                    + (
                        f", val loss {row['val_loss']:.3f}, "
                        f"val {score_name} {row[f'val_{score_name}']:.3f}"
                        if "val_loss" in row
                        else ""
                    )
                    + f" ({row['images_per_second']:.0f} img/s)"
                )
                if head_only:
                    continue
                if "val_loss" in row and row["val_loss"] < best["loss"] - 1e-6:
                    best = {
                        "loss": row["val_loss"],
                        "epoch": len(history),
                        "state": copy.deepcopy(
                            {k: v.detach().cpu() for k, v in net.state_dict().items()}
                        ),
                    }
                    stale = 0
                elif "val_loss" in row:
                    stale += 1
                    if stale >= recipe.patience:
                        say(f"{tag}early stop after {epoch} epochs (best {best['epoch']})")
                        break
        if best["state"] is not None:
            net.load_state_dict(best["state"])
        for i, row in enumerate(history, start=1):
            row["best"] = i == best["epoch"]
        return net.eval(), history


def _validate(net, store, val_idx, rt, objective: Objective, y) -> dict:
    """Validation loss (early stopping reads it) and score of the main head; aux BCE."""
    out = forward_all(net, store, val_idx, rt)
    row = {}
    if objective.task == "classification":
        p_true = out.main[np.arange(len(val_idx)), y[val_idx]]
        row["val_loss"] = float(-np.log(np.clip(p_true, 1e-15, 1)).mean())
        row["val_accuracy"] = float((out.main.argmax(1) == y[val_idx]).mean())
    else:
        pred = torch.as_tensor(out.main, dtype=torch.float32, device=objective.y.device)
        true = objective.y[torch.as_tensor(val_idx, device=objective.y.device)]
        row["val_loss"] = float(objective.main_loss(pred, true))
        row["val_mae"] = float(np.mean(np.abs(out.main - np.asarray(y, dtype=float)[val_idx])))
    if out.aux is not None:
        p = torch.as_tensor(out.aux, dtype=torch.float32).clamp(1e-7, 1 - 1e-7)
        logits = torch.log(p) - torch.log1p(-p)
        target = objective.aux[torch.as_tensor(val_idx, device=objective.aux.device)].cpu()
        row["val_aux_loss"] = float(masked_bce(logits, target))
    return row


@dataclass
class _Step:
    """What one optimisation step needs besides the batch."""

    objective: Objective
    recipe: Recipe
    opt: torch.optim.Optimizer
    sched: object
    rt: Runtime
    gen: torch.Generator
    cpu_gen: torch.Generator
    head_only: bool


def _epoch(net, store: FaceStore, train_idx: np.ndarray, batch_size: int, step: _Step):
    """One pass over the training faces in a fresh random order.

    Returns the loss sum and the score sum (correct predictions, or absolute errors).
    """
    rt = step.rt
    net.train()
    _frozen_to_eval(net, step.recipe, step.head_only)
    order = torch.as_tensor(train_idx)[torch.randperm(len(train_idx), generator=step.cpu_gen)]
    # accumulate on the device: no host synchronisation inside the loop
    loss_sum = torch.zeros((), device=rt.device)
    score_sum = torch.zeros((), device=rt.device)
    for start in range(0, len(order), batch_size):
        b = order[start : start + batch_size]
        if len(b) < 2 and len(order) > 1:
            continue  # batch norm needs two samples; the next epoch reshuffles
        x = store.batch(b, augment=True, gen=step.gen)
        with rt.autocast():
            out, emb = net(x)
            loss = step.objective.loss(net, out, emb, b)
        step.opt.zero_grad(set_to_none=True)
        loss.backward()
        step.opt.step()
        if step.sched is not None:
            step.sched.step()
        loss_sum += loss.detach() * len(b)
        score_sum += step.objective.score(out.detach(), b)
    return float(loss_sum), float(score_sum)
