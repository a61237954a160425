"""GPS on real parts: a real gpsd fed by gpsfake, NMEA on a pty pair (the serial path), fixes
in a real SQLite store, GPX parsed back by gpxpy; the decisions without threads or clocks."""

import os
import threading
import time

import pytest

from dashcam import events as ev
from dashcam.config import load_config
from dashcam.errors import ConfigError
from dashcam.export.gpx import gpx_text, segments
from dashcam.gps import FixRecord, GpsState, GpsWorker, RawLog, open_gps_source, raw_lines
from dashcam.gps.gpsd import tpv_fix
from dashcam.gps.nmea import NmeaReader
from dashcam.gps.sources import parse_gps_url
from dashcam.gps.worker import lost_reason, should_store
from dashcam.senses import Fix, SensorError
from dashcam.store import EventStore, StoreReader
from dashcam.store.fixes import write_fixes
from gps_drive import drive, gpsfake, sentences, write_log



def close_to(fix, point):
    return (abs(fix.lat - point.lat) < 1e-6 and abs(fix.lon - point.lon) < 1e-6
            and abs(fix.speed - point.speed) < 0.01 and abs(fix.heading - point.course) < 0.05)


# --- decisions -------------------------------------------------------------------------------

def test_urls_name_their_source_or_fail_naming_what_is_allowed():
    assert parse_gps_url("gpsd://10.0.0.2:3000") == ("gpsd", ("10.0.0.2", 3000), {})
    assert parse_gps_url("gpsd://") == ("gpsd", ("127.0.0.1", 2947), {})
    assert parse_gps_url("nmea:///dev/ttyUSB0?baud=4800") == ("nmea", "/dev/ttyUSB0", {"baud": 4800})
    assert parse_gps_url(" none ")[0] == "none"
    for bad in ("gspd://x", "nmea:///dev/ttyS0?baud=fast", "gpsd://h:port", "/dev/ttyUSB0"):
        with pytest.raises(ConfigError, match="is not one of: auto, none, gpsd://"):
            parse_gps_url(bad)


def test_a_typo_in_gps_source_is_one_line_naming_file_key_and_allowed(tmp_path):
    path = tmp_path / "dashcam.ini"
    path.write_text("[gps]\nsource = gpsd:/127.0.0.1\n")
    with pytest.raises(ConfigError, match=r"\[gps\] source = 'gpsd:/127.0.0.1' is invalid: "
                                          r"allowed auto, none, gpsd://HOST:PORT"):
        load_config(str(path))


def test_a_tpv_with_a_fix_becomes_a_fix_and_anything_else_nothing():
    fix = tpv_fix({"class": "TPV", "mode": 3, "time": "2024-05-01T12:00:01.000Z", "lat": 48.1,
                   "lon": 11.5, "altMSL": 545.4, "speed": 10.8, "track": 84.4})
    assert fix == Fix(1714564801.0, 48.1, 11.5, 545.4, 10.8, 84.4, 3)
    assert tpv_fix({"class": "TPV", "mode": 1, "time": "2024-05-01T12:00:01Z"}) is None
    assert tpv_fix({"class": "SKY", "mode": 3}) is None
    assert tpv_fix({"class": "TPV", "mode": 2, "time": "2024-05-01T12:00:01Z", "lat": 1.0,
                    "lon": 2.0, "alt": 9.0}).alt is None
    assert tpv_fix({"class": "TPV", "mode": 3, "lat": 1.0, "lon": 2.0}) is None   # no time yet


def test_rmc_and_gga_of_one_instant_make_one_fix_in_either_order():
    point = drive(1714564800.0, 1)[0]
    rmc, gga = sentences(point)
    for order in ([rmc, gga], [gga, rmc]):
        reader = NmeaReader()
        for line in order:
            reader.feed(line.strip())
        assert len(reader.ready) == 1
        fix = reader.ready.popleft()
        assert close_to(fix, point) and fix.mode == 3 and fix.alt == pytest.approx(520.0)
        assert fix.time == pytest.approx(point.time)
    reader = NmeaReader()   # RMC only: given when the read ends; a corrupt line is counted
    reader.feed(rmc.strip())
    reader.feed(gga.strip()[:-2] + "00")
    reader.flush()
    assert reader.bad == 1 and [f.mode for f in reader.ready] == [2]


def test_fixes_are_stored_once_an_interval_and_on_a_change_of_mode():
    fix3, fix2 = Fix(0, 1, 2, 3, 4, 5, 3), Fix(0, 1, 2, None, 4, 5, 2)
    assert should_store(None, fix3, 100.0, 1.0)
    last = FixRecord(100.0, fix3)
    assert not should_store(last, fix3._replace(time=0.5), 100.5, 1.0)
    # the receiver's clock counts, not the arrival's jitter: 1 s apart there is stored
    assert should_store(last, fix3._replace(time=1.0), 100.93, 1.0)
    assert not should_store(last, fix3._replace(time=0.9), 101.2, 1.0)
    assert should_store(last, fix2, 100.2, 1.0)
    timeless = FixRecord(100.0, fix3._replace(time=None))   # no receiver time: on arrival
    assert should_store(timeless, fix3._replace(time=None), 101.0, 1.0)
    assert not should_store(timeless, fix3._replace(time=None), 100.5, 1.0)
    assert lost_reason(2.9, 3.0, None) is None
    assert lost_reason(3.0, 3.0, None) == "no fix for 3 s"
    assert lost_reason(0.1, 3.0, "gone") == "device gone: gone"


