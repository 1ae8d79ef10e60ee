"""The face-alignment (FAN + S3FD) adapter, offline: the real network classes with stand-in
weights test batching, crop/heatmap coordinate mapping, device choice and errors. Accuracy
needs the real weights, which cannot be downloaded here."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("face_alignment")

from geoface import GeofaceError  # noqa: E402
from geoface._errors import MissingDependencyError  # noqa: E402
from geoface.cli import main  # noqa: E402
from geoface.landmarks import (  # noqa: E402
    FAN_WEIGHT_FILES,
    FanLandmarker,
    S3fdDetector,
    detect_landmarks,
    find_fan_weights,
    find_images,
    make_landmarker,
    read_pts,
    resolve_device,
)
from geoface.landmarks._fan import heatmap_peaks, peaks_to_image  # noqa: E402
from tests.conftest import HELEN, write_image  # noqa: E402


@pytest.fixture(scope="session")
def standin_weights(tmp_path_factory):
    """FAN (one hourglass, random) and S3FD (random, its face scores forced to ~0) weights."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    d = tmp_path_factory.mktemp("fan_weights")
    torch.manual_seed(0)
    torch.save(FAN(1).state_dict(), d / FAN_WEIGHT_FILES["fan"])
    state = s3fd().state_dict()
    for key in state:
        if "mbox_conf" in key:
            state[key] = torch.zeros_like(state[key])
            if key.endswith("bias"):
                state[key][-1] = -20.0  # the face channel: probability ≈ 0 everywhere
    torch.save(state, d / FAN_WEIGHT_FILES["sfd"])
    return d


@pytest.fixture()
def no_hub(tmp_path, monkeypatch):
    """No weights anywhere PyTorch or geoface would look by default."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("GEOFACE_WEIGHTS_DIR", raising=False)


class DotNet(torch.nn.Module):
    """Heatmaps = the crop's brightness pooled to 64 × 64, the same for all 68 points."""

    def forward(self, x):
        hm = torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 4)
        return [hm.repeat(1, 68, 1, 1)]


def test_weights_are_found_without_download(standin_weights, no_hub, monkeypatch, tmp_path):
    assert find_fan_weights("fan") is None
    assert find_fan_weights("fan", standin_weights).name == "2DFAN4-11f355bf06.pth.tar"
    monkeypatch.setenv("GEOFACE_WEIGHTS_DIR", str(standin_weights))
    assert find_fan_weights("sfd") == standin_weights / "s3fd-619a316812.pth"
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / FAN_WEIGHT_FILES["fan"]).write_bytes(b"x")
    monkeypatch.delenv("GEOFACE_WEIGHTS_DIR")
    assert find_fan_weights("fan") == hub / FAN_WEIGHT_FILES["fan"]  # face-alignment's own cache


def test_missing_or_damaged_weights_are_one_line_errors(standin_weights, no_hub, tmp_path):
    with pytest.raises(MissingDependencyError, match=r"2DFAN4-11f355bf06\.pth\.tar.*--weights-dir"):
        FanLandmarker(device="cpu")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / FAN_WEIGHT_FILES["fan"]).write_bytes(b"not a checkpoint")
    with pytest.raises(GeofaceError, match=r"cannot load weights .* download it again"):
        FanLandmarker(device="cpu", weights_dir=bad, detector="none")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / FAN_WEIGHT_FILES["fan"]).write_bytes(
        (standin_weights / FAN_WEIGHT_FILES["sfd"]).read_bytes()
    )
    with pytest.raises(GeofaceError, match="not a FAN state dict"):
        FanLandmarker(device="cpu", weights_dir=wrong, detector="none")


def test_download_is_attempted_only_when_allowed(no_hub, monkeypatch, tmp_path):
    calls = []

    def offline(url, dst, progress=True):
        calls.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(MissingDependencyError, match=r"cannot download https://www\.adrianbulat"):
        FanLandmarker(device="cpu", detector="none", allow_download=True)
    assert len(calls) == 1
    with pytest.raises(MissingDependencyError):
        FanLandmarker(device="cpu", detector="none")
    assert len(calls) == 1  # no download unless allowed


