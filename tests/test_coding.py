"""Coding files (BORIS, ELAN, plain CSV) → events → frame labels; probabilities → segments."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from geoface import GeofaceError
from geoface.coding import (
    EVENT_COLUMNS,
    SEGMENT_COLUMNS,
    event_agreement,
    frame_agreement,
    label_frames,
    parse_time,
    read_boris,
    read_coding,
    read_elan,
    read_events_csv,
    resolve_events,
    segments_from_proba,
    write_segments,
    write_segments_boris,
    write_segments_csv,
    write_segments_elan,
)
from geoface.statuses import EVENT_STATUSES

FPS = 30.0


def frame_table(videos=("infant01/visit1", "infant02/visit1"), seconds=10.0, fps=FPS):
    """A frame table: video ids as relative paths without extension, times from 0."""
    parts = []
    for v in videos:
        n = round(seconds * fps)
        parts.append(
            pd.DataFrame(
                {
                    "id": [f"{v}#{i}" for i in range(n)],
                    "path": f"{v}.mp4",
                    "video": v,
                    "frame": np.arange(n),
                    "time_s": np.arange(n) / fps,
                    "track_id": 0,
                    "qc_status": "ok",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------ BORIS
BORIS_HEADER = [
    "Observation id",
    "Observation date",
    "Description",
    "Observation duration",
    "Observation type",
    "Source",
    "Time offset (s)",
    "Media duration (s)",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Behavior type",
    "Time",
    "Media file name",
    "Image index",
    "Image file path",
    "Comment",
]
V1, V9 = "/data/infant01/visit1.mp4", "C:\\lab\\infant09\\visit9.mp4"
#: (observation, media file, behaviour, START/STOP/POINT, time): a BORIS tabular export's rows
BORIS_EVENTS = [
    ("visit1", V1, "smile", "START", "1.000"),
    ("visit1", V1, "smile", "STOP", "2.000"),
    ("visit1", V1, "cry", "START", "1.500"),
    ("visit1", V1, "cry", "STOP", "3.000"),
    ("visit1", V1, "look away", "POINT", "4.000"),
    ("visit1", V1, "Smile", "START", "5.000"),
    ("visit1", V1, "Smile", "STOP", "6.000"),
    ("visit1", V1, "smile", "START", "8.000"),
    ("visit1", V1, "smile", "START", "12.000"),
    ("visit1", V1, "smile", "STOP", "13.000"),
    ("visit9", V9, "smile", "START", "1.000"),
    ("visit9", V9, "smile", "STOP", "2.000"),
    ("visit1", V1, "fuss", "STOP", "7.000"),
]


def write_boris_tabular(path):
    """A BORIS 8 tabular events export (CSV) of :data:`BORIS_EVENTS`."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(BORIS_HEADER)
        for obs, media, behaviour, kind, time in BORIS_EVENTS:
            frame_index = round(float(time) * 30)
            observation = [obs, "2024-05-02 10:00:00", "", "10.0", "Media file(s)"]
            media_facts = [f"player #1:{media}", "0.0", "10.000", "30.000"]
            event = ["infant", behaviour, "affect", kind, time, media, frame_index, "NA", ""]
            out.writerow([*observation, *media_facts, *event])
    return path


def test_boris_tabular_export_pairs_start_stop_and_counts_the_awkward_cases(tmp_path):
    path = write_boris_tabular(tmp_path / "boris.csv")
    events = read_boris(path)
    assert tuple(events.columns) == EVENT_COLUMNS
    assert set(events["status"]) <= set(EVENT_STATUSES)
    visit1 = events[events["video"].str.contains("visit1")]
    by = {(r.label, r.onset_s if np.isfinite(r.onset_s) else None): r for r in visit1.itertuples()}
    assert by[("smile", 1.0)].offset_s == 2.0 and by[("smile", 1.0)].status == "ok"
    assert by[("smile", 1.0)].source_row == 2 and by[("smile", 1.0)].subject == "infant"
    assert by[("cry", 1.5)].offset_s == 3.0
    assert by[("look away", 4.0)].status == "point_event"
    # 'Smile' and 'smile' are one label (stripped, lower case)
    assert by[("smile", 5.0)].offset_s == 6.0
    # the START at 8 s is closed by the next STOP of smile (12 s START is then unmatched)
    assert by[("smile", 8.0)].offset_s == 13.0
    assert by[("smile", 12.0)].status == "bad_times" and "never stopped" in by[("smile", 12.0)].note
    assert (
        by[("fuss", None)].status == "bad_times" and "STOP with no START" in by[("fuss", None)].note
    )
    assert events["video"].iloc[0] == "/data/infant01/visit1.mp4"
    # 13 rows: 5 START/STOP pairs, a point, a START never stopped, a lone STOP
    assert len(events) == 8


