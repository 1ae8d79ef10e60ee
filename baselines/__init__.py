"""The ResNet image baseline, trained and evaluated on geoface's shared folds.

A faithful, better-engineered version of the fine-tuned ResNet18 that infant
expression studies use: the same faces the geometric models saw (cropped and
aligned from the extract step's landmarks), the same subject-grouped folds,
early stopping on an inner grouped validation split, and the same run
directory as ``geoface fit`` so that ``compare`` and ``fuse`` can read it.
It also learns ages (``task="age"``, a regression head, e.g. to sort faces into
developmental age groups) and Action Units beside the emotion (auxiliary heads).
"""

from ._faces import FaceSet, load_faces
from ._objectives import REGRESSION_LOSSES, combined_loss, masked_bce
from ._predict import BaselineRun
from ._recipes import RECIPES, Recipe, resolve_recipe
from ._run import train_baseline
from ._targets import TASKS

__all__ = [
    "RECIPES",
    "REGRESSION_LOSSES",
    "TASKS",
    "BaselineRun",
    "FaceSet",
    "Recipe",
    "combined_loss",
    "load_faces",
    "masked_bce",
    "resolve_recipe",
    "train_baseline",
]
