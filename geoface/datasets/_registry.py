"""The registry of datasets geoface can read (``data_manifest.csv``)."""

from __future__ import annotations

import io
from importlib import resources

import pandas as pd

from .._errors import GeofaceError

__all__ = ["NUMERIC_COLUMNS", "REGISTRY_COLUMNS", "dataset_info", "read_registry"]

#: The registry's columns, in file order.
REGISTRY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "population",
    "age_range",
    "n_images",
    "n_subjects",
    "classes",
    "label_source",
    "access",
    "licence",
    "citation",
    "doi",
    "url",
    "layout",
    "notes",
)

#: Columns that hold a whole number or the word ``unknown``.
NUMERIC_COLUMNS: tuple[str, ...] = ("n_images", "n_subjects")


def registry_text() -> str:
    """The text of the ``data_manifest.csv`` shipped inside the package."""
    return resources.files("geoface").joinpath("data/data_manifest.csv").read_text("utf-8")


def read_registry() -> pd.DataFrame:
    """The dataset registry: one row per dataset geoface can read.

    Returns
    -------
    DataFrame
        Columns :data:`REGISTRY_COLUMNS`, all strings. ``n_images`` and
        ``n_subjects`` hold a whole number or ``"unknown"``: each figure was
        checked against the dataset's paper or documentation, and ``notes``
        says where it comes from. ``layout`` names the ``geoface manifest
        --layout`` parser that reads the dataset.
    """
    frame = pd.read_csv(io.StringIO(registry_text()), dtype=str, keep_default_na=False)
    if tuple(frame.columns) != REGISTRY_COLUMNS:
        raise GeofaceError(f"data_manifest.csv has columns {list(frame.columns)}")
    return frame


def dataset_info(dataset_id: str) -> dict[str, str]:
    """One registry row as a dict, found by ``id`` (case-insensitive)."""
    frame = read_registry()
    hit = frame[frame["id"].str.lower() == str(dataset_id).strip().lower()]
    if hit.empty:
        raise GeofaceError(
            f"dataset {dataset_id!r} is not in the registry; choose one of {list(frame['id'])}"
        )
    return hit.iloc[0].to_dict()
