"""extract_table with an image-level QC frame (from landmark detection)."""

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.features import USABLE_STATUSES, extract_table


def _qc(statuses, **extra):
    return pd.DataFrame({"qc_status": statuses, **extra})


def test_image_statuses_take_precedence(sim):
    lm = sim.landmarks[:6].copy()
    lm[0] = np.nan  # no face: NaN landmarks
    lm[3] = lm[3, :1]  # all points equal: degenerate geometry
    qc = _qc(
        ["no_face", "multiple_faces", "fallback_box", "ok", "ok", "error"],
        qc_det_score=[np.nan, 1.5, -0.2, 2.0, 1.0, np.nan],
        qc_note=["no face found", "2 faces", "", "", "", "boom"],
    )
    table = extract_table(lm, sim.meta.iloc[:6], qc=qc, landmarker="dlib")
    frame = table.frame
    assert frame["qc_status"].tolist() == [
        "no_face",  # not nonfinite_landmarks
        "multiple_faces",
        "fallback_box",
        "degenerate",  # a geometry failure replaces a status that had landmarks
        "ok",
        "error",  # an image failure wins even though landmarks are finite
    ]
    feats = frame[table.feature_names]
    assert feats.iloc[[0, 3, 5]].isna().all(axis=None)
    assert feats.iloc[[1, 2, 4]].notna().all(axis=None)
    assert table.usable.tolist() == [False, True, True, False, True, False]
    assert table.ok.sum() == 1
    cols = list(frame.columns)
    assert cols.index("qc_folded") < cols.index("qc_det_score") < cols.index("tri_000_area")
    assert frame["qc_note"].tolist()[1] == "2 faces"
    assert table.qc_counts()["no_face"] == 1
    assert table.info["landmarker"] == "dlib"
    assert set(USABLE_STATUSES) == {"ok", "multiple_faces", "fallback_box"}


def test_qc_frame_is_checked(sim):
    lm = sim.landmarks[:2]
    with pytest.raises(GeofaceError, match="qc has 1 rows for 2 faces"):
        extract_table(lm, qc=_qc(["ok"]))
    with pytest.raises(GeofaceError, match="lacks the column qc_status"):
        extract_table(lm, qc=pd.DataFrame({"qc_note": ["", ""]}))
    with pytest.raises(GeofaceError, match=r"\['label'\] are not allowed"):
        extract_table(lm, qc=_qc(["ok", "ok"], label=["a", "b"]))
    with pytest.raises(GeofaceError, match=r"\['qc_iod_px'\] are not allowed"):
        extract_table(lm, qc=_qc(["ok", "ok"], qc_iod_px=[1.0, 1.0]))


def test_fit_mesh_ignores_rows_without_faces(sim):
    lm = sim.landmarks[:30].copy()
    rng = np.random.default_rng(0)
    lm[0] += rng.normal(0, 20, lm[0].shape)  # a wild shape flagged as an error
    qc = _qc(["error"] + ["ok"] * 29)
    with_qc = extract_table(lm, qc=qc, mesh="fit")
    clean = extract_table(sim.landmarks[1:30], mesh="fit")
    assert with_qc.mesh == clean.mesh
    assert extract_table(lm, mesh="fit").mesh != clean.mesh  # it would have shaped the mesh
