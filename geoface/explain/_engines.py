"""The SHAP explainers behind ``geoface explain``, one per kind of model.

=========  ==============================  =================  ====================
explainer  models                          space              exact?
=========  ==============================  =================  ====================
tree       ``xgb``, ``rf``                 margin (``xgb``),  exact TreeSHAP
                                           probability
                                           (``rf``)
linear     ``logreg``, ``svm-linear``      logit (``logreg``) exact
                                           decision value
                                           (``svm-linear``)
partition  any model (``svm`` by default)  probability        Owen values on the
                                                              region hierarchy,
                                                              up to a budget
=========  ==============================  =================  ====================

* **tree** — for XGBoost, XGBoost's own TreeSHAP (``pred_contribs=True``),
  which is the algorithm ``shap.TreeExplainer`` runs for XGBoost models
  (Lundberg et al. 2020), in multi-threaded C++; the values are in the
  model's *margin* space: the raw score of each class before the softmax
  (log-odds for two classes). For random forests, ``shap.TreeExplainer``
  (path-dependent), in probability space. The background is the training
  data, as recorded in the trees' node covers.
* **linear** — the pipeline standardises, then applies a linear function,
  so the exact SHAP value of feature ``j`` for output ``k`` is
  ``w_kj · z_j`` with ``z`` the standardised feature: the scaler's mean is
  the training mean, so the background is the model's training data and the
  base value is the intercept. ``logreg`` is explained in logit space (the
  multinomial logits), ``svm-linear`` in the space of the linear SVM's
  one-vs-rest decision values, before Platt scaling.
* **partition** — model-agnostic: ``shap.PartitionExplainer`` on
  ``predict_proba`` (probability space), with a partition masker whose
  clustering is the region hierarchy (:meth:`FeatureHierarchy.linkage`) and a
  background of ``background`` k-means centres of the model's training faces.
  One face costs at most ``max_evals × background`` model evaluations; the
  explainer spends them on the coalitions with the largest effects first
  (regions before triangles before single features) and shares the value of
  any coalition it does not split further evenly among its features. Region
  totals are therefore resolved first and best; single features less so.
  Faces are shared between threads (the SVM's ``predict_proba`` runs outside
  Python's lock). Measured on a 2-core machine: an RBF-SVM cross-validated
  on 1,000 faces is explained at about 0.5 s per face with the defaults
  (20 background centres × 300 evaluations), so 1,000 faces take about
  9 minutes; ``geoface explain`` explains at most 300 faces with it unless
  told otherwise.

For two classes, the margin, logit and decision spaces hold one number (the
log-odds or score of the second class); the first class's values are its
negation, so that every class has values.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .._errors import GeofaceError
from ._hierarchy import FeatureHierarchy

__all__ = [
    "DEFAULT_EXPLAINER",
    "EXPLAINERS",
    "SPACE_DESCRIPTIONS",
    "EngineResult",
    "explain_estimator",
    "import_shap",
    "resolve_explainer",
    "space_of",
    "summarise_background",
]

#: Explainer name → what it is (the CLI's ``--explainer`` choices read this).
EXPLAINERS: dict[str, str] = {
    "tree": "exact TreeSHAP (xgb: margin space; rf: probability space)",
    "linear": "exact linear SHAP on standardised features (logreg: logits; svm-linear: "
    "decision values)",
    "partition": "model-agnostic SHAP partition explainer on predict_proba with the region "
    "hierarchy as its coalitions (probability space; cost capped by --max-evals, --background "
    "and --max-rows)",
}

#: The explainer each model gets by default.
DEFAULT_EXPLAINER: dict[str, str] = {
    "xgb": "tree",
    "rf": "tree",
    "logreg": "linear",
    "svm-linear": "linear",
    "svm": "partition",
    "ensemble": "partition",
}

_COMPATIBLE: dict[str, frozenset[str]] = {
    "tree": frozenset({"xgb", "rf"}),
    "linear": frozenset({"logreg", "svm-linear"}),
    "partition": frozenset(DEFAULT_EXPLAINER),
}

_SPACES: dict[tuple[str, str], str] = {
    ("tree", "xgb"): "margin",
    ("tree", "rf"): "probability",
    ("linear", "logreg"): "logit",
    ("linear", "svm-linear"): "decision",
}

#: What each space's numbers mean, for explain.json and figure labels.
SPACE_DESCRIPTIONS: dict[str, str] = {
    "margin": "XGBoost margin: each class's raw score before the softmax (log-odds units)",
    "logit": "logistic-regression logits (log-odds units)",
    "decision": "linear-SVM one-vs-rest decision values (before Platt scaling)",
    "probability": "predicted class probability",
}


def resolve_explainer(model: str, explainer: str = "auto") -> str:
    """The explainer to use for ``model``; a one-line error when there is none.

    Parameters
    ----------
    model : str
        The run's model name (``xgb``, ``svm`` …).
    explainer : {"auto", "tree", "linear", "partition"}, default="auto"

    Returns
    -------
    str
    """
    if model not in DEFAULT_EXPLAINER:
        raise GeofaceError(
            f"model {model!r} has no SHAP explainer in geoface; 'geoface explain' explains the "
            f"geometric models {{{', '.join(repr(m) for m in DEFAULT_EXPLAINER)}}} of "
            "'geoface fit' runs"
        )
    if explainer == "auto":
        return DEFAULT_EXPLAINER[model]
    if explainer not in _COMPATIBLE:
        choices = ", ".join(repr(k) for k in ("auto", *_COMPATIBLE))
        raise GeofaceError(f"explainer={explainer!r} is not one of {{{choices}}}")
    if model not in _COMPATIBLE[explainer]:
        ok = sorted(k for k, models in _COMPATIBLE.items() if model in models)
        raise GeofaceError(
            f"explainer={explainer!r} cannot explain a {model!r} model; use one of {ok} (or 'auto')"
        )
    return explainer


def space_of(explainer: str, model: str) -> str:
    """The output space the values of ``explainer`` on ``model`` are in."""
    return _SPACES.get((explainer, model), "probability")


@dataclass
class EngineResult:
    """SHAP values of one model on some faces, for the classes that model knows.

    Attributes
    ----------
    values : ndarray of shape (n, n_features, n_local_classes)
    base_values : ndarray of shape (n, n_local_classes)
    output : ndarray of shape (n, n_local_classes)
        The model's own output in the explainer's space, computed separately;
        ``values.sum(axis=1) + base_values`` equals it.
    evaluations : int
        Rows the model was evaluated on while explaining (partition only).
    """

    values: np.ndarray
    base_values: np.ndarray
    output: np.ndarray
    evaluations: int = 0


def import_shap():
    """Import SHAP (lazily), quieting the deprecation notice its import raises in matplotlib.

    SHAP's colour maps call a matplotlib method that matplotlib ≥ 3.10 marks as
    pending deprecation; that notice is about SHAP's code, not the user's, so
    it is ignored for the duration of the import only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="The set_(bad|over|under) function",
            category=PendingDeprecationWarning,
        )
        try:
            import shap
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ImportError("geoface explain needs shap: pip install shap") from exc
    return shap


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _two_sided(a: np.ndarray) -> np.ndarray:
    """One log-odds column for the second of two classes → both classes' columns."""
    return np.concatenate([-a, a], axis=-1) if a.shape[-1] == 1 else a


