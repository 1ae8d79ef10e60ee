import json

import numpy as np
import pandas as pd
import pytest

from geoface import MIRROR_PERMUTATION, GeofaceError
from geoface.mesh import canonical_frame
from geoface.simulate import (
    ACTION_UNITS,
    EXPRESSION_AUS,
    EXPRESSIONS,
    au_displacement,
    expression_displacement,
    moved_regions,
    render_face,
    simulate_landmarks,
    write_simulated_dataset,
)


def test_seeded_and_shaped():
    a = simulate_landmarks(n_subjects=3, takes=2, random_state=5)
    b = simulate_landmarks(n_subjects=3, takes=2, random_state=5)
    c = simulate_landmarks(n_subjects=3, takes=2, random_state=6)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert not np.allclose(a.landmarks, c.landmarks)
    assert a.landmarks.shape == (3 * 7 * 2, 68, 2)
    assert a.meta.groupby("subject").size().tolist() == [14, 14, 14]
    assert sorted(a.meta["label"].unique()) == list(EXPRESSIONS)
    assert a.meta["id"].is_unique
    # inside the image
    assert a.landmarks.min() > 0 and a.landmarks.max() < 128


def test_aus_are_symmetric_and_prototypes_documented():
    for au in ACTION_UNITS:
        d = au_displacement(au)
        np.testing.assert_array_equal(d[:, 0], -d[MIRROR_PERMUTATION, 0])
        np.testing.assert_array_equal(d[:, 1], d[MIRROR_PERMUTATION, 1])
    assert EXPRESSION_AUS["happy"] == (6, 12)
    assert EXPRESSION_AUS["surprise"] == (1, 2, 5, 26)
    np.testing.assert_array_equal(expression_displacement("neutral"), 0.0)
    with pytest.raises(ValueError, match="label='joy' is not one of"):
        expression_displacement("joy")


def test_expressions_move_what_they_should():
    happy = expression_displacement("happy")
    assert happy[48, 1] < 0 and happy[48, 0] < 0  # right lip corner goes up and out
    surprise = expression_displacement("surprise")
    assert surprise[19, 1] < 0 and surprise[8, 1] > 0  # brows up, jaw down
    assert "mouth" in moved_regions("happy") and "nose" in moved_regions("disgust")
    assert "brows" in moved_regions("surprise")
    assert moved_regions("neutral") == set()


def test_infants_have_infant_proportions():
    kw = {
        "n_subjects": 20,
        "takes": 1,
        "classes": ("neutral",),
        "noise": 0.0,
        "max_yaw": 0,
        "max_pitch": 0,
        "max_roll": 0,
    }
    infants = simulate_landmarks(population="infant", random_state=0, **kw).landmarks
    adults = simulate_landmarks(population="adult", random_state=0, **kw).landmarks

    def mean_frame(shapes):
        return np.mean([canonical_frame(s) for s in shapes], axis=0)

    inf, adu = mean_frame(infants), mean_frame(adults)
    assert inf[8, 1] < adu[8, 1]  # shorter lower face
    assert inf[33, 1] < adu[33, 1]  # shorter nose
    assert np.ptp(inf[48:60, 0]) < np.ptp(adu[48:60, 0])  # smaller mouth
    assert np.ptp(inf[36:42, 1]) > np.ptp(adu[36:42, 1])  # taller eye opening
    mixed = simulate_landmarks(population="mixed", random_state=0, **kw).meta
    assert set(mixed["population"]) == {"infant", "adult"}
    assert (mixed.loc[mixed["population"] == "infant", "age_months"] < 16).all()


def test_bad_arguments_are_clear():
    with pytest.raises(GeofaceError, match="population='toddler' is not one of"):
        simulate_landmarks(population="toddler")
    with pytest.raises(GeofaceError, match=r"classes \['joy'\] are not among"):
        simulate_landmarks(classes=("joy",))
    with pytest.raises(GeofaceError, match="must both be at least 1"):
        simulate_landmarks(n_subjects=0)


def test_render_draws_a_face(sim):
    img = render_face(sim.true_landmarks[0], size=128, rng=np.random.default_rng(0))
    assert img.shape == (128, 128) and img.dtype == np.uint8
    face = img[int(sim.true_landmarks[0][:, 1].mean()), int(sim.true_landmarks[0][:, 0].mean())]
    assert face > img[2, 2]  # light face on a darker background
    assert img.std() > 10


def test_write_dataset(tmp_path):
    csv = write_simulated_dataset(tmp_path / "sim", n_subjects=2, takes=1, random_state=3)
    frame = pd.read_csv(csv)
    assert len(frame) == 14
    assert list(frame.columns[:3]) == ["id", "path", "subject"]
    assert all((tmp_path / "sim" / p).is_file() for p in frame["path"])
    truth = json.loads((tmp_path / "sim" / "ground_truth.json").read_text())
    assert truth["params"]["random_state"] == 3
    assert "mouth" in truth["moved_regions"]["happy"]
    no_img = write_simulated_dataset(tmp_path / "lm", n_subjects=1, takes=1, render=False)
    assert "path" not in pd.read_csv(no_img).columns
