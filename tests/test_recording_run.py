"""Recording inside ``dashcam run`` on real parts: the synthetic road, ONNX Runtime on a tiny
model, libx264 through PyAV, SQLite files, and a real small file system (tmpfs) for disk-full."""

import json
import os
import signal
import sys

import cv2
import pytest

from dashcam.store import StoreReader
from dashcam.timestamps import iso_utc, parse_iso
from test_pipeline import make_config, start_run
from volumes import fill, small_volume

av = pytest.importorskip("av", reason="PyAV writes and decodes the segments (no wheel for 3.6)")

from dashcam.recording import write_clip  # noqa: E402
from dashcam.runtime import build_pipeline  # noqa: E402
from recorded import decode, wait_for  # noqa: E402

SOURCE = "synthetic://?seed=5&width=320&height=180&fps=30"


def segments(db_path):
    with StoreReader(db_path) as reader:
        return list(reader.db.query("SELECT * FROM segments ORDER BY started_at"))


def recorded_run(tmp_path, model, seconds, **recording):
    """``dashcam run``'s pipeline for ``seconds`` on the synthetic road, 1 s segments, a clip
    for every event (objects too: they are the events this road has)."""
    db_path = str(tmp_path / "dashcam.db")
    recording.setdefault("segment_seconds", 1.0)
    recording.setdefault("clips", "*")
    config = make_config(tmp_path, run={"status_interval": 0}, recording=recording)
    summary = build_pipeline(config, source=SOURCE, db_path=db_path, model_path=model,
                             status_stream=None).run(duration=seconds)
    return db_path, summary


def seconds_of(row):
    return parse_iso(row["ended_at"]) - parse_iso(row["started_at"])


def test_a_run_records_segments_that_decode_and_add_up_to_the_time_recorded(tmp_path,
                                                                            tiny_model_path):
    db_path, summary = recorded_run(tmp_path, tiny_model_path, 6.0)
    recording = summary["recording"]
    rows = segments(db_path)
    assert len(rows) == recording["segments"] >= 4
    folder = str(tmp_path / "recordings")
    for row in rows:
        frames, _ = decode(os.path.join(folder, row["path"]))
        assert frames == row["frames"]
    recorded = sum(r["frames"] for r in rows)
    assert recorded == recording["frames"]
    # the frames the recorder dropped are counted, and every captured frame is accounted for
    assert recording["frames"] + recording["dropped"] + recording["missed_paused"] == \
        summary["frames_in"]
    with StoreReader(db_path) as reader:   # snapshots: JPEGs of the event's frame, with boxes
        shots = [r[0] for r in reader.conn.execute(
            "SELECT snapshot FROM events WHERE snapshot IS NOT NULL")]
    assert shots and all(p.startswith("snapshots/run-000001/event-") for p in shots)
    assert cv2.imread(os.path.join(folder, shots[0])).shape == (180, 320, 3)
    seconds = sum(seconds_of(r) for r in rows)
    first, last = parse_iso(rows[0]["started_at"]), parse_iso(rows[-1]["ended_at"])
    assert abs(seconds - (last - first)) < 1.0 and abs(seconds - 6.0) < 1.0 + 1.0


def test_an_event_a_few_seconds_in_gives_a_clip_with_its_pre_and_post_roll(tmp_path,
                                                                          tiny_model_path):
    db_path, _ = recorded_run(tmp_path, tiny_model_path, 7.0, pre_roll=1.5, post_roll=1.5)
    with StoreReader(db_path) as reader:
        start = parse_iso(segments(db_path)[0]["started_at"])
        rows = list(reader.db.query(
            "SELECT e.id, e.ts_start, e.ts_end, c.window_start, c.window_end FROM events e"
            " JOIN clips c ON c.event_id = e.id WHERE e.ts_start >= ? AND e.ts_end IS NOT NULL"
            " AND e.ts_end < ? GROUP BY e.id ORDER BY e.ts_start LIMIT 1",
            [iso_utc(start + 2.0), iso_utc(start + 4.5)]))
        assert rows, "no closed event with a clip 2 s or more into the run"
        event = rows[0]
        out = str(tmp_path / "clip.mp4")
        write_clip(reader, event["id"], out, str(tmp_path / "recordings"))
    frames, span = decode(out)
    window = parse_iso(event["window_end"]) - parse_iso(event["window_start"])
    pre_roll = parse_iso(event["ts_start"]) - parse_iso(event["window_start"])
    assert pre_roll == pytest.approx(1.5, abs=1e-3)
    assert frames > 0 and span >= window - 1.0 - 1 / 15.0   # cut at keyframes, one a second


