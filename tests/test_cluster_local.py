"""Distributed runs on a real LocalCluster (2 worker processes, one thread each).

One cluster serves the whole module. The distributed table must equal the
one-machine table row for row; a worker killed while it holds tasks and a
driver killed mid-run must neither lose nor duplicate anything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from geoface.cluster import (
    ProbeTask,
    extract_images_on_cluster,
    probe_task,
    run_tasks,
)
from geoface.extraction import extract_images
from tests.conftest import HELEN, needs_dlib, needs_helen

ROOT = Path(__file__).resolve().parents[1]

pytestmark = needs_dlib


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """14 rendered faces (2 subjects × 7 expressions) and a missing file, in a manifest."""
    from geoface.simulate import simulate_landmarks, write_simulated_dataset

    root = tmp_path_factory.mktemp("rendered")
    data = simulate_landmarks(n_subjects=2, takes=1, random_state=1)
    csv = write_simulated_dataset(root, data=data)
    manifest = root / "manifest.csv"
    frame = pd.read_csv(csv)[["id", "path", "subject", "label"]]
    gone = pd.DataFrame([{"id": "gone", "path": "images/gone.png", "subject": "s0", "label": "x"}])
    pd.concat([frame, gone]).to_csv(manifest, index=False)  # one row whose file is missing
    return manifest


OPTIONS = {"landmarker": "dlib", "detector": "none", "progress": False}


@pytest.fixture(scope="module")
def here(rendered, tmp_path_factory):
    """The one-machine extraction of the rendered faces (the reference)."""
    root = tmp_path_factory.mktemp("here")
    return extract_images(rendered, root / "here.csv", cache=root / "cache", **OPTIONS)


def _same_outputs(a, b) -> None:
    pd.testing.assert_frame_equal(a.table.frame, b.table.frame)
    assert a.landmarks_path.read_bytes() == b.landmarks_path.read_bytes()
    assert a.table.mesh.hash == b.table.mesh.hash


def _cache_entries(cache: Path) -> int:
    return sum(1 for p in cache.rglob("*.json") if p.name != "backend.json")


def test_rendered_faces_table_equals_one_machine_table(client, rendered, here, tmp_path):
    there = extract_images_on_cluster(
        rendered, tmp_path / "there.csv", cluster=client, chunk=3, cache=tmp_path / "c2", **OPTIONS
    )
    _same_outputs(here, there)
    info = json.loads((tmp_path / "there.meta.json").read_text())["detection"]["cluster"]
    assert (info["tasks"], info["images"], info["chunk"]) == (5, 15, 3)
    assert (info["images_computed"], info["images_reused"], info["images_failed"]) == (14, 0, 1)
    assert there.table.frame.set_index("id").loc["gone", "qc_status"] == "unreadable"
    workers = info["run"]["workers"]
    assert sum(w["items"] for w in workers.values()) == 15
    assert sum(w["tasks"] for w in workers.values()) == 5
    assert all(w["threads"] == 1 and w["busy_s"] > 0 for w in workers.values())
    assert there.info["cache"]["hits"] == 14  # the driver read every detection from the cache
    # the same command again: every image already in the cache, nothing detected
    again = extract_images_on_cluster(
        rendered, tmp_path / "again.csv", cluster=client, chunk=3, cache=tmp_path / "c2", **OPTIONS
    )
    _same_outputs(here, again)
    info = again.table.info["detection"]["cluster"]
    assert (info["images_computed"], info["images_reused"]) == (0, 14)


@needs_helen
def test_real_photographs_table_equals_one_machine_table(client, tmp_path):
    images = sorted(HELEN.glob("*.jpg"))[:3]
    manifest = tmp_path / "helen.csv"
    pd.DataFrame({"path": [str(p) for p in images], "subject": ["a", "a", "b"]}).to_csv(
        manifest, index=False
    )
    opts = {"landmarker": "dlib", "progress": False, "max_side": 640}
    here = extract_images(manifest, tmp_path / "here.csv", cache=tmp_path / "c1", **opts)
    there = extract_images_on_cluster(
        manifest, tmp_path / "there.csv", cluster=client, chunk=1, cache=tmp_path / "c2", **opts
    )
    _same_outputs(here, there)
    assert there.table.info["detection"]["cluster"]["images_computed"] == 3


def test_a_killed_worker_loses_and_duplicates_nothing(client, tmp_path):
    """The task's first attempt kills its own worker process; Dask runs it again elsewhere.

    The tasks take shared values (sent once each): one the killed worker held is made again."""
    marker = tmp_path / "killed-once"
    parts = tmp_path / "parts"
    tasks = [
        ProbeTask(i, seconds=0.05, out_dir=str(parts), kill_marker=str(marker) if i == 3 else None)
        for i in range(8)
    ]
    shared = {"even": list(range(1000)), "odd": "odd"}
    run = run_tasks(
        tasks,
        probe_task,
        cluster=client,
        progress=False,
        shared=shared,
        key_of=lambda t: "odd" if t.index % 2 else "even",
    )
    assert marker.exists()  # a worker did die holding task 3
    assert [r["index"] for r in run.results] == list(range(8))
    assert [r["shared"] for r in run.results] == [
        shared["odd" if i % 2 else "even"] for i in range(8)
    ]
    assert run.n_shared == 2 and len(run.task_workers) == 8
    assert sorted(p.name for p in parts.iterdir()) == [f"{i:06d}.txt" for i in range(8)]
    assert sum(w["tasks"] for w in run.workers.values()) == 8
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_a_worker_killed_during_image_tasks_leaves_every_row_once(client, rendered, here, tmp_path):
    """Image tasks behind probes: one kills its worker first; the table is still exact."""
    from geoface.cluster import plan_image_tasks, run_image_task
    from geoface.cluster._images import _fingerprint
    from geoface.landmarks import find_images, make_landmarker

    options = {"name": "dlib", "detector": "none"}
    cache = tmp_path / "cache"
    tasks = plan_image_tasks(
        find_images(rendered),
        landmarker=options,
        fingerprint=_fingerprint(make_landmarker(**options)),
        cache_dir=cache,
        chunk=4,
    )
    marker = tmp_path / "killed-once"
    probes = [
        ProbeTask(
            t.index, kill_marker=str(marker) if t.index == 1 else None, then=(run_image_task, t)
        )
        for t in tasks
    ]
    run = run_tasks(probes, probe_task, cluster=client, progress=False)
    assert marker.exists()
    assert sum(r["n"] for r in run.results) == 15
    client.wait_for_workers(2, timeout=60)
    again = extract_images(rendered, tmp_path / "t.csv", cache=cache, **OPTIONS)
    assert again.info["cache"] == {**again.info["cache"], "hits": 14, "misses": 0}
    assert again.table.frame["id"].is_unique
    _same_outputs(here, again)


def test_a_killed_driver_resumes_without_recomputing(client, rendered, here, tmp_path):
    cache = tmp_path / "cache"
    address = client.scheduler.address
    command = [
        sys.executable,
        "-m",
        "geoface",
        "extract",
        str(rendered),
        "--out",
        str(tmp_path / "t.csv"),
        "--landmarker",
        "dlib",
        "--detector",
        "none",
        "--cache",
        str(cache),
        "--cluster",
        address,
        "--chunk",
        "1",
        "--quiet",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _cache_entries(cache) < 2 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert not (tmp_path / "t.csv").exists()
    time.sleep(0.5)  # tasks already running when the driver died may still finish
    done = _cache_entries(cache)
    assert 2 <= done <= 14
    # the same command again: the finished images are read back, only the rest detected
    from geoface.cli import main

    assert main(command[3:]) == 0
    info = json.loads((tmp_path / "t.meta.json").read_text())["detection"]["cluster"]
    assert info["images_reused"] >= done
    assert info["images_reused"] + info["images_computed"] == 14
    pd.testing.assert_frame_equal(pd.read_csv(here.path), pd.read_csv(tmp_path / "t.csv"))


def test_fit_on_the_cluster_gives_the_serial_results(client, sim):
    """Folds (tuned) and permutations as joblib jobs on the cluster: same folds, same numbers."""
    import numpy as np
    from distributed import get_task_stream
    from joblib import parallel_config

    from geoface.cluster import thread_budget
    from geoface.features import extract_table
    from geoface.models import cross_validate, get_model_spec, permutation_test, prepare_data
    from geoface.splits import make_splits

    table = extract_table(sim.landmarks, sim.meta)
    data = prepare_data(table, target="label", group="subject")
    folds = make_splits(table.frame, group="subject", target="label", folds=2, seed=0)
    fold = folds.fold_of(data.ids)
    spec = get_model_spec("logreg")
    k = len(data.classes)

    def run():
        with thread_budget(1):
            cv = cross_validate(spec, data.X, data.y, data.groups, fold, k, seed=0, tune=True)
            perm = permutation_test(spec, data, fold, 3, seed=0, observed=0.5)
        return cv, perm

    serial_cv, serial_perm = run()
    with get_task_stream(client) as stream, parallel_config(backend="dask", n_jobs=-1):
        dask_cv, dask_perm = run()
    assert len(stream.data) >= 2 + 3  # the folds and the permutations ran on the workers
    np.testing.assert_array_equal(serial_cv.proba, dask_cv.proba)
    assert serial_cv.params == dask_cv.params
    assert [r["test_balanced_accuracy"] for r in serial_cv.fold_scores] == [
        r["test_balanced_accuracy"] for r in dask_cv.fold_scores
    ]
    assert serial_perm == dask_perm


def test_fit_cluster_option_sets_the_dask_backend(client):
    import argparse

    from joblib.parallel import get_active_backend

    from geoface.cli._fit import cluster_context

    args = argparse.Namespace(cluster=client.scheduler.address, threads=None)
    with cluster_context(args):
        backend, _ = get_active_backend()
        assert "Dask" in type(backend).__name__
        from geoface.cluster import current_threads

        assert current_threads() is None  # a remote cluster: each worker's own allotment


def test_a_video_split_into_segments_on_the_cluster_equals_one_machine(client, tmp_path):
    """The segments of one video spread over both workers; the frame table is the same."""
    pytest.importorskip("av")
    from geoface.cluster import segment_runner
    from geoface.features import FeatureTable
    from geoface.video import extract_videos

    from ._videos import simulated_expression_frames, write_video

    frames, _ = simulated_expression_frames(24, size=(320, 240), seed=4)
    video = write_video(tmp_path / "clip.mp4", frames, fps=25, gop=6)
    opts = {"landmarker": "dlib", "detect_side": 320, "segment_frames": 6, "progress": False}
    here = extract_videos(video, tmp_path / "here.parquet", cache=tmp_path / "c1", **opts)
    runs = []
    runner = segment_runner(client, progress=False, runs=runs)
    there = extract_videos(
        video, tmp_path / "there.parquet", cache=tmp_path / "c2", run_tasks=runner, **opts
    )
    a, b = FeatureTable.read(here.path).frame, FeatureTable.read(there.path).frame
    pd.testing.assert_frame_equal(a, b)
    assert len(b) == 24 and b["id"].is_unique
    ((run,),) = (runs,)
    assert run.n_tasks == 4 and run.n_items == 24
    assert sum(w["tasks"] for w in run.workers.values()) == 4
    assert there.info["segments"] == {"n": 4, "computed": 4, "reused": 0}
    # the sidecar has the cluster's record; the video's frame index was sent once
    record = json.loads((tmp_path / "there.meta.json").read_text())["video"]["cluster"]
    assert (record["segments"], record["frames"], record["videos_shared"]) == (4, 24, 1)
    assert (record["segments_computed"], record["segments_reused"]) == (4, 0)
    workers = record["workers"].values()
    assert sum(w["frames"] for w in workers) == 24 and sum(w["tasks"] for w in workers) == 4
    assert all(w["busy_s"] > 0 and w["threads"] >= 1 for w in workers)
    # the same through the command line, on the cluster's scheduler
    from geoface.cli import main

    argv = ["extract", str(video), "--out", str(tmp_path / "cli.parquet"), "--landmarker", "dlib"]
    argv += ["--detect-side", "320", "--segment-frames", "6", "--cache", str(tmp_path / "c3")]
    assert main([*argv, "--cluster", client.scheduler.address, "--threads", "1", "--quiet"]) == 0
    pd.testing.assert_frame_equal(a, FeatureTable.read(tmp_path / "cli.parquet").frame)


def test_cnn_folds_on_the_cluster_give_the_serial_run(client, tmp_path):
    """One fold (and the final network) per worker: the same folds, the same numbers."""
    import numpy as np
    import torch

    from baselines import resolve_recipe, train_baseline
    from geoface.cluster import thread_budget
    from geoface.simulate import write_simulated_dataset

    csv = write_simulated_dataset(
        tmp_path / "sim", n_subjects=4, takes=1, image_size=48, random_state=2
    )
    kw = {
        "recipe": resolve_recipe("infant", epochs=1, batch_size=16),
        "folds": 2,
        "image_size": 32,
        "device": "cpu",
        "n_boot": 50,
        "seed": 3,
        "deterministic": True,
    }
    with thread_budget(1):  # what each worker's task gets
        here = train_baseline(csv, tmp_path / "here", **kw)
    there = train_baseline(csv, tmp_path / "there", cluster=client, threads=1, **kw)
    for name in ("oof_predictions.csv", "splits.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(here / name), pd.read_csv(there / name))
    a, b = np.load(here / "embeddings.npz"), np.load(there / "embeddings.npz")
    np.testing.assert_array_equal(a["fold_embeddings"], b["fold_embeddings"])
    for ckpt in ("fold_0.pt", "fold_1.pt", "final.pt"):
        sa = torch.load(here / "model" / ckpt, weights_only=True)["state_dict"]
        sb = torch.load(there / "model" / ckpt, weights_only=True)["state_dict"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    cols = ["stage", "epoch", "fold", "train_loss", "val_loss"]
    pd.testing.assert_frame_equal(
        pd.read_csv(here / "history.csv")[cols], pd.read_csv(there / "history.csv")[cols]
    )
    run = json.loads((there / "run.json").read_text())["cluster"]
    assert run["run"]["tasks"] == 3 and run["run"]["shared_values"] == 1
    assert [f["fold"] for f in run["folds"]] == [0, 1, "final"]
    assert all(f["device"] == "cpu" and f["threads"] == 1 for f in run["folds"])
    assert sum(w["tasks"] for w in run["run"]["workers"].values()) == 3


def test_large_shared_values_go_to_every_worker(client, monkeypatch):
    """Above the threshold a shared value is scattered to the workers, not sent as a task."""
    import numpy as np

    from geoface.cluster import _run

    monkeypatch.setattr(_run, "SCATTER_BYTES", 1000)
    big = np.arange(10_000)
    tasks = [ProbeTask(i) for i in range(4)]
    run = run_tasks(
        tasks, probe_task, cluster=client, progress=False, shared={0: big}, key_of=lambda t: 0
    )
    assert all(np.array_equal(r["shared"], big) for r in run.results) and run.n_shared == 1
