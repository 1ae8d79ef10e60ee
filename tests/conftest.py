"""Shared fixtures: small synthetic faces, the default mesh, the real HELEN data."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from geoface.landmarks import Landmarker, WholeImageDetector

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


@pytest.fixture(autouse=True, scope="session")
def _offline():
    """Nothing in the tests may download: the baseline's ``--pretrained auto`` stays local."""
    import os

    before = os.environ.get("GEOFACE_OFFLINE")
    os.environ["GEOFACE_OFFLINE"] = "1"
    yield
    if before is None:
        os.environ.pop("GEOFACE_OFFLINE", None)
    else:
        os.environ["GEOFACE_OFFLINE"] = before


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


DLIB_FACES = SHARED_DATA / "dlib_faces"
needs_dlib_faces = pytest.mark.skipif(
    not DLIB_FACES.is_dir(), reason="../shared/data/dlib_faces (real photographs) is not present"
)


def _dlib_usable() -> bool:
    from geoface.landmarks import dlib_available

    return dlib_available()


needs_dlib = pytest.mark.skipif(
    not _dlib_usable(), reason="dlib is not installed (pip install 'geoface[dlib]')"
)


class FakeLandmarker(Landmarker):
    """A stand-in backend: every image is one face, the template fitted to the whole image.

    It counts the images it fits, fails on images whose top-left pixel is pure red, and
    raises KeyboardInterrupt once it has fitted ``interrupt_after`` images (to test resuming).
    """

    name = "fake"

    def __init__(self, interrupt_after=None, batch_size=1):
        super().__init__(detector=WholeImageDetector(), fallback=False)
        self.seen = 0
        self.interrupt_after = interrupt_after
        self.batch_size = batch_size

    def fit(self, images, boxes):
        from geoface.mesh import default_template

        tpl = np.array(default_template())
        out = []
        for img, bxs in zip(images, boxes, strict=True):
            if self.interrupt_after is not None and self.seen >= self.interrupt_after:
                raise KeyboardInterrupt
            if tuple(img[0, 0]) == (255, 0, 0):
                raise RuntimeError("stand-in failure on a red image")
            self.seen += 1
            x0, y0, x1, y1 = bxs[0]
            s = (x1 - x0) / 3.0
            centre = np.array([(x0 + x1) / 2, y0 + (y1 - y0) * 0.3])
            out.append((tpl * s + centre)[None])
        return out


def write_image(path, rgb=None, *, size=(120, 160), seed=0):
    """Write an image file (PNG/JPEG by suffix) of random texture, or ``rgb``."""
    import cv2

    if rgb is None:
        rgb = np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    path.write_bytes(buf.tobytes())
    return path
