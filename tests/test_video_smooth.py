"""Smoothing landmarks over time: jitter reduced, onsets kept, gaps respected, never silent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geoface._errors import GeofaceError
from geoface.video import OneEuro, smooth_landmarks, smooth_tracks

FPS = 30.0


def _jitter(seq, scale):
    """Mean frame-to-frame movement, in inter-ocular distances."""
    return float(np.abs(np.diff(seq, axis=0)).mean() / scale)


def _noisy_static(template, scale, n=90, sd=0.015, seed=0):
    rng = np.random.default_rng(seed)
    base = template * scale + 300
    return base, base + rng.normal(0, sd * scale, (n, 68, 2)), np.arange(n) / FPS


def _step(template, scale, n=90, at=45, jump=0.5, seed=1):
    """A still face whose mouth drops by ``jump`` IOD at frame ``at`` (an onset), with jitter."""
    rng = np.random.default_rng(seed)
    base = template * scale + 300
    seq = np.repeat(base[None], n, axis=0)
    seq[at:, 48:68, 1] += jump * scale
    return base, seq + rng.normal(0, 0.015 * scale, seq.shape), np.arange(n) / FPS


def _mouth_fraction(seq, base, scale, jump=0.5):
    return (seq[:, 48:68, 1].mean(axis=1) - base[48:68, 1].mean()) / (jump * scale)


def test_none_returns_the_raw_points_and_says_so(template):
    _, lm, t = _noisy_static(template, 50, n=5)
    out, applied = smooth_landmarks(lm, t)
    np.testing.assert_array_equal(out, lm)
    assert out is not lm
    assert applied == {"method": "none"}


@pytest.mark.parametrize("scale", [40.0, 400.0])
def test_one_euro_reduces_jitter_at_any_resolution(template, scale):
    _, lm, t = _noisy_static(template, scale)
    out, applied = smooth_landmarks(lm, t, "one-euro")
    # measured: 0.0169 -> 0.0034 IOD per frame at both scales
    assert _jitter(out[30:], scale) < 0.3 * _jitter(lm[30:], scale)
    assert applied["method"] == "one-euro"
    assert applied["min_cutoff"] == 1.0 and applied["beta"] == 5.0 and applied["d_cutoff"] == 1.0
    assert json.loads(json.dumps(applied)) == applied


def test_one_euro_keeps_an_onset_sharp(template):
    scale = 60.0
    base, lm, t = _step(template, scale)
    out, _ = smooth_landmarks(lm, t, "one-euro")
    frac = _mouth_fraction(out, base, scale)
    # measured: 0.75 of the step on its first frame, 0.95 on the second
    assert frac[45] > 0.6 and frac[46] > 0.9 and frac[48] > 0.95
    assert abs(frac[44]) < 0.05  # causal: nothing before the onset
    # a low beta lags: the speed term is what keeps it sharp
    slow, _ = smooth_landmarks(lm, t, "one-euro", beta=0.0)
    assert _mouth_fraction(slow, base, scale)[46] < 0.5


def test_one_euro_streaming_equals_the_batch_and_restarts_after_a_gap(template):
    _, lm, t = _noisy_static(template, 50, n=40)
    lm[10:13] = np.nan
    out, _ = smooth_landmarks(lm, t, "one-euro", beta=2.0)
    assert np.isnan(out[10:13]).all()
    assert np.isfinite(out[:10]).all() and np.isfinite(out[13:]).all()
    np.testing.assert_array_equal(out[0], lm[0])  # a piece starts with its raw points
    np.testing.assert_array_equal(out[13], lm[13])
    f = OneEuro(beta=2.0)
    streamed = np.array([f.filter(p, s) for p, s in zip(lm, t, strict=True)])
    np.testing.assert_allclose(streamed, out, equal_nan=True)
    # a frame whose time does not increase gives the last estimate back
    again = f.filter(lm[-1] + 5, t[-1])
    np.testing.assert_array_equal(again, streamed[-1])


def test_savgol_window_in_seconds_and_pieces(template):
    scale = 50.0
    _, lm, t = _noisy_static(template, scale, n=60)
    out, applied = smooth_landmarks(lm, t, "savgol")
    assert applied == {"method": "savgol", "window_s": 0.25, "polyorder": 2, "window_frames": [7]}
    assert _jitter(out[5:-5], scale) < 0.5 * _jitter(lm[5:-5], scale)
    # the same duration at 60 frames/s is twice as many frames
    _, applied60 = smooth_landmarks(lm, np.arange(60) / 60.0, "savgol")
    assert applied60["window_frames"] == [15]
    # NaN rows split pieces; a short piece gets a shorter window; a tiny one is left as is
    gappy = lm.copy()
    gappy[20] = np.nan
    gappy[26] = np.nan
    gappy[29] = np.nan
    out, applied = smooth_landmarks(gappy, t, "savgol")
    assert np.isnan(out[[20, 26, 29]]).all()
    assert applied["window_frames"] == [5, 7]  # pieces of 20, 5, 2 and 30 frames
    np.testing.assert_array_equal(out[27:29], gappy[27:29])


def test_savgol_keeps_the_step_height(template):
    scale = 60.0
    base, lm, t = _step(template, scale)
    out, _ = smooth_landmarks(lm, t, "savgol")
    frac = _mouth_fraction(out, base, scale)
    assert np.all(np.abs(frac[:40]) < 0.05) and np.all(np.abs(frac[51:] - 1) < 0.05)


def test_smooth_tracks_smooths_each_track_alone(template):
    _, a, t = _noisy_static(template, 50, n=30, seed=2)
    _, b, _ = _noisy_static(template, 80, n=30, seed=3)
    # rows interleaved: frame k of track 0, frame k of track 5, plus a row without a track
    lm = np.concatenate([a, b, a[:1]])
    times = np.concatenate([t, t, t[:1]])
    ids = np.concatenate([np.zeros(30), np.full(30, 5), [np.nan]])
    order = np.random.default_rng(0).permutation(len(lm))
    out, applied = smooth_tracks(lm[order], times[order], ids[order], "one-euro")
    back = np.empty_like(out)
    back[order] = out
    np.testing.assert_allclose(back[:30], smooth_landmarks(a, t, "one-euro")[0])
    np.testing.assert_allclose(back[30:60], smooth_landmarks(b, t, "one-euro")[0])
    np.testing.assert_array_equal(back[60], a[0])
    assert applied["method"] == "one-euro"
    _, sg = smooth_tracks(lm, times, ids, "savgol", window_s=0.1)
    assert sg["window_frames"] == [3]


@pytest.mark.parametrize(
    ("method", "params", "match"),
    [
        ("kalman", {}, "method='kalman' is not one of"),
        ("one-euro", {"window_s": 1.0}, r"has no parameter \['window_s'\]"),
        ("savgol", {"beta": 1.0}, r"has no parameter \['beta'\]"),
        ("one-euro", {"min_cutoff": 0}, "min_cutoff=0 is not a number > 0"),
        ("one-euro", {"beta": -1.0}, "beta=-1.0 is not a number >= 0"),
        ("savgol", {"window_s": float("nan")}, "window_s=nan"),
        ("savgol", {"polyorder": 2.5}, "polyorder=2.5"),
    ],
)
def test_bad_requests_are_refused(template, method, params, match):
    _, lm, t = _noisy_static(template, 50, n=10)
    with pytest.raises(GeofaceError, match=match):
        smooth_landmarks(lm, t, method, **params)


def test_shapes_are_checked(template):
    _, lm, t = _noisy_static(template, 50, n=10)
    with pytest.raises(GeofaceError, match="not \\(n_frames, 68, 2\\)"):
        smooth_landmarks(lm[:, :10], t, "one-euro")
    with pytest.raises(GeofaceError, match="9 times for 10 frames"):
        smooth_landmarks(lm, t[:9], "one-euro")