def test_boris_old_export_with_header_lines_and_status_column(tmp_path):
    text = (
        "Observation id\tvisit1\n"
        "Observation date\t2019-01-01\n"
        "Media file(s)\n"
        "Player #1\tinfant01/visit1.mp4\n"
        "\n"
        "Time\tMedia file path\tTotal length\tFPS\tSubject\tBehavior\tBehavioral category"
        "\tComment\tStatus\n"
        "00:00:01.000\tinfant01/visit1.mp4\t10.0\t30\t\tsmile\t\t\tSTART\n"
        "00:00:02.500\tinfant01/visit1.mp4\t10.0\t30\t\tsmile\t\t\tSTOP\n"
        "3,5\tinfant01/visit1.mp4\t10.0\t30\t\tbad\t\t\tSTART\n"
    )
    path = tmp_path / "old.tsv"
    path.write_text(text, encoding="utf-8")
    events = read_boris(path)
    assert events.loc[0, ["onset_s", "offset_s", "status"]].tolist() == [1.0, 2.5, "ok"]
    assert events.loc[0, "source_row"] == 7
    assert events.loc[1, "status"] == "bad_times"
    assert events.loc[1, "onset_s"] == 3.5


def test_boris_aggregated_export(tmp_path):
    header = (
        "Observation id,Observation date,Description,Observation type,Source,Total length,FPS,"
        "Subject,Observation duration by subject by observation,Behavior,Behavioral category,"
        "Modifiers,Behavior type,Start (s),Stop (s),Duration (s),Media file name,"
        "Image index start,Image index stop,Image file path start,Image file path stop,"
        "Comment start,Comment stop\n"
    )
    rows = [
        "visit1,2024,,Media file,player #1:infant01/visit1.mp4,10,30,infant,9,smile,affect,,"
        "STATE,1.000,2.000,1.000,infant01/visit1.mp4,NA,NA,NA,NA,,\n",
        "visit1,2024,,Media file,player #1:infant01/visit1.mp4,10,30,infant,9,look,attention,,"
        "POINT,4.000,NA,NA,infant01/visit1.mp4,NA,NA,NA,NA,,\n",
        "visit1,2024,,Media file,player #1:infant01/visit1.mp4,10,30,infant,9,cry,affect,,"
        "STATE,5.000,4.000,-1.000,infant01/visit1.mp4,NA,NA,NA,NA,,\n",
    ]
    path = tmp_path / "agg.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    events = read_boris(path)
    assert events["status"].tolist() == ["ok", "point_event", "bad_times"]
    assert events["offset_s"].iloc[0] == 2.0 and events["video"].iloc[0] == "infant01/visit1.mp4"


def test_boris_time_offset_is_taken_off(tmp_path):
    # BORIS records media time + the observation's time offset
    text = (
        "Observation id\tTime offset (s)\tSubject\tBehavior\tBehavior type\tTime\tMedia file name\n"
        "visit1\t10.0\t\tsmile\tSTART\t11.000\tvisit1.mp4\n"
        "visit1\t10.0\t\tsmile\tSTOP\t12.500\tvisit1.mp4\n"
    )
    path = tmp_path / "offset.tsv"
    path.write_text(text, encoding="utf-8")
    events = read_boris(path)
    assert events.loc[0, ["onset_s", "offset_s", "status"]].tolist() == [1.0, 2.5, "ok"]


def test_not_a_boris_file_is_one_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(GeofaceError, match="not a BORIS export"):
        read_boris(path)