def test_kill_9_loses_at_most_the_segment_being_written_and_it_is_recovered(tmp_path,
                                                                          tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")
    ini = tmp_path / "run.ini"
    ini.write_text("[run]\nstatus-interval = 0.2\n[recording]\nsegment-seconds = 1\nclips = *\n")
    process = start_run(db_path, tiny_model_path, ini)
    assert wait_for(lambda: len(segments(db_path)) >= 2)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=20)
    folder = str(tmp_path / "recordings")
    before = {r["path"] for r in segments(db_path)}
    on_disk = {os.path.relpath(os.path.join(root, n), folder) for root, _, names in
                  os.walk(folder) for n in names if n.endswith(".ts")}
    assert len(on_disk - before) <= 1            # only the segment being written is unindexed
    second = start_run(db_path, tiny_model_path, ini, "--duration", "1")
    assert second.wait(timeout=60) == 0
    second.communicate()
    with StoreReader(db_path) as reader:
        assert reader.integrity_check() == "ok"
        handled = [e["data"]["path"] for e in reader.events(
            types=["segment_recovered", "segment_quarantined"])]
    assert sorted(handled) == sorted(on_disk - before)
    for row in segments(db_path):
        assert decode(os.path.join(folder, row["path"]))[0] == row["frames"]
    with StoreReader(db_path) as reader:   # the killed run's events all got their clip
        unclipped = list(reader.db.query(
            "SELECT e.id FROM events e WHERE e.run_id = 1 AND e.type = 'object_appeared'"
            " AND e.ts_start < (SELECT max(ended_at) FROM segments WHERE run_id = 1)"
            " AND e.id NOT IN (SELECT event_id FROM clips)"))
        assert reader.count("clips") > 0 and unclipped == []


def test_a_full_recordings_volume_pauses_recording_and_the_run_goes_on(tmp_path, tiny_model_path):
    with small_volume(tmp_path / "video", "8m") as folder:
        db_path = str(tmp_path / "dashcam.db")
        config = make_config(tmp_path, run={"status_interval": 0},
                             recording={"segment_seconds": 1.0, "quota": "100%", "reserve": "0",
                                        "bitrate": 2000})
        pipeline = build_pipeline(config, source=SOURCE, db_path=db_path,
                                  model_path=tiny_model_path, status_stream=None,
                                  recordings=folder)
        assert pipeline.recording.folder == folder
        assert config.recording.path == ""   # the caller's configuration is left as it was
        pipeline.start()
        try:
            recorder = pipeline.recording.recorder
            assert wait_for(lambda: recorder.segments >= 1)
            ballast = fill(folder)
            assert wait_for(lambda: recorder.pauses >= 1)
            processed = pipeline.inference.processed
            assert wait_for(lambda: pipeline.inference.processed > processed + 10)
            os.remove(ballast)
            assert wait_for(lambda: recorder.paused_at is None)
            segments_then = recorder.segments
            assert wait_for(lambda: recorder.segments > segments_then)
        finally:
            pipeline.stop_requested.set()
            summary = pipeline.stop()
        assert summary["recording"]["missed_paused"] > 0
        with StoreReader(db_path) as reader:
            types = [e["type"] for e in reader.events()]
            assert reader.integrity_check() == "ok"
        assert types.index("recording_paused") < types.index("recording_resumed")
        for row in segments(db_path):
            assert decode(os.path.join(folder, row["path"]))[0] == row["frames"]
    assert json.dumps(summary)   # the summary stays printable


def test_without_an_encoder_the_run_goes_on_and_says_so(tmp_path, tiny_model_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)   # as on Python 3.6: no PyAV
    db_path, summary = recorded_run(tmp_path, tiny_model_path, 1.0)
    assert "PyAV" in summary["recording"]["unavailable"] and summary["frames_processed"] > 0
    with StoreReader(db_path) as reader:
        [failed] = reader.events(types=["recording_failed"])
    assert failed["severity"] == "critical" and "pip install av" in failed["data"]["reason"]
