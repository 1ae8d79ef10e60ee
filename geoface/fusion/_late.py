"""Late fusion: combining runs' out-of-fold class probabilities.

* ``mean`` — the plain average of the runs' probabilities; nothing is learnt.
* ``weighted`` — a weighted average with one non-negative weight per run,
  the weights summing to 1, chosen to minimise the log loss (cross-entropy)
  of the mixture. The loss is convex in the weights, so the optimum over the
  simplex is found exactly (SLSQP, checked against the simplex's corners
  and the plain average).
* ``stack`` — a multinomial logistic regression (scikit-learn, L2, ``C=1``,
  ``class_weight="balanced"`` as for every geoface classifier) on the runs'
  log-probabilities side by side (floored at ``1e-6``).

Whatever is learnt is learnt per outer fold from the **other folds' rows
only** (their out-of-fold probabilities and labels) and applied to the held
-out fold, so no fold's fused prediction depends on its own labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import GeofaceError
from ..runs import fold_score_row

__all__ = ["LATE_METHODS", "Combiner", "LateResult", "fit_combiner", "late_fusion"]

#: Late-fusion methods and what each learns.
LATE_METHODS: dict[str, str] = {
    "mean": "plain average of the runs' out-of-fold probabilities",
    "weighted": "average with one non-negative weight per run (summing to 1) minimising "
    "log loss, learnt on the training folds",
    "stack": "multinomial logistic regression on the runs' log-probabilities, learnt on the "
    "training folds",
}

#: Probabilities are floored here for the log loss of the weighted mixture.
EPS = 1e-15
#: Probabilities are floored here before the logarithm the stacking model reads.
STACK_FLOOR = 1e-6


def _mixture_loss(w: np.ndarray, q: np.ndarray) -> float:
    return float(-np.log(np.maximum(w @ q, EPS)).mean())


def fit_weights(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Simplex weights minimising the log loss of the weighted average of the runs.

    Parameters
    ----------
    proba : ndarray of shape (n_runs, n, n_classes)
    y : ndarray of int, shape (n,)

    Returns
    -------
    ndarray of shape (n_runs,)
        Non-negative, summing to 1.
    """
    from scipy.optimize import minimize

    n_runs = proba.shape[0]
    q = proba[:, np.arange(proba.shape[1]), y]  # (R, n): each run's probability of the truth

    def grad(w):
        mix = np.maximum(w @ q, EPS)
        return -(q / mix).mean(axis=1)

    uniform = np.full(n_runs, 1.0 / n_runs)
    res = minimize(
        _mixture_loss,
        uniform,
        args=(q,),
        jac=lambda w, q: grad(w),
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n_runs,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": np.ones_like}],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    found = np.clip(np.asarray(res.x, dtype=float), 0.0, None)
    found = found / found.sum() if found.sum() > 0 else uniform
    candidates = [found, uniform, *np.eye(n_runs)]
    losses = [_mixture_loss(w, q) for w in candidates]
    return candidates[int(np.argmin(losses))]


def _one_blas_thread():
    """Single-threaded BLAS for the small problems fusion solves (threads only add waiting)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def stack_features(proba: np.ndarray) -> np.ndarray:
    """The stacking model's input: each run's log-probabilities side by side.

    Parameters
    ----------
    proba : ndarray of shape (n_runs, n, n_classes)

    Returns
    -------
    ndarray of shape (n, n_runs * n_classes)
        Run-major: the first ``n_classes`` columns are the first run's.
    """
    r, n, k = proba.shape
    return np.log(np.clip(proba, STACK_FLOOR, 1.0)).transpose(1, 0, 2).reshape(n, r * k)


@dataclass
class Combiner:
    """What one late-fusion fit learnt, and how to apply it.

    Attributes
    ----------
    method : {"mean", "weighted", "stack"}
    weights : ndarray of shape (n_runs,), optional
        ``mean`` and ``weighted``.
    model : LogisticRegression, optional
        ``stack``: fitted on the classes present in its training rows.
    present : ndarray of int, optional
        ``stack``: those classes' indices.
    """

    method: str
    weights: np.ndarray | None = None
    model: Any = None
    present: np.ndarray | None = None

    def predict(self, proba: np.ndarray) -> np.ndarray:
        """Fused probabilities of runs' probabilities ``(n_runs, n, k)``: shape (n, k)."""
        if self.method == "stack":
            out = np.zeros(proba.shape[1:])
            with _one_blas_thread():
                out[:, self.present] = self.model.predict_proba(stack_features(proba))
            return out
        mix = np.tensordot(self.weights, proba, axes=1)
        return mix / mix.sum(axis=1, keepdims=True)

    def run_weights(self, n_classes: int) -> np.ndarray:
        """One number per run: its weight, or (``stack``) its share of the absolute coefficients."""
        if self.method != "stack":
            return np.asarray(self.weights, dtype=float)
        coef = np.abs(np.atleast_2d(self.model.coef_))
        per_run = coef.reshape(coef.shape[0], -1, n_classes).sum(axis=(0, 2))
        return per_run / per_run.sum() if per_run.sum() > 0 else per_run

    def describe(self, names, classes) -> dict:
        """A JSON-ready record of what was learnt."""
        doc: dict = {
            "weights": dict(
                zip(names, np.round(self.run_weights(len(classes)), 6).tolist(), strict=True)
            )
        }
        if self.method == "stack":
            doc["weights_are"] = "share of the absolute stacking coefficients"
            doc["classes_present"] = [int(c) for c in self.present]
            doc["coef"] = np.round(np.atleast_2d(self.model.coef_), 6).tolist()
            doc["intercept"] = np.round(np.atleast_1d(self.model.intercept_), 6).tolist()
            doc["feature_names"] = [f"{n}:log_proba_{c}" for n in names for c in classes]
        return doc


def fit_combiner(method: str, proba: np.ndarray, y: np.ndarray, *, seed: int = 0) -> Combiner:
    """Learn a late-fusion combiner from runs' probabilities and the true labels.

    Parameters
    ----------
    method : {"mean", "weighted", "stack"}
    proba : ndarray of shape (n_runs, n, n_classes)
    y : ndarray of int, shape (n,)
    seed : int, default=0

    Returns
    -------
    Combiner
    """
    n_runs = proba.shape[0]
    if method == "mean":
        return Combiner(method, weights=np.full(n_runs, 1.0 / n_runs))
    if method == "weighted":
        return Combiner(method, weights=fit_weights(proba, y))
    if method == "stack":
        from sklearn.linear_model import LogisticRegression

        present, local = np.unique(y, return_inverse=True)
        if len(present) < 2:
            raise GeofaceError(
                "a training fold holds a single class; use fewer folds or merge rare classes"
            )
        model = LogisticRegression(
            C=1.0, class_weight="balanced", max_iter=10000, random_state=seed
        )
        with _one_blas_thread():
            model.fit(stack_features(proba), local)
        return Combiner(method, model=model, present=present)
    raise GeofaceError(f"method={method!r} is not one of {set(LATE_METHODS)}")


@dataclass
class LateResult:
    """Out-of-fold fused probabilities and what each fold learnt.

    Attributes
    ----------
    proba : ndarray of shape (n_used, n_classes)
    combiners : list of Combiner
        One per fold, in :attr:`folds` order (each learnt without its fold).
    folds : list of int
    final : Combiner
        Learnt on every row (what a model refitted on all faces would use).
    fold_scores : list of dict
        The overfitting report: the fold's combiner scored on its training
        rows and on its held-out rows.
    """

    proba: np.ndarray
    combiners: list = field(default_factory=list)
    folds: list = field(default_factory=list)
    final: Combiner | None = None
    fold_scores: list = field(default_factory=list)


def late_fusion(
    proba: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    method: str,
    *,
    seed: int = 0,
    progress=None,
) -> LateResult:
    """Fuse runs' out-of-fold probabilities, learning only from the training folds.

    For every outer fold ``k`` the combiner is fit on the rows of the other
    folds (their out-of-fold probabilities and labels) and predicts fold
    ``k``; the labels of fold ``k`` are never read for fold ``k``.

    Parameters
    ----------
    proba : ndarray of shape (n_runs, n, n_classes)
    y : ndarray of int, shape (n,)
    fold : ndarray of int, shape (n,)
    method : {"mean", "weighted", "stack"}
    seed : int, default=0
    progress : callable, optional

    Returns
    -------
    LateResult
    """
    k = proba.shape[2]
    out = np.zeros(proba.shape[1:])
    result = LateResult(proba=out)
    for f in np.unique(fold):
        test = fold == f
        train = ~test
        t0 = time.perf_counter()
        comb = fit_combiner(method, proba[:, train], y[train], seed=seed)
        out[test] = comb.predict(proba[:, test])
        train_pred = comb.predict(proba[:, train]).argmax(axis=1)
        row = fold_score_row(f, y[train], train_pred, y[test], out[test].argmax(axis=1), k)
        row["fit_seconds"] = round(time.perf_counter() - t0, 3)
        result.fold_scores.append(row)
        result.combiners.append(comb)
        result.folds.append(int(f))
        if progress is not None:
            w = ", ".join(f"{v:.2f}" for v in comb.run_weights(k))
            progress(
                f"fold {int(f)}: held-out balanced accuracy {row['test_balanced_accuracy']:.3f} "
                f"(training folds {row['train_balanced_accuracy']:.3f}); weights {w}"
            )
    result.final = fit_combiner(method, proba, y, seed=seed)
    return result
