"""Column values as the strings that name classes and groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["label_strings"]


def label_strings(values) -> np.ndarray:
    """Turn a column's values into class or group names, keeping missing values as None.

    Whole numbers stored as floats (``1.0``, as pandas reads an integer column
    that has empty cells) become ``"1"``, so an Action-Unit column coded 0/1
    names its classes ``"0"`` and ``"1"`` whether or not some cells are empty.

    Parameters
    ----------
    values : array-like or Series of shape (n,)

    Returns
    -------
    ndarray of object, shape (n,)
        ``str`` values, ``None`` where the input was missing.
    """
    series = pd.Series(values).reset_index(drop=True)
    missing = series.isna().to_numpy()
    out = np.full(len(series), None, dtype=object)
    present = series[~missing]
    if pd.api.types.is_bool_dtype(present.dtype):
        present = present.astype(int)
    if pd.api.types.is_numeric_dtype(present.dtype) and len(present):
        numbers = present.to_numpy(dtype=float)
        if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
            out[~missing] = [str(int(v)) for v in numbers]
            return out
    out[~missing] = present.astype(str).to_numpy()
    return out
