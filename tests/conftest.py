"""Shared fixtures: small synthetic faces, the default mesh, the real HELEN data."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

#: The read-only real data beside the project (present in CI, absent for users).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HELEN = SHARED_DATA / "helen"

needs_helen = pytest.mark.skipif(
    not HELEN.is_dir(), reason="../shared/data/helen (real 300-W annotations) is not present"
)


@pytest.fixture(scope="session")
def mesh():
    from geoface.mesh import Mesh

    return Mesh.default()


@pytest.fixture(scope="session")
def template():
    from geoface.mesh import default_template

    return np.array(default_template())


@pytest.fixture(scope="session")
def sim():
    """A small simulated infant dataset (4 subjects × 7 classes × 2 takes)."""
    from geoface.simulate import simulate_landmarks

    return simulate_landmarks(n_subjects=4, takes=2, random_state=1)


@pytest.fixture()
def faces(sim):
    return sim.landmarks.copy()


@pytest.fixture(scope="session")
def helen_pts():
    if not HELEN.is_dir():
        pytest.skip("../shared/data/helen is not present")
    return sorted(HELEN.glob("*.pts"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
