import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from geoface.cli import main
from geoface.report import SECTIONS, write_report
from tests._synthetic_runs import design, write_run


class _Page(HTMLParser):
    """What a report holds: sections with their headings, images, and anything external."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, str] = {}
        self.headings: dict[str, list[str]] = {}
        self.images: list[dict] = []
        self.forbidden: list[str] = []
        self.text: dict[str, list[str]] = {}
        self._section = None
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id")
            self.sections[self._section] = ""
            self.headings[self._section] = []
            self.text[self._section] = []
        elif tag == "h2":
            self._in_h2 = True
        elif tag == "img":
            self.images.append({**attrs, "section": self._section})
        elif tag in ("script", "link", "iframe", "object", "embed"):
            self.forbidden.append(tag)
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value.startswith(("http:", "https:", "//", "file:")):
                self.forbidden.append(f"{tag} {key}={value}")

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        elif tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._section is None:
            return
        if self._in_h2:
            self.headings[self._section].append(data)
        self.text[self._section].append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def decode_png(src: str):
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    data = base64.b64decode(src[len(prefix) :], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # decodes every pixel
        return im.size


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A table, two runs on the same folds and an explanation, laid out as the demo does."""
    from geoface.explain import explain_run, write_explanation
    from geoface.features import extract_table
    from geoface.models import fit_run
    from geoface.simulate import simulate_landmarks
    from geoface.splits import make_splits

    root = tmp_path_factory.mktemp("study")
    sim = simulate_landmarks(n_subjects=4, takes=2, random_state=4)
    lm = sim.landmarks.copy()
    lm[0] = np.nan  # one face fails QC
    table = extract_table(lm, sim.meta)
    table_path = table.write(root / "features.csv")
    splits = make_splits(table.frame, folds=2, seed=1)
    for model in ("logreg", "svm-linear"):
        fit_run(
            table,
            root / "runs" / model,
            model=model,
            splits=splits,
            n_boot=100,
            seed=3,
            table_path=str(table_path),
            command=["geoface", "fit", "features.csv", "--model", model],
        )
    expl = explain_run(root / "runs" / "logreg", seed=0)
    write_explanation(expl, root / "explain" / "logreg", n_boot=0, figures=("maps",))
    return root


