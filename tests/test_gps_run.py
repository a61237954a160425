"""The GPS in a whole run on real parts: a real gpsd fed by gpsfake, the synthetic camera,
ONNX Runtime on the tiny model, SQLite, the software encoder; then export and ``dashcam track``.

gpsd is unplugged mid-run (gpsfake and its gpsd killed): ``gps_lost``, and the run goes on.
Every event, alert and segment carries the position and speed of the last fix received
before its time, or nothing where there was none.
"""

import glob
import os
import threading
import time

import pytest

from dashcam import events as ev
from dashcam.cli import main
from dashcam.export import write_export
from dashcam.fanout import Subscriber
from dashcam.runtime import build_pipeline
from dashcam.runtime.status import Snapshot, status_line
from dashcam.store import StoreReader
from dashcam.timestamps import parse_iso
from gps_drive import drive, gpsfake, write_log
from test_pipeline import check_store_after_run, make_config


INTERVAL = 0.2   # seconds between the replayed fixes
LOST_AFTER = 1.0


def expected_stamp(fixes, t, bound=LOST_AFTER):
    """``(lat, lon, speed_kmh)`` of the last fix received at or before ``t`` within
    ``bound``, from the store's rows ``(received, lat, lon, speed)``; None: no fix."""
    before = [f for f in fixes if f[0] <= t]
    if not before or t - before[-1][0] > bound:
        return None
    return before[-1][1], before[-1][2], round(before[-1][3] * 3.6, 2)


def expected_stamps(fixes, t):
    """What may stamp ``t``: the store keeps times to the millisecond, so a fix received
    within one of ``t`` (or of ``t - LOST_AFTER``) may fall on either side of it."""
    return {expected_stamp(fixes, t + d, LOST_AFTER + b)
            for d in (-0.001, 0.0, 0.001) for b in (-0.001, 0.0, 0.001)}