def test_device_selection(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    auto = resolve_device("auto")
    assert auto == ("cuda" if torch.cuda.is_available() else auto)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        assert resolve_device("auto") == "cpu"
    with pytest.raises(GeofaceError, match="PyTorch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(GeofaceError, match="device='tpu' is not one of"):
        resolve_device("tpu")


def test_heatmap_peaks_and_mapping():
    hm = torch.zeros(2, 68, 64, 64)
    hm[0, 0, 10, 20] = 1.0
    hm[0, 0, 10, 21] = 0.5  # right neighbour larger than left: +0.25 in x
    hm[1, 5, 0, 63] = 1.0  # on the border: no sub-pixel shift
    pts, scores = heatmap_peaks(hm)
    np.testing.assert_allclose(pts[0, 0], [20.75, 10.5])
    np.testing.assert_allclose(pts[1, 5], [63.5, 0.5])
    assert scores[0, 0] == 1.0
    windows = np.array([[100.0, 50.0, 128.0], [0.0, 0.0, 64.0]])
    img = peaks_to_image(pts, windows)
    np.testing.assert_allclose(img[0, 0], [100 + 20.75 * 2 - 0.5, 50 + 10.5 * 2 - 0.5])
    np.testing.assert_allclose(img[1, 5], [63.0, 0.0])


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("box", [(150, 90, 270, 230), (-40, -30, 120, 140), (5, 5, 390, 295)])
def test_crop_and_heatmaps_map_back_to_image_points(standin_weights, box, flip):
    """A bright dot goes through crop → (stand-in) heatmaps → decoding and lands on itself."""
    lm = FanLandmarker(device="cpu", weights_dir=standin_weights, detector="none", flip=flip)
    lm._net = DotNet()
    img = np.zeros((300, 400, 3), np.uint8)
    dot = np.array([203.5, 151.5])  # the centre of pixels 200–207 × 148–155
    img[148:156, 200:208] = 255
    pts = lm.fit([img], [np.array([box], dtype=float)])[0]
    side = 200.0 * ((box[2] - box[0]) + (box[3] - box[1])) / 195.0
    assert pts.shape == (1, 68, 2)
    np.testing.assert_allclose(pts[0], np.broadcast_to(dot, (68, 2)), atol=side / 64 + 1.0)


def test_stand_in_network_batches_consistently(standin_weights):
    images = [
        np.random.default_rng(k).integers(0, 255, (120 + 30 * k, 160, 3), dtype=np.uint8)
        for k in range(3)
    ]
    one = FanLandmarker(device="cpu", weights_dir=standin_weights, detector="none", batch_size=1)
    three = FanLandmarker(device="cpu", weights_dir=standin_weights, detector="none", batch_size=3)
    a, b = one.detect(images), three.detect(images)
    for fa, fb, img in zip(a, b, images, strict=True):
        assert fa.landmarks.shape == (1, 68, 2) and fa.how == "whole_image"
        np.testing.assert_allclose(fa.landmarks, fb.landmarks, atol=1e-3)
        np.testing.assert_allclose(fa.boxes[0], [0, 0, img.shape[1] - 1, img.shape[0] - 1])
        win = 200.0 * (img.shape[0] + img.shape[1] - 2) / 195.0
        assert np.isfinite(fa.landmarks).all()
        assert (np.abs(fa.landmarks - np.array(img.shape[1::-1]) / 2) <= win).all()
    assert one.describe() == "fan (detector none, device cpu)"
    assert one.fingerprint()["weights"] == FAN_WEIGHT_FILES["fan"]


def _crafted_outputs(batch, side, hit):
    """S3FD-shaped outputs: background everywhere except one anchor of one image."""
    outs = []
    for level in range(6):
        n = side // 2 ** (level + 2)
        cls = torch.zeros(batch, 2, n, n)
        cls[:, 0] = 10.0
        reg = torch.zeros(batch, 4, n, n)
        if level == hit["level"]:
            b, y, x = hit["where"]
            cls[b, 0, y, x], cls[b, 1, y, x] = 0.0, 10.0
            reg[b, :, y, x] = torch.tensor(hit["reg"])
        outs += [cls, reg]
    return outs


def test_s3fd_decoding_and_letterbox_mapping(standin_weights):
    det = S3fdDetector(device="cpu", weights_dir=standin_weights, detect_side=128)
    hit = {"level": 2, "where": (1, 3, 4), "reg": [0.0, 0.0, 0.0, 0.0]}  # stride 16
    rows = det._decode(_crafted_outputs(2, 128, hit), threshold=0.5)
    assert len(rows[0]) == 0 and len(rows[1]) == 1
    # anchor centre (8 + 4·16, 8 + 3·16) = (72, 56), size 4·16 = 64
    np.testing.assert_allclose(rows[1][0, :4], [40, 24, 104, 88], atol=1e-4)
    hit["reg"] = [1.0, -1.0, np.log(2) / 0.2, 0.0]  # moved by 0.1·size, twice as wide
    rows = det._decode(_crafted_outputs(2, 128, hit), threshold=0.5)
    np.testing.assert_allclose(rows[1][0, :4], [14.4, 17.6, 142.4, 81.6], atol=1e-3)

    hit["reg"] = [0.0, 0.0, 0.0, 0.0]
    det._net = lambda x: _crafted_outputs(x.shape[0], 128, hit)
    wide = np.zeros((128, 256, 3), np.uint8)  # letterboxed at scale 0.5
    found = det.detect([wide, wide])
    assert len(found[0][0]) == 0
    np.testing.assert_allclose(found[1][0][0], [80, 48, 208, 176], atol=1e-3)


def test_sfd_with_stand_in_weights_finds_no_face(standin_weights):
    lm = FanLandmarker(device="cpu", weights_dir=standin_weights, detect_side=96)
    images = [np.random.default_rng(k).integers(0, 255, (90, 120, 3), np.uint8) for k in range(2)]
    assert [len(f) for f in lm.detect(images)] == [0, 0]


def test_auto_picks_fan_when_its_weights_are_here(standin_weights, monkeypatch):
    monkeypatch.setenv("GEOFACE_WEIGHTS_DIR", str(standin_weights))
    lm = make_landmarker("auto", device="cpu", detector="none")
    assert lm.name == "fan" and lm.choice.startswith("fan")


def test_cli_with_fan(standin_weights, tmp_path, capsys):
    for k in range(3):
        write_image(tmp_path / "imgs" / f"i{k}.png", size=(160, 128), seed=k)
    code = main(
        [
            "extract",
            str(tmp_path / "imgs"),
            "--landmarker",
            "fan",
            "--weights-dir",
            str(standin_weights),
            "--detector",
            "none",
            "--device",
            "cpu",
            "--batch-size",
            "2",
            "--out",
            str(tmp_path / "f.csv"),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code in (0, 1) and "3 rows from 3 images" in out
    info = json.loads((tmp_path / "f.meta.json").read_text())
    assert info["landmarker"] == "fan"
    assert info["detection"]["fingerprint"]["detector"] == "none"
    assert {"torch", "face-alignment", "opencv"} <= set(info["detection"]["versions"])


def _real_weights():
    return find_fan_weights("fan") is not None and find_fan_weights("sfd") is not None


@pytest.mark.skipif(
    not (_real_weights() and HELEN.is_dir()),
    reason="needs face-alignment's real weights (2DFAN4-11f355bf06.pth.tar, "
    "s3fd-619a316812.pth in $GEOFACE_WEIGHTS_DIR or the torch hub cache; nothing is downloaded "
    "in tests) and ../shared/data/helen",
)
def test_fan_accuracy_on_helen_with_real_weights():
    found = detect_landmarks(find_images(HELEN), make_landmarker("fan"), progress=False)
    truth = np.stack([read_pts(HELEN / p.replace(".jpg", ".pts")) for p in found.meta["path"]])
    err = np.linalg.norm(found.landmarks - truth, axis=-1).mean(-1) / np.linalg.norm(
        truth[:, 36] - truth[:, 45], axis=-1
    )
    assert np.isfinite(err).sum() >= 48 and np.nanmedian(err) <= 0.035
