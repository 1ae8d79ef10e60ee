"""Named training recipes, as the source studies trained their ResNets.

``two-stage``
    Train the new head on a frozen backbone, then fine-tune the whole network
    at a tenth of the rate (the classic transfer-learning recipe).
``infant``
    No frozen layers, dropout 0.5, lr 5e-4, weight decay 5e-4, label smoothing
    0.05, centre loss weight 0.0035, early stopping.
``adult``
    Stem and ``layer1`` frozen, dropout 0.7, lr 1e-5, weight decay 2e-3,
    early-stopping patience 8.

Every field can be overridden on its own (``--epochs``, ``--lr`` …).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from geoface import GeofaceError

__all__ = ["RECIPES", "Recipe", "resolve_recipe"]


@dataclass(frozen=True)
class Recipe:
    """How one network is trained.

    Attributes
    ----------
    name : str
    epochs : int
        Maximum epochs (of the fine-tuning stage for ``two-stage``).
    head_epochs : int
        Epochs of head-only training on a frozen backbone first (0: none).
    lr : float
        Learning rate (of the head stage when ``head_epochs`` > 0; the
        fine-tuning stage then uses ``lr * finetune_lr_factor``).
    finetune_lr_factor : float
    weight_decay : float
    dropout : float
        Before the classification layer.
    label_smoothing : float
    center_loss : float
        Weight of the centre loss on the penultimate features (0: off).
    freeze : tuple of str
        Backbone parts kept frozen throughout (``conv1``, ``bn1``, ``layer1`` …).
    patience : int
        Early-stopping patience in epochs on the inner validation loss.
    batch_size : int
    optimizer : {"adamw", "adam"}
    schedule : {"cosine", "none"}
    """

    name: str
    epochs: int = 30
    head_epochs: int = 0
    lr: float = 5e-4
    finetune_lr_factor: float = 0.1
    weight_decay: float = 5e-4
    dropout: float = 0.5
    label_smoothing: float = 0.0
    center_loss: float = 0.0
    freeze: tuple[str, ...] = ()
    patience: int = 5
    batch_size: int = 64
    optimizer: str = "adamw"
    schedule: str = "cosine"


RECIPES: dict[str, Recipe] = {
    "two-stage": Recipe(
        "two-stage", epochs=20, head_epochs=5, lr=1e-3, weight_decay=1e-4, dropout=0.2, patience=5
    ),
    "infant": Recipe(
        "infant",
        epochs=30,
        lr=5e-4,
        weight_decay=5e-4,
        dropout=0.5,
        label_smoothing=0.05,
        center_loss=0.0035,
        patience=5,
    ),
    "adult": Recipe(
        "adult",
        epochs=40,
        lr=1e-5,
        weight_decay=2e-3,
        dropout=0.7,
        freeze=("conv1", "bn1", "layer1"),
        patience=8,
    ),
}

_FIELDS = {f.name for f in fields(Recipe)}


def resolve_recipe(name: str, **overrides) -> Recipe:
    """The recipe ``name`` with the given fields replaced (``None`` values are ignored)."""
    if name not in RECIPES:
        choices = ", ".join(repr(k) for k in RECIPES)
        raise GeofaceError(f"recipe={name!r} is not one of {{{choices}}}")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - _FIELDS)
    if unknown:
        raise GeofaceError(f"unknown recipe setting(s) {unknown}")
    recipe = replace(RECIPES[name], **given)
    if recipe.epochs < 1 or recipe.batch_size < 1 or recipe.lr <= 0:
        raise GeofaceError("epochs and batch size must be at least 1 and lr positive")
    if not 0 <= recipe.dropout < 1:
        raise GeofaceError(f"dropout={recipe.dropout} must be in [0, 1)")
    return recipe
