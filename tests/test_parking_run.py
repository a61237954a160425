"""Parking mode in a whole ``build_pipeline`` run of the ``parked`` scenario: the synthetic
camera in real time, the stand-in model on ONNX Runtime, libx264 through PyAV, SQLite; the
car's speed and stillness from the GPS and IMU stages reading the synthetic world's own
receiver and G-sensor (``[gps] source = synthetic``, ``[imu] source = synthetic``), whose
knock the IMU stage raises as an ``impact`` that parking hears from the event stream.
"""

import io
import time

import pytest

from dashcam import events as ev
from dashcam.cli.run import print_summary
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader
from dashcam.store.clips import clip_segments
from dashcam.synthetic.scenarios import KNOCK_AT_S, PASS_AT_S
from dashcam.timestamps import parse_iso
from recorded import wait_for
from test_pipeline import make_config

pytest.importorskip("av", reason="PyAV records the segments (no wheel for 3.6)")

SOURCE = "synthetic://?seed=7&width=640&height=360&fps=15&scenario=parked"
PRE_ROLL = 3.0


def test_the_parked_scenario_parks_wakes_on_the_passing_car_and_the_knock_and_parks_again(
        tmp_path):
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(
        tmp_path, run={"status_interval": 0},
        recording={"segment_seconds": 1.0, "pre_roll": PRE_ROLL, "post_roll": 1.0},
        parking={"still_minutes": 0.02, "event_seconds": 1.5, "fps": 1.0, "recording_fps": 2.0},
        gps={"source": "synthetic"}, imu={"source": "synthetic", "still_seconds": 1.0})
    pipeline = build_pipeline(config, source=SOURCE, db_path=db_path, status_stream=None,
                              recordings=str(tmp_path / "video"))
    parking = pipeline.parts.parking.worker
    pipeline.start()
    started = time.monotonic()
    try:
        # parked after 1.2 s still, woken by the knock at 6 s, parked again 1.2 s later
        assert wait_for(lambda: parking.entered >= 2, timeout=60.0), parking.summary()
    finally:
        summary = pipeline.stop()
    took = time.monotonic() - started
    assert took >= KNOCK_AT_S

    with StoreReader(db_path) as reader:
        rows = reader.events(types=[ev.PARKING_STARTED, ev.PARKING_ENDED, ev.PARKING_EVENT])
        t0 = parse_iso(reader.runs()[0]["started_at"])
        script = [(r["type"], r["data"].get("reason") or r["data"]["cause"]) for r in rows]
        assert script in (
            [("parking_started", "still"), ("parking_event", "approach"),
             ("parking_event", "impact"), ("parking_ended", "impact"),
             ("parking_started", "still"), ("parking_ended", "run_stopped")],
            # the car may pass between two parked frames too far apart to judge (a loaded
            # machine): the knock still wakes the car
            [("parking_started", "still"), ("parking_event", "impact"),
             ("parking_ended", "impact"), ("parking_started", "still"),
             ("parking_ended", "run_stopped")]), script
        assert all(r["ts_end"] is not None for r in rows)        # parking_started closed
        for row in (r for r in rows if r["type"] == ev.PARKING_EVENT):
            at = parse_iso(row["ts_start"]) - t0
            if row["data"]["cause"] == "approach":
                assert 1.0 < at < PASS_AT_S + 0.5 and row["label"] == "car"
            else:
                assert KNOCK_AT_S - 0.5 < at < KNOCK_AT_S + 1.5
            clip = clip_segments(reader.db, row["id"])
            assert clip and all(s["protected"] for s in clip)
            # the seconds before it, from the segments already on disk when it happened
            assert parse_iso(clip[0]["window_start"]) == pytest.approx(
                parse_iso(row["ts_start"]) - PRE_ROLL)
            assert parse_iso(clip[0]["started_at"]) <= parse_iso(row["ts_start"]) - 1.0
        segments = list(reader.db.query("SELECT * FROM segments ORDER BY started_at"))
    # parked, the camera's frames were let go undrawn
    figures = summary["parking"]
    assert figures["entered"] == 2 and figures["frames_skipped"] > 0
    out = io.StringIO()
    print_summary(summary, out)
    assert "  parking: entered 2 times, " in out.getvalue()
    # what was let go was never recorded: the recorder had every frame passed on, no more
    recording = summary["recording"]
    assert recording["frames"] + recording["dropped"] == summary["frames_in"]
    assert sum(s["frames"] for s in segments) == recording["frames"]