def test_the_state_gives_the_fix_before_a_time_within_its_age_never_a_stale_one():
    now = [1000.0]
    state = GpsState("gpsd://", max_age=2.0, wall_clock=lambda: now[0])
    assert state.latest() is None and state.speed_kmh() is None and state.describe() == "no fix"
    a, b = Fix(1.0, 48.0, 11.0, None, 10.0, 0.0, 2), Fix(2.0, 48.1, 11.1, 500.0, 20.0, 0.0, 3)
    assert state.update(a) == 1000.0
    now[0] = 1001.0
    state.update(b)
    assert state.at(999.9) is None
    assert state.at(1000.5) == (a, 0.5)
    assert state.at(1001.0) == (b, 0.0)
    assert state.at(1003.5) is None            # older than max_age: no fix, not a stale one
    now[0] = 1001.5
    assert state.latest() == (b, 0.5) and state.speed_kmh() == pytest.approx(72.0)
    assert state.describe() == "72 km/h 3D"
    now[0] = 1010.0
    state.lost = True
    assert state.speed_kmh() is None and state.describe() == "lost"
    assert GpsState().describe() == "off"


# --- real parts ------------------------------------------------------------------------------

def test_gpsd_fed_by_gpsfake_gives_the_replayed_fixes_then_says_it_is_gone(tmp_path):
    points = drive(time.time(), 15, interval=0.2)
    log = write_log(tmp_path / "drive.nmea", points)
    raw = []
    with gpsfake(log, cycle=0.1) as (port, unplug):
        source = connect(f"gpsd://127.0.0.1:{port}", raw.append)
        fixes = []
        while True:   # the log replayed; gpsd stays, its device deactivated
            fix = source.read(2.0)
            if fix is None:
                break
            fixes.append(fix)
        unplug()
        with pytest.raises(SensorError, match="closed the connection"):
            source.read(5.0)
        source.close()
    assert len(fixes) >= len(points) // 2
    # fixes of the replay in order, each the point of its time, none left out between the
    # first and the last (gpsd may report a cycle twice while it learns the receiver's)
    index = [points.index(min(points, key=lambda p: abs(p.time - fix.time))) for fix in fixes]
    assert index == sorted(index) and sorted(set(index)) == list(range(index[0], index[-1] + 1))
    matched = [points[i] for i in index]
    for fix, point in zip(fixes, matched):
        assert abs(point.time - fix.time) < 0.01 and close_to(fix, point) and fix.mode == 3
    assert any('"class":"TPV"' in line for line in raw)


