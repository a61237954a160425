"""Parking mode in a whole ``build_pipeline`` run of the ``parked`` scenario: the synthetic
camera in real time, the stand-in model on ONNX Runtime, libx264 through PyAV, SQLite; the
car's stillness and speed from the synthetic IMU and GPS opened with the camera.

The GPS and IMU stages (their workers, which give ``speed_kmh()``, ``still()`` and raise
``impact``) are not part of this branch: ``SyntheticSenses`` below stands in for them, on
the real synthetic sources, and submits the knock as an ``impact`` event through the
event logger, as the IMU stage would, so the parking worker hears it from the event stream.
"""

import io
import threading
import time
from collections import deque

import pytest

from dashcam import events as ev
from dashcam.cli.run import print_summary
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader
from dashcam.store.clips import clip_segments
from dashcam.synthetic.scenarios import KNOCK_AT_S, PASS_AT_S
from dashcam.synthetic.senses import open_gps, open_imu
from dashcam.timestamps import parse_iso
from recorded import wait_for
from test_pipeline import make_config

pytest.importorskip("av", reason="PyAV records the segments (no wheel for 3.6)")

SOURCE = "synthetic://?seed=7&width=640&height=360&fps=15&scenario=parked"
PRE_ROLL = 3.0


class SyntheticSenses:
    """Stand-in for the GPS and IMU stages (see the module): the newest fix's speed, the
    IMU still when the last half second stayed within 0.05 g of rest, an ``impact`` event
    for a jolt beyond 1 g."""

    def __init__(self, scenario):
        self.scenario, self.submit = scenario, None
        self.gps = self.imu = self.fix = None
        self.recent = deque()
        self.impacts = []
        self.lock = threading.Lock()

    def open(self, submit):
        """With the camera: the synthetic world's clock starts now for all three."""
        self.submit = submit
        self.gps, self.imu = open_gps(self.scenario), open_imu(self.scenario)

    def close(self):
        for source in (self.gps, self.imu):
            source.close()

    def speed_kmh(self):
        with self.lock:
            fix = self.gps.read(0)
            self.fix = fix or self.fix
            return None if self.fix is None else self.fix.speed_kmh

    def still(self):
        with self.lock:
            for sample in self.imu.read(0):
                self.recent.append(sample)
                jolt = abs(sample.ax) + abs(sample.ay) + abs(sample.az - 1.0)
                if jolt > 1.0 and (not self.impacts or sample.t - self.impacts[-1] > 1.0):
                    self.impacts.append(sample.t)
                    t_utc = time.time() - (time.monotonic() - sample.t)
                    self.submit(ev.Event(ev.IMPACT, t_utc, t_utc, None, None, ev.CRITICAL,
                                         {"peak_g": round(jolt, 2)}))
            while self.recent and self.recent[-1].t - self.recent[0].t > 0.5:
                self.recent.popleft()
            return all(abs(s.ax) < 0.05 and abs(s.az - 1.0) < 0.05 for s in self.recent)


def test_the_parked_scenario_parks_wakes_on_the_passing_car_and_the_knock_and_parks_again(
        tmp_path):
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(
        tmp_path, run={"status_interval": 0},
        recording={"segment_seconds": 1.0, "pre_roll": PRE_ROLL, "post_roll": 1.0},
        parking={"still_minutes": 0.02, "event_seconds": 1.5, "fps": 1.0, "recording_fps": 2.0})
    senses = SyntheticSenses("parked")
    pipeline = build_pipeline(config, source=SOURCE, db_path=db_path, status_stream=None,
                              recordings=str(tmp_path / "video"),
                              speed_kmh=senses.speed_kmh, still=senses.still)
    parking = pipeline.parts.parking.worker
    senses.open(pipeline.logger.submit)
    pipeline.start()
    started = time.monotonic()
    try:
        # parked after 1.2 s still, woken by the knock at 6 s, parked again 1.2 s later
        assert wait_for(lambda: parking.entered >= 2, timeout=60.0), parking.summary()
    finally:
        summary = pipeline.stop()
        senses.close()
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