def test_a_gpsfake_drive_stamps_every_event_and_an_unplugged_gps_is_lost_not_fatal(
        tmp_path, tiny_model_path):
    pytest.importorskip("av", reason="PyAV (the software encoder) has no wheel here")
    points = drive(time.time(), 40, interval=INTERVAL)
    log = write_log(tmp_path / "drive.nmea", points)
    db_path = str(tmp_path / "store" / "dashcam.db")
    with gpsfake(log, cycle=INTERVAL / 2) as (port, unplug):
        config = make_config(
            tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2},
            recording={"segment_seconds": 1},
            gps={"source": f"gpsd://127.0.0.1:{port}", "lost_after": LOST_AFTER,
                 "reopen_interval": 0.1, "store_interval": 0},
            **{"rule:bright-car": {"labels": "car", "cooldown": 0.2, "severity": "critical"}})
        stop, lost, after_lost, unplugged = (threading.Event(), threading.Event(), [],
                                            threading.Event())
        pipeline = None

        def on_frame(record):
            if not unplugged.is_set() and pipeline.parts.gps.worker.fixes >= 10:
                unplug()           # mid-drive: the replay has more to give
                unplugged.set()
            if lost.is_set():
                after_lost.append(record.frame_index)
                if len(after_lost) >= 15:   # the run went on without its GPS
                    stop.set()

        def on_event(item):
            if item[1].type == ev.GPS_LOST and unplugged.is_set():
                lost.set()

        pipeline = build_pipeline(
            config, source="synthetic://?seed=3&width=320&height=180&fps=15", db_path=db_path,
            model_path=tiny_model_path, status_stream=None, stop_requested=stop,
            frame_subscribers=[Subscriber("unplugger", on_frame)],
            event_subscribers=[Subscriber("gps-watch", on_event)])
        summary = pipeline.run(duration=60)
    assert stop.is_set(), "the run did not see gps_lost after the unplug within 60 s"
    assert "failed" not in summary and not summary.get("failed_workers")
    assert summary["gps"]["fixes"] >= 10 and summary["gps"]["lost"] >= 1
    _, events = check_store_after_run(db_path, summary)
    with StoreReader(db_path) as reader:
        fixes = [(parse_iso(r[0]), r[1], r[2], r[3]) for r in reader.conn.execute(
            "SELECT ts, lat, lon, speed FROM fixes ORDER BY ts")]
        segments = list(reader.db.query(
            "SELECT started_at, lat, lon, speed_kmh, fix_age_s FROM segments"))
        stored = reader.fixes()
    # every stored fix is a replayed one, in order
    replayed = {(round(p.lat, 7), round(p.lon, 7)): p for p in points}
    assert len(fixes) == summary["gps"]["stored"] >= 10
    for _, lat, lon, speed in fixes:
        assert speed == pytest.approx(replayed[(round(lat, 7), round(lon, 7))].speed, abs=0.01)
    gone = [e for e in events if e["type"] == ev.GPS_LOST and e["data"]["last_fix"]]
    assert gone and gone[0]["data"]["reason"].startswith("device gone")
    assert any(e["type"] == ev.ALERT for e in events)
    stamped = 0
    for row in events + [dict(s, ts_start=s["started_at"]) for s in segments]:
        t = parse_iso(row["ts_start"])
        got = (row["lat"], row["lon"], row["speed_kmh"])
        want = expected_stamps(fixes, t)
        assert (None if got == (None, None, None) else got) in want, row
        if got != (None, None, None):
            stamped += 1
            assert 0 <= row["fix_age_s"] <= LOST_AFTER
        else:
            assert row["fix_age_s"] is None
    assert stamped >= 2
    # alerts fire on every frame with a car (cooldown 0.2 s): some while the fix was good
    assert any(e["type"] == ev.ALERT and e["lat"] is not None for e in events)

    # export: the GPX holds the stored fixes, the raw log gpsd's lines of the range
    gpxpy = pytest.importorskip("gpxpy", reason="gpxpy (test-only, Python 3.7+) is not installed")
    stick = tmp_path / "stick"
    stick.mkdir()
    result = write_export(str(stick), db_path, host="van")
    gpx = gpxpy.parse(open(os.path.join(result.folder, "track.gpx")).read())
    points_out = [p for s in gpx.tracks[0].segments for p in s.points]
    assert [(p.latitude, p.longitude) for p in points_out] == \
        [pytest.approx((f.lat, f.lon)) for f in stored]
    assert [p.time.timestamp() for p in points_out] == [pytest.approx(f.time) for f in stored]
    raw = open(os.path.join(result.folder, "gps-raw.log")).read()
    assert raw.count('"class":"TPV"') >= len(stored)
    assert "track.gpx" in open(os.path.join(result.folder, "MANIFEST.sha256")).read()
    assert f"GPS: {len(stored)} fixes in track.gpx" in result.summary

    out = str(tmp_path / "drive.gpx")
    assert main(["track", "--db", db_path, "-o", out]) == 0
    track = gpxpy.parse(open(out).read())
    speeds = [float(e.text) for s in track.tracks[0].segments for p in s.points
              for x in p.extensions for e in x if e.tag.endswith("speed")]
    assert speeds == [pytest.approx(f.speed, abs=0.01) for f in stored]
    assert not glob.glob(out + ".partial")


def test_track_without_fixes_is_one_line_naming_the_store(tmp_path, capsys):
    from dashcam.store import EventStore

    db_path = str(tmp_path / "dashcam.db")
    EventStore(db_path).close()
    assert main(["track", "--db", db_path, "-o", str(tmp_path / "x.gpx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dashcam track: error: no GPS fixes from the start to now in ")
    assert not os.path.exists(tmp_path / "x.gpx")


def test_the_status_line_shows_speed_and_fix_state_only_with_a_gps():
    base = Snapshot(0.0, 0, 0, 0, 0, [], [], [], [], [], [], 0, 0)
    later = base._replace(t=1.0, gps="52 km/h 3D")
    assert status_line(base, later).endswith("| gps 52 km/h 3D")
    assert "gps" not in status_line(base, base._replace(t=1.0, gps="off"))
    assert "gps" not in status_line(base, base._replace(t=1.0))