def _tree_xgb(model, X: np.ndarray, n_jobs: int | None) -> EngineResult:
    import xgboost as xgb

    booster = model.get_booster()
    if n_jobs is not None:
        booster.set_param({"nthread": int(n_jobs)})
    dm = xgb.DMatrix(X, nthread=-1 if n_jobs is None else int(n_jobs))
    contribs = booster.predict(dm, pred_contribs=True, strict_shape=True)  # (n, G, F + 1)
    margin = booster.predict(dm, output_margin=True, strict_shape=True)  # (n, G)
    values = np.asarray(contribs[:, :, :-1], dtype=float).transpose(0, 2, 1)
    base = np.asarray(contribs[:, :, -1], dtype=float)
    return EngineResult(_two_sided(values), _two_sided(base), _two_sided(margin.astype(float)))


def _tree_sklearn(model, X: np.ndarray) -> EngineResult:
    shap = import_shap()
    explainer = shap.TreeExplainer(model)
    values = np.asarray(explainer.shap_values(X), dtype=float)
    if values.ndim == 2:  # a single output
        values = values[:, :, None]
    base = np.broadcast_to(np.atleast_1d(explainer.expected_value), (len(X), values.shape[2]))
    return EngineResult(values, np.array(base, dtype=float), model.predict_proba(X))


def _linear(model, X: np.ndarray) -> EngineResult:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.preprocessing import StandardScaler

    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], StandardScaler) or len(steps) != 2:
        raise GeofaceError(
            "the linear explainer needs a Pipeline(StandardScaler, linear model) as "
            "'geoface fit' makes; use --explainer partition for this model"
        )
    scaler, clf = steps[0][1], steps[1][1]
    if isinstance(clf, CalibratedClassifierCV):
        if len(clf.calibrated_classifiers_) != 1:
            raise GeofaceError("the linear explainer needs a calibrated SVM with ensemble=False")
        clf = clf.calibrated_classifiers_[0].estimator
    if not hasattr(clf, "coef_"):
        raise GeofaceError(f"{type(clf).__name__} is not linear; use --explainer partition")
    z = scaler.transform(X)
    coef = np.atleast_2d(clf.coef_)  # (G, F)
    values = z[:, :, None] * coef.T[None, :, :]
    base = np.broadcast_to(np.atleast_1d(clf.intercept_).astype(float), (len(X), len(coef)))
    output = np.asarray(clf.decision_function(z), dtype=float).reshape(len(X), -1)
    return EngineResult(_two_sided(values), _two_sided(np.array(base)), _two_sided(output))