# ------------------------------------------------------------------------------- ELAN
def test_elan_export_without_headers_two_time_formats_and_participant(tmp_path):
    # tier, participant, begin (hh:mm:ss.ms, ss.msec), end (…), duration (…), annotation
    lines = [
        "Expression\tinfant\t00:00:01.000\t1.000\t00:00:02.000\t2.000\t00:00:01.000\t1.000\tsmile",
        "Expression\tinfant\t00:00:04.000\t4.000\t00:00:04.000\t4.000\t00:00:00.000\t0.000\tblink",
        "Gaze\tinfant\t00:00:00.000\t0.000\t00:00:09.000\t9.000\t00:00:09.000\t9.000\tscreen",
        "Expression\tinfant\t00:00:30.000\t30.000\t00:00:31.000\t31.000\t00:00:01.000\t1.000\tcry",
    ]
    path = tmp_path / "visit1.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(GeofaceError, match="--tier"):
        read_elan(path)
    with pytest.raises(GeofaceError, match="'Nope' is not in"):
        read_elan(path, tier="Nope")
    events = read_elan(path, tier="Expression", video="infant01/visit1")
    assert events["label"].tolist() == ["smile", "blink", "cry"]
    assert events["status"].tolist() == ["ok", "point_event", "ok"]
    assert events.loc[0, ["onset_s", "offset_s"]].tolist() == [1.0, 2.0]
    assert events["subject"].iloc[0] == "infant" and events["source_row"].tolist() == [1, 2, 4]
    # the file's name names the video by default
    assert read_elan(path, tier="Gaze")["video"].tolist() == ["visit1"]