def connect(url, on_line):
    """gpsd as gpsfake starts it: the port opens a moment after the process starts."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return open_gps_source(url, on_line=on_line)
        except SensorError:
            if time.monotonic() > deadline:
                raise
            threading.Event().wait(0.1)


def test_nmea_on_a_pty_gives_fixes_and_a_closed_line_is_a_sensor_error(tmp_path):
    master, slave = os.openpty()
    points = drive(1714564800.0, 3)
    lines = []
    source = open_gps_source(f"nmea://{os.ttyname(slave)}?baud=9600", on_line=lines.append)
    try:
        for point in points:
            os.write(master, "".join(sentences(point)).encode("ascii"))
        fixes = [source.read(5.0) for _ in points]
        assert [close_to(f, p) for f, p in zip(fixes, points)] == [True] * 3
        assert len(lines) == 6 and lines[0].startswith("$GPRMC")
        os.close(master)
        with pytest.raises(SensorError, match="is gone"):
            source.read(5.0)
    finally:
        source.close()
        os.close(slave)
    with pytest.raises(SensorError, match="cannot open GPS receiver at /dev/nonexistent"):
        open_gps_source("nmea:///dev/nonexistent")


def test_the_worker_says_lost_when_the_line_closes_and_restored_when_it_comes_back(tmp_path):
    """A pty pair is the receiver; closing its far end is the unplug; a new pair the replug."""
    opened, records, seen = [], [], threading.Event()

    def open_pty():
        master, slave = os.openpty()
        source = open_gps_source(f"nmea://{os.ttyname(slave)}")
        os.close(slave)   # the source has its own descriptor
        opened.append(master)
        seen.set()
        return source

    def submit(record):
        records.append(record)
        seen.set()

    def wait_for(pred):
        while not pred():
            assert seen.wait(10), f"nothing came; so far {records}"
            seen.clear()

    state = GpsState("nmea://pty", max_age=3.0)
    worker = GpsWorker("nmea://pty", open_pty, state, submit, lost_after=3.0,
                       reopen_interval=0.05, store_interval=0.0).start()
    try:
        wait_for(lambda: opened)
        now = time.time()
        for point in drive(now, 2):
            os.write(opened[0], "".join(sentences(point)).encode("ascii"))
        wait_for(lambda: len([r for r in records if isinstance(r, FixRecord)]) == 2)
        assert state.latest()[0].speed == pytest.approx(6.0, abs=0.01)
        os.close(opened[0])   # unplugged
        wait_for(lambda: any(getattr(r, "type", None) == ev.GPS_LOST for r in records))
        wait_for(lambda: len(opened) == 2)   # reopened: a new receiver
        os.write(opened[1], "".join(sentences(drive(now + 2, 1)[0])).encode("ascii"))
        wait_for(lambda: any(getattr(r, "type", None) == ev.GPS_RESTORED for r in records))
    finally:
        assert worker.stop(2.0)
        for fd in opened[1:]:
            os.close(fd)
    lost = [r for r in records if getattr(r, "type", None) == ev.GPS_LOST][0]
    assert lost.data["reason"].startswith("device gone") and lost.ts_end is None
    assert worker.summary()["lost"] == 1 and worker.reopened == 1


def test_fixes_are_stored_and_read_back_in_time_order_and_stamp_events(tmp_path):
    db = str(tmp_path / "dashcam.db")
    fixes = [Fix(100.0 + i, 48.0 + i / 1000, 11.0, 500.0, 10.0 + i, 90.0, 3) for i in range(3)]
    now = [0.0]
    state = GpsState("gpsd://", max_age=1.5, wall_clock=lambda: now[0])
    for i, fix in enumerate(fixes):
        now[0] = 2000.0 + i
        state.update(fix)
    with EventStore(db) as store:
        store.register(FixRecord, write_fixes)
        run = store.begin_run(2000.0, "test")
        store.write(run, [FixRecord(2000.0 + i, f) for i, f in enumerate(fixes)]
                    + [ev.run_started(2001.25, {}), ev.run_started(1990.0, {}),
                       ev.run_stopped(2010.0, {})], position=state.at)
    with StoreReader(db) as reader:
        assert reader.fixes() == fixes
        assert reader.fixes(since=2001.0, until=2002.0) == fixes[1:2]
        stamped = [(e["lat"], e["lon"], e["speed_kmh"], e["fix_age_s"]) for e in reader.events()]
    assert stamped == [(None,) * 4, (48.001, 11.0, 39.6, 0.25), (None,) * 4]


def test_the_gpx_parses_back_to_the_fixes_with_speed_and_course(tmp_path):
    gpxpy = pytest.importorskip("gpxpy", reason="gpxpy (test-only, Python 3.7+) is not installed")
    fixes = [Fix(1714564800.0 + i, 48.1 + i / 1e4, 11.5, 520.0, 5.0 + i, 30.0, 3)
             for i in range(4)]
    fixes.append(Fix(1714564900.0, 48.2, 11.6, None, None, None, 2))   # after a gap
    gpx = gpxpy.parse(gpx_text(fixes))
    assert gpx.version == "1.1" and len(gpx.tracks) == 1
    assert [len(s.points) for s in gpx.tracks[0].segments] == [4, 1] == \
        [len(s) for s in segments(fixes)]
    points = [p for s in gpx.tracks[0].segments for p in s.points]
    for point, fix in zip(points, fixes):
        assert (point.latitude, point.longitude) == pytest.approx((fix.lat, fix.lon))
        assert point.time.timestamp() == pytest.approx(fix.time)
        values = {e.tag.split("}")[1]: float(e.text) for x in point.extensions for e in x}
        expected = {"speed": fix.speed, "course": fix.heading}
        assert values == {k: pytest.approx(v) for k, v in expected.items() if v is not None}


def test_the_raw_log_rotates_within_its_bound_and_gives_back_a_range(tmp_path):
    now = [1000.0]
    path = str(tmp_path / "dashcam.gps.log")
    raw = RawLog(path, max_bytes=200, files=2, wall_clock=lambda: now[0])
    for i in range(30):
        now[0] = 1000.0 + i
        raw.write(f"$GPRMC,line {i}")
    raw.close()
    sizes = [os.path.getsize(p) for p in (path, path + ".1", path + ".2")]
    assert not os.path.exists(path + ".3") and all(s <= 200 + 60 for s in sizes)
    kept = [line.split("line ")[1].strip() for line in raw_lines(path)]
    assert kept == [str(i) for i in range(30 - len(kept), 30)]   # the newest, in order
    assert [line.split("line ")[1].strip() for line in raw_lines(path, 1027.0, 1029.0)] == \
        ["27", "28"]
