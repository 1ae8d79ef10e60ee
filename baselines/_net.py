"""The network: a torchvision ResNet with a dropout + linear head, and its losses."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torchvision
from torch import nn

from geoface import GeofaceError

__all__ = [
    "ARCHS",
    "CenterLoss",
    "FaceNet",
    "build_net",
    "load_checkpoint",
    "resolve_pretrained",
    "save_checkpoint",
]

ARCHS = ("resnet18", "resnet34", "resnet50")


class FaceNet(nn.Module):
    """A ResNet backbone (``fc`` removed) with a dropout + linear head.

    ``forward`` returns ``(output, embedding)``; the embedding is the pooled
    penultimate feature vector (512-d for ResNet18/34, 2048-d for ResNet50).
    The output is the class logits, or for a regression network (``regression=True``,
    one output) the predicted value in the target's unit: the linear head predicts
    the standardised target, rescaled by the buffers ``target_mean`` and
    ``target_scale`` (set from the training targets before training).
    With ``n_aux`` > 0 an auxiliary linear head (``aux_head``, e.g. one logit per
    Action Unit) sits beside the main one on the same dropped-out embedding;
    :meth:`aux_logits` applies it.
    """

    def __init__(
        self,
        backbone: nn.Module,
        n_classes: int,
        dropout: float,
        *,
        n_aux: int = 0,
        regression: bool = False,
    ):
        super().__init__()
        self.embedding_dim = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.embedding_dim, n_classes)
        self.regression = regression
        if regression:
            self.register_buffer("target_mean", torch.zeros(n_classes))
            self.register_buffer("target_scale", torch.ones(n_classes))
        self.aux_head = nn.Linear(self.embedding_dim, n_aux) if n_aux else None

    def forward(self, x):
        emb = self.backbone(x)
        out = self.head(self.dropout(emb))
        if self.regression:
            out = out.float() * self.target_scale + self.target_mean
        return out, emb

    def aux_logits(self, emb):
        """Logits of the auxiliary head for embeddings ``emb`` (None without one)."""
        if self.aux_head is None:
            return None
        return self.aux_head(self.dropout(emb))


class CenterLoss(nn.Module):
    """Centre loss (Wen et al. 2016): half the mean squared distance to learnt class centres."""

    def __init__(self, n_classes: int, dim: int):
        super().__init__()
        self.centers = nn.Parameter(torch.zeros(n_classes, dim))

    def forward(self, emb, y):
        return 0.5 * ((emb.float() - self.centers[y]) ** 2).sum(dim=1).mean()


def _imagenet_state(arch: str):
    """ImageNet weights from torchvision's cache, or downloaded where that is possible."""
    weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if cached.exists():
        return torch.load(cached, map_location="cpu", weights_only=True)
    try:
        return weights.get_state_dict(progress=False)
    except Exception as exc:  # no network, proxy, HTTP error …
        raise GeofaceError(
            f"cannot fetch ImageNet weights for {arch} ({type(exc).__name__}); place "
            f"{cached.name} in {cached.parent}, pass --pretrained PATH, or use --pretrained none"
        ) from None


def resolve_pretrained(arch: str, pretrained: str, *, allow_download: bool = True):
    """What ``pretrained="auto"`` means on this machine, and a one-line note saying why.

    ``auto`` is ``imagenet`` when torchvision's ImageNet weights for ``arch``
    are in its cache (``$TORCH_HOME/hub/checkpoints``) or can be fetched into
    it now, else ``none`` (from scratch). Other values are returned as given.
    Nothing is fetched when ``allow_download`` is False or the environment
    variable ``GEOFACE_OFFLINE`` is set (tests and CI set it).

    Returns
    -------
    pretrained : str
        ``"imagenet"``, ``"none"`` or the path given.
    note : str or None
        Set for ``auto``: which it became and why (recorded in ``run.json``).
    """
    if pretrained != "auto":
        return pretrained, None
    weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if cached.exists():
        return "imagenet", f"ImageNet weights from {cached}"
    if allow_download and not os.environ.get("GEOFACE_OFFLINE"):
        try:
            weights.get_state_dict(progress=False)  # fills the cache for build_net
            return "imagenet", f"ImageNet weights fetched into {cached}"
        except Exception as exc:  # no network, proxy, HTTP error …
            why = type(exc).__name__
    else:
        why = "downloads not allowed"
    return "none", (
        f"ImageNet weights unavailable ({why}; not in {cached.parent}): trained from scratch"
    )


def build_net(
    arch: str,
    n_classes: int,
    *,
    dropout: float = 0.5,
    pretrained: str = "none",
    n_aux: int = 0,
    regression: bool = False,
):
    """Build a :class:`FaceNet`.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}
    n_classes : int
        Outputs of the main head (1 for a regression network).
    dropout : float
    pretrained : "none", "imagenet" or a path
        A path holds a torchvision-style state dict (``torch.save``), loaded
        with ``weights_only=True``; its ``fc`` weights are ignored.
    n_aux : int, default=0
        Outputs of the auxiliary head (0: none).
    regression : bool, default=False
        The main head predicts a value (see :class:`FaceNet`).

    Returns
    -------
    net : FaceNet
    report : str
        What was loaded.
    """
    if arch not in ARCHS:
        raise GeofaceError(f"arch={arch!r} is not one of {{{', '.join(map(repr, ARCHS))}}}")
    backbone = getattr(torchvision.models, arch)(weights=None)
    report = "random initialisation"
    if pretrained == "imagenet":
        state = _imagenet_state(arch)
        report = "ImageNet (torchvision IMAGENET1K_V1)"
    elif pretrained != "none":
        path = Path(pretrained)
        if not path.exists():
            raise GeofaceError(f"--pretrained {pretrained!r} is not 'imagenet', 'none' or a file")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise GeofaceError(f"cannot load weights from {path}: {exc}") from None
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        state = {k.removeprefix("backbone."): v for k, v in state.items()}
        report = f"weights from {path}"
    if pretrained != "none":
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = backbone.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("fc.")]
        if missing or unexpected:
            raise GeofaceError(
                f"the {arch} weights do not fit: {len(missing)} missing and "
                f"{len(unexpected)} unexpected tensors (e.g. {(missing + unexpected)[:2]})"
            )
    return FaceNet(backbone, n_classes, dropout, n_aux=n_aux, regression=regression), report


def save_checkpoint(path: str | os.PathLike, net, meta: dict) -> None:
    """Save weights and plain metadata (loadable with ``weights_only=True``), atomically."""
    from geoface import atomic_path

    state = {k: v.detach().to("cpu") for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "meta": meta}, tmp)


def load_checkpoint(path: str | os.PathLike, device: str = "cpu"):
    """Rebuild the network saved by :func:`save_checkpoint` (``weights_only=True``)."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise GeofaceError(f"checkpoint {path} does not exist") from None
    meta = ckpt["meta"]
    regression = meta.get("task", "classification") != "classification"
    net, _ = build_net(
        meta["arch"],
        1 if regression else len(meta["classes"]),
        dropout=meta["dropout"],
        n_aux=len(meta.get("aux_targets") or ()),
        regression=regression,
    )
    net.load_state_dict(ckpt["state_dict"])
    return net.to(device).eval(), meta
