"""What a network is trained to minimise: the main head's loss plus optional auxiliary terms.

Classification (the emotion head)
    Class-weighted cross-entropy with label smoothing, plus the recipe's centre
    loss on the penultimate features.
Regression (the age head)
    L1 (the default), smooth-L1 (Huber, δ = 1) or MSE between the predicted and
    true target, both standardised by the training targets' mean and standard
    deviation, so one learning rate suits ages in years or in months.
Auxiliary binary heads (Action Units)
    ``aux_weight`` × the mean binary cross-entropy with logits over the
    *observed* entries of the batch; a missing value (NaN) contributes neither
    to the loss nor to the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from geoface import GeofaceError

__all__ = ["REGRESSION_LOSSES", "Objective", "combined_loss", "masked_bce", "regression_loss"]

#: Loss names accepted for the regression head.
REGRESSION_LOSSES = ("l1", "smooth_l1", "mse")


def masked_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy with logits over the observed (finite) targets.

    Parameters
    ----------
    logits : Tensor of shape (batch, n_targets)
    targets : Tensor of shape (batch, n_targets)
        0/1 where observed, NaN where missing.

    Returns
    -------
    Tensor
        A scalar: the sum of the per-entry losses over observed entries divided
        by their number (0 when nothing is observed). Missing entries get no
        gradient.
    """
    observed = torch.isfinite(targets)
    safe = torch.where(observed, targets, torch.zeros_like(targets))
    per_entry = F.binary_cross_entropy_with_logits(logits.float(), safe.float(), reduction="none")
    per_entry = torch.where(observed, per_entry, torch.zeros_like(per_entry))
    return per_entry.sum() / observed.sum().clamp(min=1)


def combined_loss(
    main: torch.Tensor,
    aux_logits: torch.Tensor | None,
    aux_targets: torch.Tensor | None,
    aux_weight: float,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``main + aux_weight × masked_bce(aux_logits, aux_targets)``.

    Returns
    -------
    total : Tensor
    aux : Tensor or None
        The masked BCE term alone (None without an auxiliary head).
    """
    if aux_logits is None or aux_targets is None:
        return main, None
    aux = masked_bce(aux_logits, aux_targets)
    return main + aux_weight * aux, aux


def regression_loss(name: str):
    """The elementwise-mean loss function called ``name`` (see :data:`REGRESSION_LOSSES`)."""
    losses = {"l1": F.l1_loss, "smooth_l1": F.smooth_l1_loss, "mse": F.mse_loss}
    if name not in losses:
        raise GeofaceError(
            f"loss={name!r} is not one of {{{', '.join(map(repr, REGRESSION_LOSSES))}}}"
        )
    return losses[name]


@dataclass
class Objective:
    """The loss of one batch, and the score summed over an epoch.

    Attributes
    ----------
    task : {"classification", "regression"}
    y : Tensor of shape (n_store,)
        Targets by face-store index: class indices (long) or values (float).
    main_loss : callable
        ``main_loss(output, y_batch)`` → scalar.
    center : module, optional
        Centre loss on the embeddings (classification only).
    center_weight : float
    aux : Tensor of shape (n_store, n_aux), optional
        Auxiliary binary targets (NaN where missing).
    aux_weight : float
    """

    task: str
    y: torch.Tensor
    main_loss: object
    center: torch.nn.Module | None = None
    center_weight: float = 0.0
    aux: torch.Tensor | None = None
    aux_weight: float = 0.0

    def loss(self, net, out: torch.Tensor, emb: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The total loss of the batch of store indices ``b``."""
        yb = self.y[b.to(self.y.device)]
        main = self.main_loss(out, yb)
        if self.center is not None:
            main = main + self.center_weight * self.center(emb, yb)
        if self.aux is None:
            return main
        aux_t = self.aux[b.to(self.aux.device)]
        total, _ = combined_loss(main, net.aux_logits(emb), aux_t, self.aux_weight)
        return total

    def score(self, out: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Correct predictions (classification) or the absolute error sum (regression)."""
        yb = self.y[b.to(self.y.device)]
        if self.task == "classification":
            return (out.argmax(1) == yb).sum()
        return (out.float().view(-1) - yb).abs().sum()


def make_objective(
    task: str,
    y: np.ndarray,
    train_idx: np.ndarray,
    net,
    *,
    n_classes: int,
    label_smoothing: float = 0.0,
    center_loss: float = 0.0,
    loss: str = "l1",
    aux: np.ndarray | None = None,
    aux_weight: float = 0.0,
    device: torch.device,
) -> Objective:
    """Build the objective of one network from its training rows.

    Classification weights the classes by the inverse of their frequency among
    ``train_idx``; regression sets ``net.target_mean`` and ``net.target_scale``
    to the training targets' mean and standard deviation.
    """
    from ._net import CenterLoss

    aux_t = None if aux is None else torch.as_tensor(aux, dtype=torch.float32, device=device)
    if task == "classification":
        y_t = torch.as_tensor(y, dtype=torch.long, device=device)
        counts = np.bincount(y[train_idx], minlength=n_classes).astype(float)
        weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
        ce = torch.nn.CrossEntropyLoss(
            weight=torch.as_tensor(weights, dtype=torch.float32, device=device),
            label_smoothing=label_smoothing,
        )
        center = CenterLoss(n_classes, net.embedding_dim).to(device) if center_loss else None
        return Objective(
            task,
            y_t,
            lambda out, yb: ce(out.float(), yb),
            center=center,
            center_weight=center_loss,
            aux=aux_t,
            aux_weight=aux_weight,
        )
    fn = regression_loss(loss)
    values = np.asarray(y, dtype=float)[train_idx]
    mean = float(values.mean()) if len(values) else 0.0
    scale = float(values.std()) if len(values) > 1 else 0.0
    scale = scale if scale > 1e-8 else 1.0
    with torch.no_grad():
        net.target_mean.fill_(mean)
        net.target_scale.fill_(scale)
    y_t = torch.as_tensor(np.nan_to_num(np.asarray(y, dtype=float)), dtype=torch.float32)
    y_t = y_t.to(device)

    def main_loss(out, yb):
        return fn((out.float().view(-1) - mean) / scale, (yb - mean) / scale)

    return Objective(task, y_t, main_loss, aux=aux_t, aux_weight=aux_weight)
