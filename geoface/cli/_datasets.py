"""``geoface datasets``: the registry of datasets geoface can read."""

from __future__ import annotations

import json
import textwrap

#: Columns of the compact table, with their widths.
_TABLE = (
    ("id", 10),
    ("name", 34),
    ("population", 13),
    ("age_range", 12),
    ("n_images", 8),
    ("n_subjects", 10),
    ("layout", 9),
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "datasets",
        help="list the datasets geoface can read (the registry)",
        description="Print the registry of datasets geoface can read: population, ages, number "
        "of images and subjects (each checked against the dataset's paper, 'unknown' where it "
        "could not be), classes, label source, access, licence, citation and the "
        "'geoface manifest --layout' that reads it.",
    )
    p.add_argument("--id", dest="dataset_id", help="show one dataset in full (e.g. tif, ckplus)")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default): one line per dataset, or every field of --id; csv; json",
    )


def _cell(value: str, width: int) -> str:
    value = str(value)
    return value if len(value) <= width else value[: width - 1] + "…"


def _detail(row: dict) -> str:
    lines = []
    for key, value in row.items():
        wrapped = textwrap.wrap(str(value), width=88) or [""]
        lines.append(f"{key:>12}: {wrapped[0]}")
        lines += [f"{'':>12}  {w}" for w in wrapped[1:]]
    return "\n".join(lines)


def run(args) -> int:
    from ..datasets import dataset_info, read_registry

    if args.dataset_id:
        rows = [dataset_info(args.dataset_id)]
    else:
        rows = read_registry().to_dict("records")
    if args.format == "json":
        print(json.dumps(rows if not args.dataset_id else rows[0], indent=2, ensure_ascii=False))
    elif args.format == "csv":
        import pandas as pd

        print(pd.DataFrame(rows).to_csv(index=False), end="")
    elif args.dataset_id:
        print(_detail(rows[0]))
    else:
        print("  ".join(f"{name:<{w}}" for name, w in _TABLE))
        for row in rows:
            print("  ".join(f"{_cell(row[name], w):<{w}}" for name, w in _TABLE))
        print(
            "\n'unknown': not stated in the sources checked (see 'geoface datasets --id ID' for "
            "where each figure comes from)."
        )
    return 0
