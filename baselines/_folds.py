"""The folds of a baseline run: the shared splits (made like ``geoface split`` when none are
given) and, inside each training fold, the inner validation subjects for early stopping."""

from __future__ import annotations

import numpy as np

from geoface.splits import Splits, make_splits

from ._age import age_strata

__all__ = ["inner_validation", "make_baseline_splits"]


def inner_validation(y, groups, seed: int, fraction: float = 0.2) -> np.ndarray:
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


def make_baseline_splits(frame, status, target, group, folds, seed, ages=None) -> Splits:
    """Folds of the usable rows like ``geoface split``; for ages, stratified by age quantiles."""
    ok = status == "ok"
    usable = frame[["id", group]].assign(qc_status=np.where(ok, "ok", "excluded"))
    stratum = target
    if ages is None:
        usable[target] = frame[target].to_numpy()
    else:
        stratum = f"{target}_stratum"
        strata = np.full(len(frame), None, dtype=object)
        strata[ok] = age_strata(ages[ok], frame.loc[ok, group].astype(str).to_numpy(), folds)
        usable[stratum] = strata
    splits = make_splits(usable, group=group, target=stratum, folds=folds, seed=seed)
    splits.info["excluded"] = {}
    if ages is not None:
        splits.info["stratified_by"] = f"quantiles of the subjects' mean {target}"
    return splits