def summarise_background(X: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` k-means centres of ``X`` (clustered on standardised features).

    Parameters
    ----------
    X : ndarray of shape (n_faces, n_features)
        The faces the model was trained on.
    n : int
        Number of centres; all distinct faces are returned when there are
        no more than ``n``.
    seed : int, default=0

    Returns
    -------
    ndarray of shape (n_centres, n_features)
        In the units of ``X``.
    """
    from sklearn.cluster import KMeans

    X = np.asarray(X, dtype=float)
    unique = np.unique(X, axis=0)
    if len(unique) <= n:
        return unique
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    km = KMeans(n_clusters=n, n_init=3, random_state=seed).fit((X - mean) / scale)
    return km.cluster_centers_ * scale + mean


@contextlib.contextmanager
def _seeded_numpy_global(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for a block and restore its state afterwards.

    SHAP's partition explainer breaks ties in its priority queue with
    ``np.random.randn``; seeding it here makes the values reproducible without
    changing the state anyone else sees.
    """
    # SHAP draws from the legacy global generator, so that is the one to seed
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _partition(
    model,
    X: np.ndarray,
    background: np.ndarray,
    hierarchy: FeatureHierarchy,
    *,
    max_evals: int,
    seed: int,
    n_jobs: int = 1,
) -> EngineResult:
    from concurrent.futures import ThreadPoolExecutor

    shap = import_shap()
    clustering = hierarchy.linkage()
    background = np.asarray(background, dtype=float)

    def explain_chunk(rows: np.ndarray):
        evaluated = [0]

        def predict(Z):
            evaluated[0] += len(Z)
            return model.predict_proba(Z)

        masker = shap.maskers.Partition(
            background, max_samples=len(background), clustering=clustering
        )
        sv = shap.PartitionExplainer(predict, masker)(rows, max_evals=max_evals, silent=True)
        return sv.values, sv.base_values, evaluated[0]

    chunks = [c for c in np.array_split(X, max(1, min(n_jobs, len(X)))) if len(c)]
    with _seeded_numpy_global(seed):
        if len(chunks) == 1:
            parts = [explain_chunk(chunks[0])]
        else:  # the models' predict_proba releases the GIL: threads share the cores
            with ThreadPoolExecutor(len(chunks)) as pool:
                parts = list(pool.map(explain_chunk, chunks))
    values = np.concatenate([np.asarray(p[0], dtype=float) for p in parts])
    if values.ndim == 2:
        values = values[:, :, None]
    base = np.concatenate([np.asarray(p[1], dtype=float).reshape(len(p[0]), -1) for p in parts])
    evaluations = sum(p[2] for p in parts)
    return EngineResult(values, base, model.predict_proba(X), evaluations=evaluations)


def explain_estimator(
    model,
    X: np.ndarray,
    *,
    explainer: str,
    model_name: str,
    hierarchy: FeatureHierarchy | None = None,
    background: np.ndarray | None = None,
    max_evals: int = 300,
    seed: int = 0,
    n_jobs: int | None = None,
) -> EngineResult:
    """SHAP values of one fitted model on the faces ``X``.

    Parameters
    ----------
    model : estimator
        As :meth:`geoface.models.Run.final_model` returns it (trained on the
        classes it knows, re-indexed from 0).
    X : ndarray of shape (n, n_features)
    explainer : {"tree", "linear", "partition"}
    model_name : str
        The model family (``xgb``, ``rf``, ``logreg``, ``svm``, ``svm-linear``).
    hierarchy : FeatureHierarchy, optional
        Needed by the partition explainer.
    background : ndarray of shape (n_background, n_features), optional
        Needed by the partition explainer (see :func:`summarise_background`).
    max_evals : int, default=300
        Partition explainer: model evaluations per face, each over the
        whole background.
    seed : int, default=0
    n_jobs : int, optional
        Threads (all cores when None): XGBoost's, or the partition
        explainer's, which shares the faces out between threads (the models'
        ``predict_proba`` runs outside Python's lock). With more than one
        thread SHAP's random tie-breaking is drawn in an unpredictable order,
        so coalitions with exactly equal effects may be expanded in another
        order from run to run; ``n_jobs=1`` is reproducible to the bit.

    Returns
    -------
    EngineResult
    """
    X = np.ascontiguousarray(X, dtype=float)
    if explainer == "tree":
        if model_name == "xgb":
            return _tree_xgb(model, X, n_jobs)
        return _tree_sklearn(model, X)
    if explainer == "linear":
        return _linear(model, X)
    if explainer == "partition":
        if hierarchy is None or background is None:
            raise ValueError("the partition explainer needs a hierarchy and a background")
        return _partition(
            model,
            X,
            background,
            hierarchy,
            max_evals=max_evals,
            seed=seed,
            n_jobs=_cores() if n_jobs is None else int(n_jobs),
        )
    raise ValueError(f"unknown explainer {explainer!r}")
