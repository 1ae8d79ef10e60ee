"""What the command line does with awkward input: one line and the right exit status, never
a traceback or a silent wrong answer. Most run ``python -m geoface`` in a subprocess, as a
user would."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict:
    """This checkout first on the path of a child Python."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def geoface(*argv, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """Run ``python -m geoface ARGV`` with this checkout first on the path."""
    env = _env()
    return subprocess.run(
        [sys.executable, "-m", "geoface", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], done.stderr
    return lines[0]


def write_table(path: Path, sim, *, labels=None, meta=None) -> Path:
    from geoface.features import extract_table

    frame = sim.meta.copy() if meta is None else meta
    if labels is not None:
        frame = frame.assign(label=labels)
    extract_table(sim.landmarks, frame).write(path)
    return path


# ------------------------------------------------------------------------ split suggestions
def _suggested_fold_counts(message: str) -> list[str]:
    return re.findall(r"--folds (\w+)", message)


@pytest.fixture(scope="module")
def sim6():
    from geoface.simulate import simulate_landmarks

    return simulate_landmarks(n_subjects=6, takes=1, random_state=3)


def test_split_suggests_a_fold_count_that_works(tmp_path, sim6):
    # 'rare' is held by one subject only: no number of stratified folds works, only loso
    subjects = sim6.meta["subject"].to_numpy()
    labels = sim6.meta["label"].to_numpy(dtype=object).copy()
    labels[(subjects == subjects[0]) & (labels == "happy")] = "rare"
    one = write_table(tmp_path / "one.csv", sim6, labels=labels)
    message = one_line_error(geoface("split", one, "--out", tmp_path / "s.csv", "--folds", 2))
    suggested = _suggested_fold_counts(message)
    assert suggested == ["loso"], message
    assert "'rare'" in message
    assert geoface("split", one, "--out", tmp_path / "s.csv", "--folds", "loso").returncode == 0

    # 'rare' held by three subjects: 3 folds work, 5 do not; every suggestion must work
    labels = sim6.meta["label"].to_numpy(dtype=object).copy()
    labels[np.isin(subjects, np.unique(subjects)[:3]) & (labels == "happy")] = "rare"
    three = write_table(tmp_path / "three.csv", sim6, labels=labels)
    message = one_line_error(geoface("split", three, "--out", tmp_path / "s.csv", "--folds", 5))
    suggested = _suggested_fold_counts(message)
    assert "3" in suggested and "loso" in suggested, message
    for folds in suggested:
        done = geoface("split", three, "--out", tmp_path / f"s{folds}.csv", "--folds", folds)
        assert done.returncode == 0, (folds, done.stderr)


def test_split_with_too_few_subjects_suggests_what_the_classes_allow():
    from geoface import GeofaceError
    from geoface.splits import make_splits

    # 3 subjects, 4 folds asked; class 'b' has 2 subjects: 2 folds is the most that works
    frame = pd.DataFrame(
        {
            "id": [f"f{i}" for i in range(6)],
            "subject": ["s1", "s1", "s2", "s2", "s3", "s3"],
            "label": ["a", "b", "a", "b", "a", "a"],
        }
    )
    with pytest.raises(GeofaceError, match=r"only 3 subjects for 4 folds; use --folds 2, or"):
        make_splits(frame, folds=4)
    assert make_splits(frame, folds=2).n_folds == 2
    with pytest.raises(GeofaceError, match="at least 2 subjects"):
        make_splits(frame.assign(subject="s1"), folds=2)


# ------------------------------------------------------------------------ .npz of landmarks
def test_npz_holding_only_landmarks_is_read_with_made_up_ids(tmp_path, sim):
    npz = tmp_path / "faces.npz"
    np.savez(npz, landmarks=sim.landmarks)
    done = geoface("extract", npz, "--out", tmp_path / "f.csv")
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "f.csv")
    n = len(sim.landmarks)
    assert frame["id"].tolist() == [f"face_{i:05d}" for i in range(n)]
    assert (frame["qc_status"] == "ok").all()
    # a plain array under another name is read the same way
    np.savez(tmp_path / "plain.npz", sim.landmarks)
    assert geoface("extract", tmp_path / "plain.npz", "--out", tmp_path / "g.csv").returncode == 0


def test_npz_metadata_of_the_wrong_length_is_named_in_one_line(tmp_path, sim):
    npz = tmp_path / "faces.npz"
    np.savez(npz, landmarks=sim.landmarks, **{"meta/subject": np.array(["a", "b", "c"])})
    message = one_line_error(geoface("extract", npz, "--out", tmp_path / "f.csv"))
    assert "meta/subject" in message and "(3,)" in message and f"({len(sim.landmarks)},)" in message


# ------------------------------------------------------------------------ evaluate: proba
def _predictions(tmp_path: Path, proba_a, name="pred.csv") -> Path:
    proba_a = np.asarray(proba_a, dtype=float)
    n = len(proba_a)
    frame = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "subject": [f"s{i // 2}" for i in range(n)],
            "site": ["x", "y"] * (n // 2),
            "label": ["a", "b"] * (n // 2),
            "proba_a": proba_a,
            "proba_b": 1.0 - proba_a,
        }
    )
    frame.to_csv(tmp_path / name, index=False)
    return tmp_path / name


def test_evaluate_refuses_probabilities_outside_0_1_or_not_summing_to_1(tmp_path):
    good = [0.9, 0.2, 0.7, 0.4, 0.8, 0.1, 0.6, 0.3]
    bad = list(good)
    bad[2] = 1.7  # and proba_b = -0.7
    message = one_line_error(
        geoface("evaluate", _predictions(tmp_path, bad), "--by", "site", "--out", tmp_path / "e1")
    )
    assert "'p2'" in message and "[0, 1]" in message
    assert not (tmp_path / "e1").exists()

    path = _predictions(tmp_path, good, "sum.csv")
    frame = pd.read_csv(path)
    frame.loc[[0, 4], "proba_b"] += 0.05  # rows summing to 1.05
    frame.to_csv(path, index=False)
    message = one_line_error(geoface("evaluate", path, "--by", "site", "--out", tmp_path / "e2"))
    assert "2 row(s)" in message and "'p0'" in message and "'p4'" in message
    assert "sum 1.05" in message


def test_evaluate_accepts_probabilities_rounded_within_the_tolerance(tmp_path):
    from geoface.evaluate import PROBA_SUM_TOLERANCE

    path = _predictions(tmp_path, [0.9, 0.2, 0.7, 0.4, 0.8, 0.1, 0.6, 0.3])
    frame = pd.read_csv(path)
    frame["proba_b"] -= PROBA_SUM_TOLERANCE / 2  # printed with few digits: rows sum to 0.995
    frame.loc[7, ["proba_a", "proba_b"]] = np.nan  # no prediction: counted, not refused
    frame.to_csv(path, index=False)
    done = geoface("evaluate", path, "--by", "site", "--bootstrap", 100, "--out", tmp_path / "e")
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(tmp_path / "e" / "evaluated_rows.csv")
    assert rows.set_index("id").loc["p7", "status"] == "no_prediction"


# ------------------------------------------------------------------------ numeric options
def _numeric_options():
    from geoface.cli import _argtypes as types
    from geoface.cli import build_parser

    shared = {
        getattr(types, name) for name in types.__all__ if callable(getattr(types, name, None))
    }
    found = []

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*prefix, name])
            elif action.option_strings and action.type is not None and action.type is not Path:
                found.append((" ".join(prefix), action.option_strings[-1], action.type, shared))

    walk(build_parser(), [])
    return found


def test_every_numeric_option_uses_a_shared_checked_type():
    options = _numeric_options()
    assert len(options) > 30
    plain = [
        f"{cmd} {opt}"
        for cmd, opt, kind, shared in options
        if kind in (int, float) or not (kind in shared or kind.__module__.endswith("_argtypes"))
    ]
    assert plain == [], f"options parsed with a bare int/float or a private type: {plain}"


#: Positional arguments and required options of each command, so that only the option
#: under test is wrong.
_REQUIRED = {
    "baseline train": ["x", "--out", "y"],
    "baseline predict": ["r", "x", "--out", "y"],
    "simulate": ["--out", "y"],
    "demo": [],
    "evaluate": ["x", "--by", "g", "--out", "y"],
    "compare": ["r", "--out", "y"],
    "fuse": ["r", "--out", "y"],
    "report": ["r", "--out", "y"],
    "split": ["x", "--out", "y"],
    "fit": ["x", "--out", "y"],
    "extract": ["x", "--out", "y"],
    "score-landmarks": ["x", "--truth", "t", "--out", "y"],
    "explain": ["r", "--out", "y"],
    "label-frames": ["x", "--coding", "c", "--layout", "events", "--out", "y"],
    "rebase": ["x", "--out", "y"],
    "predict": ["r", "x", "--out", "y"],
}


@pytest.mark.parametrize("bad", ["-5", "abc", "nan", "1e999"])
def test_every_numeric_option_refuses_bad_values_in_one_line(bad, capsys):
    from geoface.cli import build_parser

    parser = build_parser()
    for cmd, opt, _, _ in _numeric_options():
        argv = [*cmd.split(), *_REQUIRED[cmd], opt, bad]
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and opt in err, (argv, err)


def test_explain_negative_max_rows_is_one_line_not_a_traceback(tmp_path):
    message = one_line_error(
        geoface("explain", tmp_path / "run", "--out", tmp_path / "x", "--max-rows", "-5")
    )
    assert "--max-rows" in message and "-5" in message and "≥ 0" in message


# ------------------------------------------------------------------------ interrupts
@pytest.mark.parametrize("delay", [0.0, 0.2, 0.5, 1.0])
def test_interrupt_while_loading_exits_130_in_one_line(tmp_path, delay):
    env = _env()
    argv = [sys.executable, "-X", "importtime", "-m", "geoface", "simulate", "--no-images"]
    argv += ["--subjects", "3000", "--out", str(tmp_path / "sim")]
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    seen = []
    try:
        # wait until the command line has begun loading its commands (the first of them is
        # imported); the many modules they need take seconds more to load
        for line in proc.stderr:
            seen.append(line)
            if re.search(r"\|\s+geoface\.cli\._\w+\s*$", line):
                break
        time.sleep(delay)
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(seen) + err
    if not still_running:  # pragma: no cover - the command finished before the signal
        pytest.skip("the command ended before the interrupt could be sent")
    messages = [line for line in err.splitlines() if not line.startswith("import time:")]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, messages
    assert messages == ["geoface: interrupted"], messages
    assert proc.returncode == 130


def test_command_line_loads_no_command_module_or_numpy_on_import():
    code = (
        "import sys, geoface.cli; "
        "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('geoface.cli._')))"
    )
    env = _env()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------ infinite coordinates
def test_infinite_coordinates_are_a_qc_status_without_warnings(tmp_path, sim):
    from geoface.features import compute_geometry
    from geoface.landmarks import write_landmark_csv
    from geoface.mesh import Mesh

    lm = sim.landmarks.copy()
    lm[0, 5, 0] = np.inf
    lm[1, 40, 1] = -np.inf
    lm[2] = np.inf
    result = compute_geometry(lm, Mesh.default())  # filterwarnings = error: no RuntimeWarning
    assert list(result.status[:4]) == ["nonfinite_landmarks"] * 3 + ["ok"]

    csv = tmp_path / "lm.csv"
    write_landmark_csv(csv, lm, sim.meta)
    for extra in ([], ["--reference", "neutral"], ["--mesh", "fit"]):
        done = geoface("extract", csv, "--out", tmp_path / "f.csv", *extra)
        assert done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr, (extra, done.stderr)
        frame = pd.read_csv(tmp_path / "f.csv")
        assert len(frame) == len(lm)
        assert frame["qc_status"].iloc[:3].eq("nonfinite_landmarks").all()


# ------------------------------------------------------------------------ spreadsheet formulas
def test_formula_like_values_are_kept_verbatim_and_reported_once(tmp_path, sim):
    from geoface.landmarks import write_landmark_csv

    meta = sim.meta.copy()
    meta["id"] = meta["id"].astype(object)
    meta.loc[0, "id"] = '=HYPERLINK("http://x","y")'
    meta.loc[1, "id"] = "@SUM(1)"
    meta.loc[2, "subject"] = "+cmd"
    meta.loc[3, "subject"] = "-2+3"
    meta["yaw"] = -12.5  # numbers are numbers to a spreadsheet too: not reported
    meta["offset"] = "-3"
    csv = tmp_path / "lm.csv"
    write_landmark_csv(csv, sim.landmarks, meta)
    done = geoface("extract", csv, "--out", tmp_path / "f.csv")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("geoface: warning:")]
    assert len(warnings) == 1, done.stderr
    assert "4 text value(s)" in warnings[0] and "HYPERLINK" in warnings[0]
    # data CSVs keep the values as given, so ids still join the table to everything else
    frame = pd.read_csv(tmp_path / "f.csv", dtype=str)
    assert frame["id"].iloc[0] == '=HYPERLINK("http://x","y")' and frame["id"].iloc[1] == "@SUM(1)"
    assert frame["subject"].iloc[2] == "+cmd" and frame["subject"].iloc[3] == "-2+3"

    write_landmark_csv(tmp_path / "clean.csv", sim.landmarks, sim.meta)
    done = geoface("extract", tmp_path / "clean.csv", "--out", tmp_path / "g.csv")
    assert done.returncode == 0 and "warning" not in done.stderr


def test_formula_like_cells_counts_text_only():
    from geoface._spreadsheet import formula_like_cells

    frame = pd.DataFrame({"id": ["a", "=1+1", "-x", "-1.5"], "v": [-1.0, 2.0, 3.0, 4.0]})
    assert formula_like_cells(frame) == (2, ("id", "=1+1"))
    assert formula_like_cells(frame.iloc[[0, 3]]) == (0, None)
