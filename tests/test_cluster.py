"""--cluster specs, the SLURM job script, the thread budget, the executor run here."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from geoface._errors import GeofaceError
from geoface.cluster import (
    ClusterSpec,
    ProbeTask,
    current_threads,
    job_script,
    parse_cluster,
    probe_task,
    run_tasks,
    thread_budget,
)
from tests.conftest import needs_dlib

SLURM_CONFIG = """\
class: SLURMCluster
jobs: 4
setup:
  - source /shared/envs/geoface/bin/activate
options:
  queue: compute
  account: infantlab
  cores: 8
  processes: 8
  memory: 32GB
  walltime: "04:00:00"
  local_directory: /tmp
"""


def test_local_specs():
    assert parse_cluster("local:2") == ClusterSpec("local", n_workers=2, source="local:2")
    spec = parse_cluster("local")
    assert spec.kind == "local" and spec.n_workers >= 1
    assert parse_cluster("local:2").task_threads() >= 1
    assert "2 worker processes" in parse_cluster("local:2").describe()


def test_address_spec():
    spec = parse_cluster("tcp://head-node:8786")
    assert spec.kind == "address" and spec.address == "tcp://head-node:8786"
    assert spec.task_threads() is None  # each worker's own allotment
    assert spec.to_dict() == {"kind": "address", "spec": spec.source, "address": spec.address}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("local:0", "whole number of workers"),
        ("local:two", "whole number of workers"),
        ("local:-1", "whole number of workers"),
        ("http://host:8786", "scheduler address"),
        ("tcp://", "scheduler address"),
        ("slurm", "is not one of: local"),
        ("missing.yaml", "does not exist"),
    ],
)
def test_bad_specs_are_one_line_errors(text, match):
    with pytest.raises(GeofaceError, match=match) as info:
        parse_cluster(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("class: SlurmCluster\n", "is not one of"),
        ("- a\n- b\n", "not a mapping"),
        ("class: SLURMCluster\njobs: 0\n", "jobs=0"),
        ("class: SLURMCluster\noptions: [1]\n", "must be a mapping"),
        ("class: SLURMCluster\nqueue: x\n", "unknown keys"),
        ("class: SLURMCluster\noptions: {cores: [\n", "cannot read cluster config"),
    ],
)
def test_bad_config_files(tmp_path, doc, match):
    path = tmp_path / "cluster.yaml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(GeofaceError, match=match) as info:
        parse_cluster(path)
    assert "\n" not in str(info.value)


def test_slurm_job_script_from_a_config_file(tmp_path):
    """The batch script dask-jobqueue would submit, built without a scheduler or sbatch."""
    path = tmp_path / "slurm.yaml"
    path.write_text(SLURM_CONFIG, encoding="utf-8")
    spec = parse_cluster(path)
    assert (spec.kind, spec.cls, spec.jobs) == ("jobqueue", "SLURMCluster", 4)
    assert spec.to_dict()["options"]["queue"] == "compute"
    script = job_script(path, scheduler="tcp://10.0.0.1:8786")
    lines = script.splitlines()
    assert "#SBATCH -p compute" in lines  # partition
    assert "#SBATCH -A infantlab" in lines
    assert "#SBATCH --cpus-per-task=8" in lines  # cores
    assert any(line.startswith("#SBATCH --mem=") for line in lines)  # memory
    assert "#SBATCH -t 04:00:00" in lines  # walltime
    # the geoface worker setup: the environment, then BLAS/OpenMP pinned to one thread per task
    setup = lines.index("source /shared/envs/geoface/bin/activate")
    pins = next(i for i, line in enumerate(lines) if "OMP_NUM_THREADS=1" in line)
    worker = next(i for i, line in enumerate(lines) if "distributed.cli.dask_worker" in line)
    assert setup < pins < worker
    assert "tcp://10.0.0.1:8786" in lines[worker]
    assert "--nworkers 8" in lines[worker] and "--nthreads 1" in lines[worker]
    assert "#SBATCH" not in "\n".join(lines[worker:])
    assert "describe" and "SLURMCluster × 4 jobs" in spec.describe()


def test_job_script_refuses_other_specs():
    with pytest.raises(GeofaceError, match="not a cluster config file"):
        job_script("local:2")


@pytest.mark.skipif(shutil.which("sbatch") is None, reason="no SLURM here (sbatch not found)")
def test_slurm_submission():  # pragma: no cover - needs a SLURM cluster
    pytest.skip("submitting jobs is left to a real SLURM cluster; the script is checked above")


def test_thread_budget_reaches_every_library():
    from threadpoolctl import threadpool_info

    from geoface.landmarks._dlib import _default_jobs
    from geoface.landmarks._pipeline import _default_workers
    from geoface.models._registry import _n_jobs

    assert current_threads() is None
    omp = os.environ.get("OMP_NUM_THREADS")
    with thread_budget(1) as n:
        assert n == 1 and current_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"  # pools started inside the block
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        assert _n_jobs() == 1 and _default_jobs() == 1 and _default_workers() == 1
        if "cv2" in sys.modules:
            assert sys.modules["cv2"].getNumThreads() == 1
        if "torch" in sys.modules:
            assert sys.modules["torch"].get_num_threads() == 1
        with thread_budget(2):
            assert current_threads() == 2 and _n_jobs() == 2
        assert current_threads() == 1
    assert current_threads() is None
    assert os.environ.get("OMP_NUM_THREADS") == omp


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_thread_budget_refuses_bad_counts(bad):
    with pytest.raises(GeofaceError, match="--threads"), thread_budget(bad):
        pass


def test_run_tasks_here_in_order_with_counts(tmp_path):
    tasks = [ProbeTask(i, out_dir=str(tmp_path)) for i in range(5)]
    run = run_tasks(tasks, probe_task, threads=1, progress=False)
    assert [r["index"] for r in run.results] == list(range(5))
    assert run.n_tasks == 5 and run.n_items == 5 and run.where == "here"
    ((worker, counts),) = run.workers.items()
    assert counts["tasks"] == 5 and counts["threads"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:06d}.txt" for i in range(5)]
    doc = run.to_dict()
    assert doc["tasks"] == 5 and worker in doc["workers"]


def _fails(task):
    raise RuntimeError(f"no good {task}\nsecond line")


def test_a_failing_task_is_a_one_line_error():
    with pytest.raises(GeofaceError, match=r"task 1 of 2 failed .*RuntimeError: no good 0$"):
        run_tasks([0, 1], _fails, progress=False)


def test_extract_on_cluster_refuses_what_cannot_be_distributed(tmp_path):
    from geoface.cluster import extract_images_on_cluster

    with pytest.raises(GeofaceError, match="needs the landmark cache"):
        extract_images_on_cluster(tmp_path, tmp_path / "t.csv", cluster="local:1", use_cache=False)
    with pytest.raises(GeofaceError, match="need no cluster"):
        extract_images_on_cluster(
            tmp_path, tmp_path / "t.csv", cluster="local:1", landmarker="file"
        )


def test_cli_options_are_declared():
    from geoface.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["extract", "in", "--out", "o.csv", "--cluster", "local:2"])
    assert (args.cluster, args.threads, args.chunk) == ("local:2", None, 64)
    args = parser.parse_args(["fit", "t.csv", "--out", "r", "--threads", "1"])
    assert (args.cluster, args.threads) == (None, 1)
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", "t.csv", "--out", "r", "--threads", "0"])


@needs_dlib
def test_extract_threads_and_bad_cluster_on_the_command_line(tmp_path, capsys):
    from geoface.cli import main
    from geoface.simulate import simulate_landmarks, write_simulated_dataset

    data = simulate_landmarks(n_subjects=1, takes=1, random_state=3)
    csv = write_simulated_dataset(tmp_path / "sim", data=data)
    common = [str(csv.parent / "images"), "--landmarker", "dlib", "--detector", "none", "--quiet"]
    assert main(["extract", *common, "--out", str(tmp_path / "t.csv"), "--threads", "1"]) == 0
    assert current_threads() is None  # the budget ended with the command
    capsys.readouterr()
    code = main(["extract", *common, "--out", str(tmp_path / "u.csv"), "--cluster", "nowhere"])
    err = capsys.readouterr().err
    assert code == 2 and "--cluster 'nowhere' is not one of" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "u.csv").exists()


def test_no_tasks_start_no_cluster():
    run = run_tasks([], probe_task, cluster="tcp://nowhere.invalid:8786", progress=False)
    assert (run.results, run.n_tasks, run.workers) == ([], 0, {})


def test_baseline_cluster_option_and_a_bad_spec_fails_before_any_work(tmp_path, capsys):
    from geoface.cli import build_parser, main

    args = build_parser().parse_args(
        ["baseline", "train", "t.csv", "--out", "r", "--cluster", "local:2", "--threads", "1"]
    )
    assert (args.cluster, args.threads) == ("local:2", 1)
    missing = tmp_path / "nothing.csv"  # never read: the spec is checked first
    argv = ["baseline", "train", str(missing), "--out", str(tmp_path / "r")]
    code = main([*argv, "--cluster", "local:zero", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "--cluster 'local:zero'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_slim_segment_tasks_leave_the_index_behind():
    import pickle
    from fractions import Fraction

    import numpy as np

    from geoface.cluster import slim_segment
    from geoface.video import VideoInfo, plan_segments

    n = 2 * 60 * 30  # two minutes at 30 frames/s
    pts = np.arange(n, dtype=np.int64) * 512
    info = VideoInfo(
        path="v.mp4", container="mp4", codec="h264", width=64, height=48, rotation=0,
        nominal_fps=30.0, measured_fps=30.0, vfr=False, duration_s=n / 30, n_frames=n,
        times=pts / 15360.0, has_audio=False, bytes=1, sha1="0" * 40,
        time_base=Fraction(1, 15360), pts=pts, keyframes=np.arange(0, n, 250),
    )  # fmt: skip
    tasks = plan_segments(info, np.arange(n), "parts", segment_frames=256)
    slim = slim_segment(tasks[1])
    assert slim.info is None and slim.part == tasks[1].part
    assert np.array_equal(slim.ordinals, tasks[1].ordinals)
    full_bytes, slim_bytes = len(pickle.dumps(tasks[1])), len(pickle.dumps(slim))
    assert slim_bytes < 4_000 and full_bytes > 10 * slim_bytes
