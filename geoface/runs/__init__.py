"""The run directory: the one format every model writes and every combiner reads.

A run directory (``geoface fit``, ``geoface fuse``, ``geoface baseline
train``) holds ``run.json`` (command, versions, seed, timings and the
``schema_version``), ``metrics.json``, ``oof_predictions.csv``,
``splits.csv``, ``model/`` with its ``model.json``, and ``figures/``.

* :mod:`geoface.runs` names the files (:data:`RUN_JSON`, :data:`METRICS_JSON`,
  :data:`OOF_CSV` …) and the :data:`SCHEMA_VERSION`;
* :func:`write_run` and :class:`RunWriter` write one (used by fit, fuse and
  the baseline), staged and renamed into place;
* :func:`read_run_info`, :func:`read_json` and :func:`read_run_directory`
  read one (used by compare, fuse, explain, report, evaluate and predict),
  with one-line errors for a damaged, foreign or newer run;
* :func:`check_output_dir` decides what ``--overwrite`` may replace: an empty
  folder or one geoface wrote, never the working folder.
"""

from ._layout import (
    EMBEDDING_PCA_NPZ,
    EMBEDDINGS_NPZ,
    FIGURES_DIR,
    METRICS_JSON,
    MODEL_DIR,
    MODEL_JSON,
    OOF_CSV,
    OUTPUT_HEADERS,
    RUN_JSON,
    SCHEMA_VERSION,
    SPLITS_CSV,
    check_output_dir,
    check_schema,
    written_by_geoface,
)
from ._read import (
    RunDirectory,
    check_same_problem,
    read_json,
    read_run_directory,
    read_run_info,
    recorded_table,
    refuse_regression,
    run_names,
)
from ._write import (
    RunWriter,
    fold_score_row,
    keep_left_out,
    oof_frame,
    overfitting_summary,
    run_header,
    staged_directory,
    summarise_predictions,
    used_column,
    versions,
    write_figures,
    write_json,
    write_oof,
    write_run,
)

__all__ = [
    "EMBEDDINGS_NPZ",
    "EMBEDDING_PCA_NPZ",
    "FIGURES_DIR",
    "METRICS_JSON",
    "MODEL_DIR",
    "MODEL_JSON",
    "OOF_CSV",
    "OUTPUT_HEADERS",
    "RUN_JSON",
    "SCHEMA_VERSION",
    "SPLITS_CSV",
    "RunDirectory",
    "RunWriter",
    "check_output_dir",
    "check_same_problem",
    "check_schema",
    "fold_score_row",
    "keep_left_out",
    "oof_frame",
    "overfitting_summary",
    "read_json",
    "read_run_directory",
    "read_run_info",
    "recorded_table",
    "refuse_regression",
    "run_header",
    "run_names",
    "staged_directory",
    "summarise_predictions",
    "used_column",
    "versions",
    "write_figures",
    "write_json",
    "write_oof",
    "write_run",
    "written_by_geoface",
]