@pytest.fixture(scope="module")
def report(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(
        [
            "report",
            str(study / "runs" / "logreg"),
            str(study / "runs" / "svm-linear"),
            "--out",
            str(out),
            "--bootstrap",
            "200",
        ]
    )
    assert code == 0
    return out


def test_report_has_every_section_and_decodable_images(report):
    html = report.read_text(encoding="utf-8")
    page = parse(html)
    assert list(page.sections) == list(SECTIONS)
    for sid, title in SECTIONS.items():
        assert "".join(page.headings[sid]) == title
    assert page.forbidden == []  # no scripts, stylesheets or network addresses
    assert len(page.images) >= 7
    for img in page.images:
        w, h = decode_png(img["src"])
        assert w > 50 and h > 50
    sections_with_images = {img["section"] for img in page.images}
    assert {"metrics", "comparison", "confusion", "overfitting", "explanations"} <= (
        sections_with_images
    )
    text = {sid: " ".join(parts) for sid, parts in page.text.items()}
    assert "features.csv" in text["data"] and "nonfinite_landmarks" in text["data"]
    assert "McNemar" in text["comparison"] and "svm-linear" in text["comparison"]
    assert "1 left out" in text["comparison"]
    assert "chance" in text["metrics"].lower()
    assert "held-out" in text["overfitting"]
    assert "region maps" in {
        img.get("alt") for img in page.images if img["section"] == "explanations"
    }
    assert "geoface fit features.csv --model logreg" in text["metadata"]
    assert "seed" in text["metadata"]


def test_report_writes_nothing_else(report):
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html"]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(report, tmp_path):
    def dump(url):
        done = subprocess.run(
            [
                "chromium",
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        return done.stdout

    dom = parse(dump(report.resolve().as_uri()))
    assert list(dom.sections) == list(SECTIONS)
    assert all("".join(dom.headings[s]) == t for s, t in SECTIONS.items())
    assert dom.forbidden == []
    assert len(dom.images) == len(parse(report.read_text(encoding="utf-8")).images)
    for img in dom.images:
        decode_png(img["src"])
    # Whether Chromium itself decoded every image: a test page (not the report) holding the
    # same images records each one's natural size in the DOM once they have loaded.
    imgs = "\n".join(f'<img src="{img["src"]}">' for img in dom.images)
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<!DOCTYPE html><html><body>"
        + imgs
        + "<script>window.addEventListener('load', () => { for (const i of "
        "document.images) { i.setAttribute('data-size', i.complete ? i.naturalWidth + 'x' + "
        "i.naturalHeight : 'broken'); } });</script></body></html>",
        encoding="utf-8",
    )
    sizes = [img.get("data-size") for img in parse_images(dump(probe.as_uri()))]
    assert len(sizes) == len(dom.images)
    assert all(s and s != "broken" and not s.startswith("0x") for s in sizes), sizes


def parse_images(html):
    class Images(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found = []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.found.append(dict(attrs))

    p = Images()
    p.feed(html)
    return p.found


# ---------------------------------------------------------------- degrading gracefully
def _synthetic(tmp_path, name, table_path=None, **changes):
    ids, subjects, folds, y = design()
    rng = np.random.default_rng(len(name))
    pred = np.where(rng.random(len(y)) < 0.3, (y + 1) % 3, y)
    kw = {"ids": ids, "subjects": subjects, "folds": folds, "y": y, "pred": pred}
    kw.update(changes)
    return write_run(tmp_path / "runs" / name, table_path=table_path, **kw)


def test_one_run_without_table_or_explanation(tmp_path):
    run = _synthetic(tmp_path, "solo", table_path=str(tmp_path / "gone" / "features.csv"))
    out = write_report([run], tmp_path / "out" / "r.html", n_boot=100)
    page = parse(out.read_text(encoding="utf-8"))
    assert list(page.sections) == list(SECTIONS)
    text = {sid: " ".join(parts) for sid, parts in page.text.items()}
    assert "feature table was not found" in text["data"]
    assert "36" in text["data"]  # faces counted from the predictions instead
    assert "One run only" in text["comparison"]
    assert "No explanation found" in text["explanations"]
    for img in page.images:
        decode_png(img["src"])


def test_features_option_and_explicit_explanation(tmp_path, study):
    a = _synthetic(tmp_path, "a")
    b = _synthetic(tmp_path, "b")
    out = tmp_path / "r.html"
    code = main(
        [
            "report",
            str(a),
            str(b),
            "--out",
            str(out),
            "--features",
            str(study / "features.csv"),
            "--explain",
            str(study / "explain" / "logreg"),
            "--bootstrap",
            "100",
        ]
    )
    assert code == 0
    page = parse(out.read_text(encoding="utf-8"))
    text = {sid: " ".join(parts) for sid, parts in page.text.items()}
    assert "features.csv" in text["data"] and "qc_status" in text["data"]
    assert "logreg" in text["explanations"]
    assert any(img["section"] == "explanations" for img in page.images)


def test_runs_that_cannot_be_compared_are_reported_not_refused(tmp_path):
    _, _, folds, _ = design()
    a = _synthetic(tmp_path, "a")
    b = _synthetic(tmp_path, "b", folds=(folds + 1) % 3)
    out = write_report([a, b], tmp_path / "r.html", n_boot=100)
    text = " ".join(parse(out.read_text(encoding="utf-8")).text["comparison"])
    assert "cannot be compared" in text and "different folds" in text


def test_text_is_escaped(tmp_path):
    run = _synthetic(tmp_path, "a<b>&c")
    out = write_report([run], tmp_path / "r.html", n_boot=100)
    html = out.read_text(encoding="utf-8")
    assert "a&lt;b&gt;&amp;c" in html
    assert "a<b>" not in html


def test_bad_explain_folder_is_refused(tmp_path, capsys):
    run = _synthetic(tmp_path, "a")
    (tmp_path / "notes").mkdir()
    code = main(
        [
            "report",
            str(run),
            "--out",
            str(tmp_path / "r.html"),
            "--explain",
            str(tmp_path / "notes"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("geoface: error: ") and "explain.json" in err
    assert not (tmp_path / "r.html").exists()


def test_missing_run_is_refused(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    assert not Path(tmp_path / "r.html").exists()


# ---------------------------------------------------------------- runs on frames (video)
@pytest.fixture(scope="module")
def video_report(tmp_path_factory):
    """A logistic-regression run on a frame table of two simulated videos (a QC gap in each)."""
    from geoface.models import fit_run
    from tests._video_frames import frame_table

    root = tmp_path_factory.mktemp("video-report")
    table = frame_table(gap=(4.5, 5.0), seconds=8.0)
    frame = table.frame
    frame["label"] = frame.pop("true")
    frame["label_status"] = "ok"
    path = table.write(root / "frames.parquet")
    fit_run(
        table, root / "runs" / "logreg", model="logreg", folds=2, n_boot=100, table_path=str(path)
    )
    out = root / "report.html"
    assert (
        main(["report", str(root / "runs" / "logreg"), "--out", str(out), "--bootstrap", "100"])
        == 0
    )
    return out, frame


def test_report_on_frames_has_a_video_section(video_report):
    from geoface.report import VIDEO_SECTION

    out, _ = video_report
    page = parse(out.read_text(encoding="utf-8"))
    order = list(SECTIONS)
    order.insert(order.index("confusion") + 1, VIDEO_SECTION[0])
    assert list(page.sections) == order
    assert "".join(page.headings["video"]) == VIDEO_SECTION[1]
    images = [im for im in page.images if im["section"] == "video"]
    assert [im["alt"] for im in images] == [
        "time course of infant01/visit1",
        "time course of infant02/visit1",
    ]
    for im in images:
        width, height = decode_png(im["src"])
        assert width > 400 and height > 200
    text = " ".join(page.text["video"])
    assert "Frames per video and QC status" in text
    assert "no_face" in text and "Frames per video and label status" in text
    assert not page.forbidden


def test_frame_counts_per_status_are_the_table_s(video_report):
    from geoface.report import read_frame_columns

    out, frame = video_report
    frames = read_frame_columns(out.parent / "frames.parquet")
    assert len(frames) == len(frame) and "label" in frames.columns
    html = out.read_text(encoding="utf-8")
    body = html[html.index('<section id="video"') :]
    body = body[: body.index("</section>")]
    counts = frame.groupby("video")["qc_status"].value_counts().unstack(fill_value=0)
    for video, row in counts.iterrows():
        cells = "".join(f"<td>{n}</td>" for n in row.to_numpy())
        assert f'<td class="text">{video}</td>{cells}' in body, video
    # a table that is not a frame table (or none at all) gives no video section
    assert read_frame_columns(out.parent / "missing.parquet") is None


def test_label_spans_keep_labels_of_frames_the_tracker_lost():
    import pandas as pd

    from geoface.report import label_spans

    frames = pd.DataFrame(
        {
            "video": "v",
            "time_s": np.arange(8) / 10,
            "track_id": [0, 0, np.nan, np.nan, 0, 0, 0, 0],  # lost for two frames
            "label": ["a", "a", "a", "b", "b", None, "a", "a"],
        }
    )
    spans = label_spans(frames)
    got = list(
        zip(spans["onset_s"].round(3), spans["offset_s"].round(3), spans["label"], strict=True)
    )
    assert got == [(0.0, 0.3, "a"), (0.3, 0.5, "b"), (0.6, 0.8, "a")]
    assert spans["track_id"].isna().all() and (spans["status"] == "ok").all()


def test_video_section_draws_at_most_its_limit_and_names_the_rest(video_report, monkeypatch):
    import geoface.report._sections as sections
    from geoface.compare import load_run_predictions
    from geoface.report import read_frame_columns

    out, _ = video_report
    monkeypatch.setattr(sections, "MAX_TIME_COURSES", 1)
    run = load_run_predictions(out.parent / "runs" / "logreg")
    body = "\n".join(
        sections.video_section([run], read_frame_columns(out.parent / "frames.parquet"))
    )
    assert body.count("<figure>") == 1
    assert "1 more time course(s) not drawn (at most 1): logreg: infant02/visit1" in body
