"""``geoface predict``: apply a fitted run's final model to a feature table."""

from __future__ import annotations

from pathlib import Path

from .._atomic import atomic_path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="predict a feature table with a run's final model",
        description="Predict every row of a feature table with the model a 'geoface fit' run "
        "refitted on all its faces. Rows that failed QC keep an empty prediction and the reason; "
        "the table's metadata columns (subject, label, age group …) are copied beside them.",
    )
    p.add_argument("run_dir", type=Path, help="run directory from 'geoface fit'")
    p.add_argument("features", type=Path, help="feature table built on the same mesh")
    p.add_argument("--out", required=True, type=Path, help="predictions CSV")


def run(args) -> int:
    from ..features import FeatureTable
    from ..models import Run

    run_ = Run(args.run_dir)
    table = FeatureTable.read(args.features)
    pred = run_.predict(table)
    import pandas as pd

    # path, subject and label lead; the table's other metadata columns (age group …) follow
    # the probabilities, so the predictions can be evaluated by group without a join
    lead = [c for c in ("path", "subject", "label") if c in table.frame.columns]
    skip = {"id", "status", "y_pred", *lead, *table.feature_names}
    rest = [
        c for c in table.frame.columns if c not in skip and not str(c).startswith(("qc_", "proba_"))
    ]
    frame = table.frame.reset_index(drop=True)
    pred = pd.concat([pred[["id"]], frame[lead], pred.drop(columns="id"), frame[rest]], axis=1)
    with atomic_path(args.out) as tmp:
        pred.to_csv(tmp, index=False, float_format="%.6g")
    counts = pred["status"].value_counts()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{len(pred)} rows predicted with {run_.info['model']} → {args.out} ({summary})")
    return 0
