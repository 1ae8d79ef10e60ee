"""Saving and loading fitted models without pickle.

XGBoost models are written in XGBoost's own UBJSON format; scikit-learn
models through ``skops``, whose loader refuses any type that is not on an
allow-list (scikit-learn, NumPy, SciPy), so a model file received from
someone else cannot run arbitrary code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_path
from .._errors import GeofaceError

__all__ = ["load_estimator", "model_suffix", "save_estimator"]

_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")


def model_suffix(persistence: str) -> str:
    return ".ubj" if persistence == "xgboost" else ".skops"


def save_estimator(estimator: Any, path: str | os.PathLike, persistence: str) -> Path:
    """Write ``estimator`` to ``path`` atomically in the format ``persistence`` names."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if persistence == "xgboost":
            # XGBoost picks the format from the suffix
            ubj = tmp.with_suffix(".ubj")
            estimator.save_model(ubj)
            os.replace(ubj, tmp)
        else:
            import skops.io as sio

            sio.dump(estimator, tmp)
    return path


def _damaged(path: Path, exc: Exception) -> GeofaceError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return GeofaceError(
        f"cannot load model file {path} ({reason[:120]}); it is truncated, emptied or not a "
        "geoface model: fit the run again"
    )


def load_estimator(path: str | os.PathLike, persistence: str) -> Any:
    """Load a model saved by :func:`save_estimator`, trusting only known types."""
    path = Path(path)
    if not path.exists():
        raise GeofaceError(f"model file {path} does not exist")
    if persistence == "xgboost":
        from xgboost import XGBClassifier

        model = XGBClassifier()
        try:
            model.load_model(path)
        except Exception as exc:  # XGBoostError: truncated, emptied or foreign file
            raise _damaged(path, exc) from None
        return model
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # BadZipFile, KeyError …: truncated, emptied or foreign file
        raise _damaged(path, exc) from None
    unknown = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if unknown:
        raise GeofaceError(
            f"{path} contains types geoface does not trust ({', '.join(unknown[:3])}); "
            "refusing to load it"
        )
    return sio.load(path, trusted=untrusted)
