"""Drawing whole subjects with replacement, shared by every subject bootstrap.

A replicate is a vector of counts, one per subject: how often that subject
was drawn. A replicate's statistic is then the counts times per-subject sums
(confusion matrices, error sums …), so thousands of replicates cost one
matrix product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["draw_subjects", "per_subject_confusion"]


def draw_subjects(
    groups: np.ndarray, n_boot: int, random_state: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap draws of whole subjects.

    Parameters
    ----------
    groups : ndarray of shape (n,)
        Subject of each row.
    n_boot : int
        Number of replicates.
    random_state : int, Generator or None, default=0

    Returns
    -------
    codes : ndarray of int, shape (n,)
        Each row's subject as an index into the sorted distinct subjects.
    draws : ndarray of int, shape (n_boot, n_groups)
        How often each subject is drawn in each replicate (rows sum to ``n_groups``).
    """
    codes, uniques = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    n_groups = len(uniques)
    rng = np.random.default_rng(random_state)
    draws = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot)
    return codes, draws


def per_subject_confusion(
    codes: np.ndarray, n_groups: int, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
) -> np.ndarray:
    """Each subject's flattened confusion matrix, shape (n_groups, n_classes ** 2)."""
    k = int(n_classes)
    out = np.zeros((n_groups, k * k))
    flat = np.asarray(y_true, dtype=np.int64) * k + np.asarray(y_pred, dtype=np.int64)
    np.add.at(out, (codes, flat), 1.0)
    return out