def test_elan_export_without_headers_in_msec(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("Expression\t1000\t2500\t1500\tsmile\n", encoding="utf-8")
    assert read_elan(path).loc[0, ["onset_s", "offset_s"]].tolist() == [1.0, 2.5]


def test_elan_export_with_headers_and_msec(tmp_path):
    text = (
        "Tier\tBegin Time - msec\tEnd Time - msec\tDuration - msec\tAnnotation\n"
        "Expression\t1000\t2000\t1000\tsmile\n"
        "Expression\t2500\t\t\tcry\n"
    )
    path = tmp_path / "a.txt"
    path.write_text(text, encoding="utf-8")
    events = read_elan(path)
    assert events.loc[0, ["onset_s", "offset_s", "status"]].tolist() == [1.0, 2.0, "ok"]
    assert events.loc[1, "status"] == "bad_times"


def test_parse_time():
    assert parse_time("00:01:02.500") == 62.5
    assert parse_time("1:02.5") == 62.5
    assert parse_time("2,5") == 2.5
    assert parse_time(3) == 3.0
    assert np.isnan(parse_time("NA")) and np.isnan(parse_time("soon"))


# -------------------------------------------------------------------------- plain CSV
def test_plain_event_csv_and_its_required_columns(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text(
        "video,onset_s,offset_s,label\ninfant01/visit1,1,2,happy\ninfant01/visit1,x,2,sad\n",
        encoding="utf-8",
    )
    events = read_events_csv(path)
    assert events["status"].tolist() == ["ok", "bad_times"]
    bad = tmp_path / "bad.csv"
    bad.write_text("video,start,end,label\n", encoding="utf-8")
    with pytest.raises(GeofaceError, match=r"onset_s.*offset_s"):
        read_events_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(GeofaceError, match="is empty"):
        read_events_csv(empty)


def test_read_coding_reads_a_folder_of_elan_files(tmp_path):
    for name in ("visit1", "visit2"):
        (tmp_path / f"{name}.txt").write_text("T\t\t1.0\t2.0\t1.0\tsmile\n", encoding="utf-8")
    events = read_coding(tmp_path, "elan")
    assert sorted(events["video"]) == ["visit1", "visit2"]
    assert sorted(events["source_file"]) == ["visit1.txt", "visit2.txt"]
    with pytest.raises(GeofaceError, match="--tier applies"):
        read_coding(tmp_path, "boris", tier="T")


# -------------------------------------------------------------------------- labelling
def test_label_frames_statuses_for_every_frame_and_event(tmp_path):
    path = write_boris_tabular(tmp_path / "boris.csv")
    frames = frame_table()
    events = read_boris(path)
    # an event wholly after the video's end
    extra = pd.DataFrame(
        [["/data/infant01/visit1.mp4", 20.0, 21.0, "smile", "", 99, "ok", ""]],
        columns=list(EVENT_COLUMNS),
    )
    events = pd.concat([events, extra], ignore_index=True)
    labels, status, counts = label_frames(frames, events)
    assert len(labels) == len(frames) and labels.index.equals(frames.index)
    t = frames["time_s"].to_numpy()
    v1 = (frames["video"] == "infant01/visit1").to_numpy()

    def at(sec, video=v1):
        return int(np.flatnonzero(video & np.isclose(t, sec))[0])

    assert labels[at(1.0)] == "smile" and status[at(1.0)] == "ok"
    assert status[at(1.5)] == "overlapping" and labels[at(1.5)] is None  # smile and cry
    assert labels[at(2.0)] == "cry"  # offset 2.0 is not in smile: onset ≤ t < offset
    assert status[at(3.0)] == "unlabelled"
    assert status[at(4.0)] == "unlabelled"  # a point event labels nothing
    assert labels[at(9.0)] == "smile"  # 8 s START … 13 s STOP, within the video
    assert (status[~v1] == "unlabelled").all()
    resolved = resolve_events(events, frames)
    by_status = resolved.set_index("source_row")["status"]
    assert by_status[99] == "outside_video"
    assert (
        resolved.loc[resolved["source_video"].str.contains("visit9"), "status"] == "unknown_video"
    ).all()
    assert (
        "no video" in resolved.loc[resolved["source_video"].str.contains("visit9"), "note"].iloc[0]
    )
    assert counts["events"] == {
        "ok": 4,
        "bad_times": 2,
        "point_event": 1,
        "unknown_video": 1,
        "outside_video": 1,
    }
    assert sum(counts["frames"].values()) == len(frames)
    assert counts["frames"]["overlapping"] == 15  # 1.5 ≤ t < 2.0 at 30 fps
    # every event keeps its row: nothing dropped
    assert len(resolved) == len(events)


def test_video_names_match_ids_paths_and_stems():
    frames = frame_table(videos=("site/a/v1", "site/b/v2", "x/v3", "y/v3"))
    events = pd.DataFrame(
        {
            "video": ["site/a/v1", "/mnt/site/a/v1.mp4", "V2.MP4", "v2", "v3", "zzz", ""],
            "onset_s": 1.0,
            "offset_s": 2.0,
            "label": "smile",
            "subject": "",
            "source_row": range(2, 9),
            "status": "ok",
            "note": "",
        }
    )
    out = resolve_events(events, frames)
    assert out["video"].tolist()[:4] == ["site/a/v1", "site/a/v1", "site/b/v2", "site/b/v2"]
    assert out["status"].tolist() == ["ok"] * 4 + ["unknown_video"] * 3
    assert "several videos" in out["note"].iloc[4]


def test_events_made_by_hand_get_their_statuses_from_the_times():
    frames = frame_table(videos=("v",), seconds=2.0)
    events = pd.DataFrame(
        {
            "video": ["v", "v", "v"],
            "onset_s": [0.0, 1.0, "later"],
            "offset_s": [0.5, 1.0, 2.0],
            "label": ["Smile", "x", "y"],
            "coder": ["A", "B", "C"],
        }
    )
    labels, _, counts = label_frames(frames, events)
    assert counts["events"] == {"ok": 1, "point_event": 1, "bad_times": 1}
    assert (labels[:15] == "smile").all() and labels[15:].isna().all()
    resolved = resolve_events(events, frames)
    assert resolved["coder"].tolist() == ["A", "B", "C"]
    assert resolved["source_row"].tolist() == [2, 3, 4]


def test_frames_without_time_stay_unlabelled():
    frames = frame_table(videos=("v",), seconds=1.0)
    frames.loc[3, "time_s"] = np.nan
    events = pd.DataFrame([["v", 0.0, 1.0, "smile", "", 2, "ok", ""]], columns=list(EVENT_COLUMNS))
    _, status, counts = label_frames(frames, events)
    assert status[3] == "unlabelled" and (status.drop(3) == "ok").all()
    assert counts["frames"] == {"ok": 29, "overlapping": 0, "unlabelled": 1}


# ---------------------------------------------------------------------------- segments
def simulated_course(seconds=20.0, fps=FPS, seed=0):
    """Probabilities with known episodes: happy 3–7 s, surprise 11–14.5 s, neutral else."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fps)) / fps
    truth = np.where(
        (t >= 3) & (t < 7), "happy", np.where((t >= 11) & (t < 14.5), "surprise", "neutral")
    )
    logits = rng.normal(0, 0.6, (len(t), 3))
    cls = {"happy": 0, "neutral": 1, "surprise": 2}
    for name, k in cls.items():
        logits[truth == name, k] += 2.5
    # a few single-frame flickers inside the happy episode
    flicker = np.flatnonzero(truth == "happy")[::25]
    logits[flicker, 2] += 6
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {
            "video": "v",
            "track_id": 0,
            "time_s": t,
            **{f"proba_{k}": p[:, i] for k, i in cls.items()},
        }
    )
    return frame, truth


@pytest.mark.parametrize("smooth", ["none", "median", "ema"])
def test_segments_recover_known_onsets_and_offsets(smooth):
    frame, _ = simulated_course()
    seg = segments_from_proba(frame, smooth=smooth, window_s=0.3, min_duration_s=0.5)
    assert tuple(seg.columns) == SEGMENT_COLUMNS
    episodes = seg[seg["label"] != "neutral"].reset_index(drop=True)
    assert episodes["label"].tolist() == ["happy", "surprise"]
    tolerance = 0.2  # seconds: 6 frames at 30 fps (ema lags by about its time constant)
    np.testing.assert_allclose(episodes["onset_s"], [3.0, 11.0], atol=tolerance)
    np.testing.assert_allclose(episodes["offset_s"], [7.0, 14.5], atol=tolerance)
    assert (episodes["peak_proba"] > 0.5).all() and (episodes["peak_proba"] <= 1).all()
    np.testing.assert_allclose(seg["duration_s"], seg["offset_s"] - seg["onset_s"])


def test_without_min_duration_flickers_are_segments_of_their_own():
    frame, _ = simulated_course()
    seg = segments_from_proba(frame)
    assert (seg["label"] == "surprise").sum() > 1
    short = seg[seg["n_frames"] == 1]
    np.testing.assert_allclose(short["duration_s"], 1 / FPS)


def test_gaps_end_segments_and_tracks_are_kept_apart():
    frame, _ = simulated_course(seconds=4.0)
    frame[["proba_happy", "proba_neutral", "proba_surprise"]] = [0.9, 0.05, 0.05]
    frame.loc[30:35, "proba_happy"] = np.nan  # unusable frames 1.0–1.2 s
    frame = frame.drop(index=range(90, 100))  # a time jump at 3.0 s
    other = frame.assign(track_id=1)
    seg = segments_from_proba(pd.concat([frame, other]).sample(frac=1, random_state=0))
    assert seg.groupby("track_id").size().tolist() == [3, 3]
    one = seg[seg["track_id"] == 0]
    np.testing.assert_allclose(one["onset_s"], [0.0, 36 / FPS, 100 / FPS])
    np.testing.assert_allclose(one["offset_s"], [30 / FPS, 90 / FPS, 120 / FPS])


def test_threshold_leaves_uncertain_frames_without_class():
    frame, _ = simulated_course(seconds=2.0)
    frame[["proba_happy", "proba_neutral", "proba_surprise"]] = [0.9, 0.05, 0.05]
    frame.loc[20:39, ["proba_happy", "proba_neutral", "proba_surprise"]] = [0.4, 0.35, 0.25]
    seg = segments_from_proba(frame, threshold=0.5)
    np.testing.assert_allclose(seg["onset_s"], [0.0, 40 / FPS])
    assert seg["n_frames"].tolist() == [20, 20]


def test_segments_refuse_bad_options_in_one_line():
    frame, _ = simulated_course(seconds=1.0)
    with pytest.raises(GeofaceError, match="smooth='gauss'"):
        segments_from_proba(frame, smooth="gauss")
    with pytest.raises(GeofaceError, match="proba_"):
        segments_from_proba(frame[["video", "time_s"]])
    with pytest.raises(GeofaceError, match="threshold"):
        segments_from_proba(frame, threshold=2)


# ----------------------------------------------------------------------------- writers
def test_segments_round_trip_through_boris_elan_and_csv(tmp_path):
    frame, _ = simulated_course()
    seg = segments_from_proba(frame, smooth="median", window_s=0.3, min_duration_s=0.5)
    boris = write_segments_boris(seg, tmp_path / "seg.tsv")
    back = read_boris(boris)
    assert (back["status"] == "ok").all() and len(back) == len(seg)
    back = back.sort_values("onset_s").reset_index(drop=True)
    np.testing.assert_allclose(back["onset_s"], seg["onset_s"], atol=1e-6)
    np.testing.assert_allclose(back["offset_s"], seg["offset_s"], atol=1e-6)
    assert back["label"].tolist() == seg["label"].tolist()
    header = boris.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header[:7] == [
        "Observation id",
        "Media file name",
        "Subject",
        "Behavior",
        "Behavioral category",
        "Behavior type",
        "Time",
    ]

    elan = write_segments_elan(seg, tmp_path / "seg.txt")
    back = read_elan(elan, video="v")
    np.testing.assert_allclose(back["onset_s"], seg["onset_s"], atol=1e-6)
    assert back["label"].tolist() == seg["label"].tolist()
    two = pd.concat([seg, seg.assign(video="w")])
    with pytest.raises(GeofaceError, match="video="):
        write_segments_elan(two, tmp_path / "x.txt")
    assert len(read_elan(write_segments_elan(two, tmp_path / "w.txt", video="w"))) == len(seg)

    written = write_segments(two, tmp_path / "elan", "elan")
    assert [p.name for p in written] == ["v.txt", "w.txt"]
    with pytest.raises(GeofaceError, match="give a folder"):
        write_segments(two, tmp_path / "elan.txt", "elan")
    with pytest.raises(GeofaceError, match="format='praat'"):
        write_segments(two, tmp_path / "x", "praat")

    plain = read_events_csv(write_segments_csv(seg, tmp_path / "seg.csv"))
    np.testing.assert_allclose(plain["offset_s"], seg["offset_s"], rtol=1e-5)

    # the segments label the frames they came from
    _, status, _ = label_frames(frame, plain)
    assert (status == "ok").all()


# --------------------------------------------------------------------------- agreement
def test_event_agreement_on_a_hand_made_case():
    coded = pd.DataFrame(
        {
            "video": ["v", "v", "v", "w", "v"],
            "onset_s": [1.0, 5.0, 9.0, 2.0, 20.0],
            "offset_s": [2.0, 6.0, 10.0, 3.0, 21.0],
            "label": ["happy", "happy", "sad", "happy", "happy"],
            "status": ["ok", "ok", "ok", "ok", "bad_times"],
        }
    )
    predicted = pd.DataFrame(
        {
            "video": ["v", "v", "v", "v", "w"],
            "onset_s": [1.3, 1.4, 5.8, 9.1, 2.2],
            "offset_s": [2.0, 2.0, 6.0, 10.0, 3.0],
            "label": ["happy", "happy", "happy", "sad", "sad"],
        }
    )
    table = event_agreement(predicted, coded, onset_tolerance_s=0.5).set_index("class")
    # happy: coded v@1, v@5, w@2 (20 s is bad_times); predicted v@1.3, v@1.4, v@5.8
    # one-to-one: v@1.3 ↔ v@1; v@1.4 unmatched; v@5.8 is 0.8 s late → unmatched
    assert table.loc["happy", ["n_coded", "n_predicted", "matched"]].tolist() == [3, 3, 1]
    assert table.loc["happy", "precision"] == pytest.approx(1 / 3)
    assert table.loc["happy", "mean_onset_error_s"] == pytest.approx(0.3)
    # sad: v@9.1 ↔ v@9; w@2.2 predicted sad, coded happy → not a match
    assert table.loc["sad", ["n_coded", "n_predicted", "matched"]].tolist() == [1, 2, 1]
    overall = table.loc["overall"]
    assert overall[["n_coded", "n_predicted", "matched"]].tolist() == [4, 5, 2]
    assert overall["precision"] == pytest.approx(2 / 5) and overall["recall"] == pytest.approx(0.5)
    assert overall["f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert overall["mean_abs_onset_error_s"] == pytest.approx(0.2)
    wide = event_agreement(predicted, coded, onset_tolerance_s=1.0).set_index("class")
    assert wide.loc["happy", "matched"] == 2


def test_hungarian_matching_beats_greedy():
    # greedy by closeness would pair 1.1 ↔ 1.0 and leave 0.6 unmatched
    coded = pd.DataFrame({"video": "v", "onset_s": [1.0, 1.5], "label": "a"})
    predicted = pd.DataFrame({"video": "v", "onset_s": [1.1, 0.6], "label": "a"})
    table = event_agreement(predicted, coded, onset_tolerance_s=0.45).set_index("class")
    assert table.loc["a", "matched"] == 2


def test_frame_agreement():
    truth = ["a", "a", "b", None, "b"]
    pred = ["a", "b", "b", "a", None]
    table = frame_agreement(truth, pred).set_index("class")
    assert table.loc["a", ["precision", "recall"]].tolist() == [1.0, 0.5]
    assert table.loc["overall", "precision"] == pytest.approx(0.5)  # accuracy over 4 frames
