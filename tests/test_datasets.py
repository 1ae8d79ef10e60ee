"""The dataset registry, ``geoface datasets`` and the label mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.cli import main
from geoface.datasets import (
    CLASSES,
    LAYOUTS,
    NUMERIC_COLUMNS,
    REGISTRY_COLUMNS,
    LabelMap,
    dataset_info,
    label_map_for,
    read_label_map,
    read_registry,
)
from geoface.simulate import EXPRESSIONS

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- registry
def test_registry_has_the_documented_columns_and_datasets():
    reg = read_registry()
    assert tuple(reg.columns) == REGISTRY_COLUMNS
    ids = set(reg["id"])
    assert {"tif", "city", "cafe", "ckplus", "affectnet", "jaffe", "kdef"} <= ids
    assert ids & {"helen", "300w"}
    assert "infanface" in ids
    assert reg["id"].is_unique


def test_every_numeric_field_is_a_number_or_unknown():
    reg = read_registry()
    for col in NUMERIC_COLUMNS:
        for value in reg[col]:
            assert value == "unknown" or (value.isdigit() and int(value) > 0), (col, value)


def test_every_row_says_where_its_figures_come_from_and_names_a_layout():
    reg = read_registry()
    for row in reg.to_dict("records"):
        assert row["layout"] in LAYOUTS, row["id"]
        assert row["citation"] and row["notes"], row["id"]
        assert row["doi"] == "unknown" or row["doi"].startswith("10."), row["id"]
        for col in REGISTRY_COLUMNS:
            assert row[col].strip(), (row["id"], col)


def test_checked_figures():
    # figures checked against the papers (see the notes column)
    tif = dataset_info("TIF")
    assert (tif["n_images"], tif["n_subjects"], tif["age_range"]) == ("119", "18", "4–12 months")
    assert tif["doi"] == "10.3389/fpsyg.2017.00409"
    assert dataset_info("ckplus")["n_subjects"] == "123"
    assert dataset_info("jaffe")["n_images"] == "213"
    assert dataset_info("kdef")["n_images"] == "4900"


def test_top_level_registry_is_the_packaged_one():
    top = (ROOT / "data_manifest.csv").read_text(encoding="utf-8")
    packaged = (ROOT / "geoface" / "data" / "data_manifest.csv").read_text(encoding="utf-8")
    assert top == packaged


def test_unknown_dataset_id_is_a_one_line_error():
    with pytest.raises(GeofaceError, match="not in the registry; choose one of"):
        dataset_info("fer2013")


# ----------------------------------------------------------------------- the CLI
def test_cli_datasets_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "population"]
    assert any(line.startswith("tif ") for line in lines)
    assert "unknown" in out


def test_cli_datasets_one_in_full(capsys):
    assert main(["datasets", "--id", "ckplus"]) == 0
    out = capsys.readouterr().out
    assert "citation: Lucey P" in out
    assert "layout: ckplus" in out


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_datasets_machine_formats(capsys, fmt, tmp_path):
    assert main(["datasets", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        rows = json.loads(out)
    else:
        p = tmp_path / "r.csv"
        p.write_text(out, encoding="utf-8")
        rows = pd.read_csv(p, dtype=str, keep_default_na=False).to_dict("records")
    assert len(rows) == len(read_registry())
    assert set(rows[0]) == set(REGISTRY_COLUMNS)


def test_cli_datasets_unknown_id(capsys):
    assert main(["datasets", "--id", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geoface: error: dataset 'nope' is not in the registry")
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ label mapping
def test_classes_are_the_simulators():
    assert CLASSES == EXPRESSIONS


@pytest.mark.parametrize(
    ("token", "label"),
    [
        ("happiness", "happy"),
        ("Sadness", "sad"),
        ("afraid", "fear"),
        ("angry", "anger"),
        ("surprised", "surprise"),
        ("neutral", "neutral"),
        ("disgusted", "disgust"),
    ],
)
def test_synonyms(token, label):
    assert LabelMap().resolve(token) == (label, "ok", "")


def test_contempt_is_excluded_unless_kept():
    label, status, note = LabelMap().resolve("contempt")
    assert (label, status) == (None, "excluded")
    assert "--keep contempt" in note
    assert LabelMap(keep=("contempt",)).resolve("contempt") == ("contempt", "ok", "")


def test_keep_only_excluded_categories():
    with pytest.raises(GeofaceError, match="--keep 'joy' is not an excluded category"):
        LabelMap(keep=("joy",))


def test_unknown_label():
    label, status, note = LabelMap().resolve("bored")
    assert (label, status) == (None, "unknown_label")
    assert "--label-map" in note


def test_layout_codes():
    tif = label_map_for("tif")
    assert tif.resolve("HA")[0] == "happy"
    assert tif.resolve("SU")[0] == "surprise"
    aff = label_map_for("affectnet")
    assert aff.resolve("3")[0] == "surprise"
    assert aff.resolve("8")[1] == "excluded"


def test_mapping_printout_lists_every_source_label_with_counts():
    labels = LabelMap()
    for token in ["happiness", "happiness", "sadness", "contempt", "bored"]:
        labels.resolve(token)
    lines = labels.lines()
    assert lines[0] == "happiness → happy  [2]"
    assert "sadness → sad  [1]" in lines
    assert any(line.startswith("contempt → excluded (") for line in lines)
    assert any(line.startswith("bored → unknown") for line in lines)
    assert labels.as_dict() == {
        "happiness": "happy",
        "sadness": "sad",
        "contempt": "excluded",
        "bored": "unknown",
    }


def test_user_label_map_csv_overrides(tmp_path):
    p = tmp_path / "map.csv"
    p.write_text("source,label\npositive,happy\nhappiness,exclude\nbored,neutral\n")
    user = read_label_map(p)
    labels = LabelMap(user=user)
    assert labels.resolve("Positive")[0] == "happy"
    assert labels.resolve("happiness")[1] == "excluded"
    assert labels.resolve("bored")[0] == "neutral"
    assert labels.resolve("sadness")[0] == "sad"  # the rest keeps the defaults


def test_user_label_map_json(tmp_path):
    p = tmp_path / "map.json"
    p.write_text(json.dumps({"XX": "fear"}))
    assert label_map_for("tif", label_map=p).resolve("XX")[0] == "fear"


@pytest.mark.parametrize(
    ("text", "suffix", "match"),
    [
        ("just-one-column\n", ".csv", "needs two columns"),
        ("[1, 2]", ".json", "one JSON object"),
        ("{not json", ".json", "not valid JSON"),
        ("source,label\n", ".csv", "maps nothing"),
    ],
)
def test_bad_label_maps(tmp_path, text, suffix, match):
    p = tmp_path / f"map{suffix}"
    p.write_text(text)
    with pytest.raises(GeofaceError, match=match):
        read_label_map(p)


def test_missing_label_map(tmp_path):
    with pytest.raises(GeofaceError, match="does not exist"):
        read_label_map(tmp_path / "nope.csv")
