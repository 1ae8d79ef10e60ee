import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geoface.cli import main
from geoface.features import FeatureTable
from tests.conftest import HELEN, needs_helen


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_then_extract(tmp_path, capsys):
    code, out, _ = run(capsys, "simulate", "--out", tmp_path / "sim", "--subjects", 3, "--takes", 1)
    assert code == 0 and "simulated 21 faces" in out
    code, out, _ = run(
        capsys, "extract", tmp_path / "sim" / "landmarks.csv", "--out", tmp_path / "features.csv"
    )
    assert code == 0 and "21 faces" in out and "ok 21" in out
    table = FeatureTable.read(tmp_path / "features.csv")
    # manifest columns (id, subject, label, path, …) are carried to the table
    assert {"id", "path", "subject", "label", "age_months"} <= set(table.frame.columns)
    assert table.frame["path"].str.startswith("images/").all()


def test_extract_neutral_reference_and_parquet(tmp_path, capsys):
    run(capsys, "simulate", "--out", tmp_path / "sim", "--subjects", 2, "--takes", 1, "--no-images")
    code, _, _ = run(
        capsys,
        "extract",
        tmp_path / "sim" / "landmarks.csv",
        "--out",
        tmp_path / "f.parquet",
        "--reference",
        "neutral",
        "--iod",
        "corners",
    )
    assert code == 0
    info = json.loads((tmp_path / "f.meta.json").read_text())
    assert info["options"]["reference"] == "neutral" and info["options"]["iod"] == "corners"
    assert "qc_reference_fallback" in pd.read_parquet(tmp_path / "f.parquet").columns


def test_extract_reuses_a_saved_mesh(tmp_path, capsys, sim):
    from geoface.landmarks import write_landmark_csv

    csv = tmp_path / "lm.csv"
    write_landmark_csv(csv, sim.landmarks, sim.meta)
    assert run(capsys, "extract", csv, "--out", tmp_path / "a.csv", "--mesh", "fit")[0] == 0
    code, _, _ = run(
        capsys, "extract", csv, "--out", tmp_path / "b.csv", "--mesh", tmp_path / "a.meta.json"
    )
    assert code == 0
    a, b = FeatureTable.read(tmp_path / "a.csv"), FeatureTable.read(tmp_path / "b.csv")
    assert a.mesh == b.mesh  # the saved custom mesh is reused
    assert a.mesh.hash != FeatureTable.read(tmp_path / "a.csv").mesh.default().hash
    code, _, err = run(capsys, "extract", csv, "--out", tmp_path / "c.csv", "--mesh", "nope")
    assert code == 2 and "neither 'default', 'fit'" in err


def test_extract_keeps_failed_rows_and_reports(tmp_path, capsys, sim):
    from geoface.landmarks import write_landmark_csv

    lm = sim.landmarks[:4].copy()
    lm[1, 0] = np.nan
    write_landmark_csv(tmp_path / "lm.csv", lm, sim.meta.iloc[:4])
    code, out, _ = run(capsys, "extract", tmp_path / "lm.csv", "--out", tmp_path / "f.csv")
    assert code == 0 and "nonfinite_landmarks 1" in out and "ok 3" in out
    assert len(pd.read_csv(tmp_path / "f.csv")) == 4
    lm[:] = np.nan
    write_landmark_csv(tmp_path / "bad.csv", lm, sim.meta.iloc[:4])
    code, out, err = run(capsys, "extract", tmp_path / "bad.csv", "--out", tmp_path / "g.csv")
    assert code == 2 and "none of the 4 faces" in err and not out
    assert not (tmp_path / "g.csv").exists()  # a table without one usable face is not written


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("id,x_0\n1,2\n"), "lacks landmark columns"),
        (lambda p: p.write_text(""), "cannot parse"),
        (lambda p: None, "does not exist"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, capsys, make, message):
    src = tmp_path / "in.csv"
    make(src)
    code, _, err = run(capsys, "extract", src, "--out", tmp_path / "f.csv")
    assert code == 2
    assert err.startswith("geoface: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "f.csv").exists()


def test_mesh_command(tmp_path, capsys, sim):
    code, out, _ = run(
        capsys, "mesh", "--out", tmp_path / "mesh.pdf", "--json", tmp_path / "mesh.json", "--points"
    )
    assert code == 0 and "107 triangles, 174 edges" in out and "mirror-symmetric: True" in out
    assert (tmp_path / "mesh.pdf").stat().st_size > 1000
    assert (tmp_path / "mesh.png").stat().st_size > 1000
    assert json.loads((tmp_path / "mesh.json").read_text())["n_edges"] == 174
    from geoface.landmarks import write_landmarks_npz

    write_landmarks_npz(tmp_path / "lm.npz", sim.landmarks)
    code, out, _ = run(
        capsys, "mesh", "--out", tmp_path / "infant.pdf", "--fit", tmp_path / "lm.npz"
    )
    assert code == 0 and "mirror-symmetric: True" in out


def test_demo_runs_end_to_end(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", tmp_path / "demo", "--subjects", 6)
    assert code == 0
    for name in ("mesh", "examples", "region_profile"):
        for ext in ("pdf", "png"):
            assert (tmp_path / "demo" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert (tmp_path / "demo" / "features.csv").exists()
    assert "Ground truth check" in out and "6/6 classes" in out
    assert "xgb on 168 faces" in out and "svm on 168 faces" in out
    assert (tmp_path / "demo" / "runs" / "xgb" / "metrics.json").exists()
    assert "SHAP explanations of the XGBoost run" in out and "top region" in out
    explained = tmp_path / "demo" / "explain" / "xgb"
    assert (explained / "regions.csv").exists()
    assert (explained / "figures" / "region_maps.png").stat().st_size > 10_000
    for name in ("fused-stack", "fused-concat"):
        assert (tmp_path / "demo" / "runs" / name / "oof_predictions.csv").exists()
    assert "comparing the five runs" in out and "McNemar" in out
    for name in ("xgb", "svm", "resnet18", "fused-stack", "fused-concat"):
        assert f"| {name} " in out
    assert (tmp_path / "demo" / "compare" / "metrics.tex").exists()
    assert (tmp_path / "demo" / "report.html").stat().st_size > 50_000


@needs_helen
def test_extract_real_pts_folder(tmp_path, capsys):
    folder = tmp_path / "helen"
    folder.mkdir()
    for p in sorted(HELEN.glob("*.pts"))[:5]:
        shutil.copy(p, folder / p.name)
    code, out, _ = run(capsys, "extract", folder, "--out", tmp_path / "f.csv")
    assert code == 0 and "ok 5" in out
    frame = pd.read_csv(tmp_path / "f.csv")
    assert (frame["qc_shape_rmse"] < 0.25).all()  # real faces fit the template


def test_console_script_entry_point(tmp_path):
    exe = shutil.which("geoface", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe is not None
    ok = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("geoface ")
    bad = subprocess.run(
        [exe, "extract", str(tmp_path / "x.csv"), "--out", str(tmp_path / "f.csv")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    mod = subprocess.run(
        [sys.executable, "-m", "geoface", "--help"], capture_output=True, text=True
    )
    assert mod.returncode == 0 and "extract" in mod.stdout
