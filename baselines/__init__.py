"""The ResNet image baseline, trained and evaluated on geoface's shared folds.

A faithful, better-engineered version of the fine-tuned ResNet18 that infant
expression studies use: the same faces the geometric models saw (cropped and
aligned from the extract step's landmarks), the same subject-grouped folds,
early stopping on an inner grouped validation split, and the same run
directory as ``geoface fit`` so that ``compare`` and ``fuse`` can read it.
"""

from ._faces import FaceSet, load_faces
from ._recipes import RECIPES, Recipe, resolve_recipe
from ._run import BaselineRun, train_baseline

__all__ = [
    "RECIPES",
    "BaselineRun",
    "FaceSet",
    "Recipe",
    "load_faces",
    "resolve_recipe",
    "train_baseline",
]
