"""``dashcam events`` against a real store file, results checked through the library."""

import csv
import io
import json

import pytest

from dashcam import events as ev
from dashcam.alerts.records import Alert, AlertRecord, Delivery, write_alerts
from dashcam.cli import main
from dashcam.recording.index import ClipRequest, RecordingIndex, SnapshotTaken
from dashcam.recording.segments import SegmentClosed
from dashcam.store import EventStore
from dashcam.store.schema import connect, migrate
from dashcam.timestamps import iso_utc

T0 = 1700000000.0


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        store.write(run, [
            ev.run_started(T0, {"run_id": run}),
            ev.Event(ev.OBJECT_APPEARED, T0 + 10, None, "car", 1, ev.INFO, {"confidence": 0.9}),
            ev.Event(ev.OBJECT_APPEARED, T0 + 20, None, "person", 2, ev.INFO, {"confidence": 0.7}),
            ev.camera_lost(T0 + 30, "csi://0", "no frame"),
        ])
        store.write(run, [
            ev.Event(ev.OBJECT_LEFT, T0 + 40, T0 + 40, "person", 2, ev.INFO, {"frames": 9})])
    return path


def run_events(capsys, *argv):
    status = main(["events"] + list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_filters_by_type_and_label_as_json(db, capsys):
    status, out, _ = run_events(capsys, "--db", db, "--type", "object_appeared", "--label",
                                "person", "--json")
    assert status == 0
    rows = json.loads(out)
    assert [(r["type"], r["label"], r["track_id"]) for r in rows] == [
        ("object_appeared", "person", 2)]
    assert rows[0]["ts_end"] == iso_utc(T0 + 40)   # closed by object_left
    assert rows[0]["data"] == {"confidence": 0.7}


def test_filters_by_time_and_repeated_or_comma_separated_values(db, capsys):
    _, out, _ = run_events(capsys, "--db", db, "--since", iso_utc(T0 + 15), "--until",
                           iso_utc(T0 + 35), "--json")
    assert [r["type"] for r in json.loads(out)] == ["object_appeared", "camera_lost"]
    # object_left is stamped when the person left (T0 + 40), not when it appeared
    _, out, _ = run_events(capsys, "--db", db, "--since", iso_utc(T0 + 35), "--json")
    assert [(r["type"], r["ts_start"]) for r in json.loads(out)] == [("object_left", iso_utc(T0 + 40))]
    _, out, _ = run_events(capsys, "--db", db, "--type", "run_started,camera_lost",
                           "--type", "object_left", "--json")
    assert [r["type"] for r in json.loads(out)] == ["run_started", "camera_lost", "object_left"]


def test_csv_has_a_header_and_json_data(db, capsys):
    _, out, _ = run_events(capsys, "--db", db, "--label", "car", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and rows[0]["label"] == "car" and rows[0]["ts_end"] == ""
    assert json.loads(rows[0]["data"]) == {"confidence": 0.9}


def test_table_output_and_no_match(db, capsys):
    _, out, _ = run_events(capsys, "--db", db, "--type", "camera_lost")
    header, line = out.splitlines()
    assert header.split() == ["id", "ts_start", "ts_end", "type", "label", "track", "severity",
                              "data"]
    assert line.split()[:2] == ["4", iso_utc(T0 + 30)] and "csi://0" in line
    status, out, err = run_events(capsys, "--db", db, "--label", "bicycle")
    assert status == 0 and out == "" and "no events match" in err


def test_missing_store_and_bad_time_fail_with_the_fix(tmp_path, capsys):
    status, _, err = run_events(capsys, "--db", str(tmp_path / "none.db"))
    assert status == 2 and "no store at" in err and "dashcam run" in err
    status, _, err = run_events(capsys, "--db", str(tmp_path / "none.db"), "--since", "soon")
    assert status == 2 and "ISO-8601" in err


@pytest.mark.parametrize("flag, value, listed", [
    ("--type", "bogus", "object_appeared, object_left"),
    ("--label", "truck", "bicycle, car, person, road_sign"),
])
def test_an_unknown_type_or_label_is_an_error_listing_the_known_ones(db, capsys, flag, value,
                                                                   listed):
    status, out, err = run_events(capsys, "--db", db, flag, "car," + value if flag == "--label"
                                  else "camera_lost," + value)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and repr(value) in err and listed in err


@pytest.mark.parametrize("since", ["2026-13-01", "garbage", "2026-02-30T10:00"])
def test_an_impossible_date_gets_the_same_one_line_error(db, capsys, since):
    status, _, err = run_events(capsys, "--db", db, "--since", since)
    assert status == 2 and err.count("\n") == 1 and "ISO-8601" in err and repr(since) in err


@pytest.fixture
def recorded(tmp_path):
    """A store with recording: an object event with a snapshot and a two-segment clip,
    an alert with a one-segment clip, and a run_started with neither. (path, ids)."""
    path = str(tmp_path / "recorded.db")
    with EventStore(path) as store:
        RecordingIndex().register(store)
        store.register(AlertRecord, write_alerts)
        run = store.begin_run(T0, "0.1.0")
        started, appeared = [e[0] for e in store.write(run, [
            ev.run_started(T0, {"run_id": run}),
            ev.Event(ev.OBJECT_APPEARED, T0 + 5, None, "car", 1, ev.INFO, {})]).events]
        alert = Alert(1, "person-ahead", "warning", 2, "person", 0.8, (1, 2, 3, 4), None, 70,
                      7.0, T0 + 7, 0.01, 7.02)
        [(alerted, _)] = store.write(run, [AlertRecord(alert, [
            Delivery("log", "delivered", 7.0, T0 + 7, "alert", None)])]).events
        store.write(run, [SegmentClosed("run-1/{}.ts".format(i), run, T0 + 2 * i, T0 + 2 * i + 2,
                                        60, 1000, 64, 48, "x264", False) for i in range(5)])
        store.write(run, [ClipRequest(appeared, T0 + 3, T0 + 6), ClipRequest(alerted, T0 + 6.5,
                                                                             T0 + 7.5),
                          SnapshotTaken(appeared, "snapshots/event-2.jpg")])
    return path, (started, appeared, alerted)


def test_json_gives_each_events_snapshot_and_the_clip_that_dashcam_clip_writes(recorded, capsys):
    path, (started, appeared, alerted) = recorded
    _, out, _ = run_events(capsys, "--db", path, "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[started]["snapshot"] is None and rows[started]["clip"] is None
    assert rows[appeared]["snapshot"] == "snapshots/event-2.jpg"
    assert rows[appeared]["clip"] == {"event_id": appeared, "segments": 2,
                                      "window_start": iso_utc(T0 + 3),
                                      "window_end": iso_utc(T0 + 6)}
    assert rows[alerted]["clip"]["segments"] == 1 and rows[alerted]["snapshot"] is None
    assert main(["alerts", "--db", path, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == alerted and row["snapshot"] is None
    assert row["clip"] == rows[alerted]["clip"]


def test_text_tables_start_with_the_id_that_dashcam_clip_takes(recorded, capsys):
    path, (started, appeared, alerted) = recorded
    _, out, _ = run_events(capsys, "--db", path)
    assert [line.split()[0] for line in out.splitlines()] == ["id", str(started), str(appeared),
                                                              str(alerted)]
    assert main(["alerts", "--db", path]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["id", "ts", "rule"]
    assert line.split()[:3] == [str(alerted), iso_utc(T0 + 7), "person-ahead"]


def test_a_store_without_recording_tables_has_no_snapshot_or_clip(tmp_path, capsys):
    path = str(tmp_path / "old.db")
    conn = connect(path)
    migrate(conn, target=4)   # before recording: no segments, clips, events.snapshot
    conn.execute("INSERT INTO events (ts_start, type, severity) VALUES (?, 'camera_lost', "
                 "'warning')", (iso_utc(T0),))
    conn.close()
    _, out, _ = run_events(capsys, "--db", path, "--json")
    [row] = json.loads(out)
    assert (row["id"], row["snapshot"], row["clip"]) == (1, None, None)
    assert main(["alerts", "--db", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_an_unknown_rule_is_an_error_listing_the_stores_and_the_configured_rules(recorded,
                                                                                 capsys):
    path, _ = recorded
    status = main(["alerts", "--db", path, "--rule", "person-ahead", "--rule", "forward-colision"])
    _, err = capsys.readouterr()
    assert status == 2 and err == (
        "dashcam alerts: error: unknown rule 'forward-colision': known rules are "
        "forward-collision, person-ahead, road-sign\n")
    # the store's own rules count, even one no configuration has any more
    with EventStore(path) as store:
        store.register(AlertRecord, write_alerts)
        store.write(1, [AlertRecord(Alert(2, "old-rule", "info", 3, "car", 0.9, (1, 2, 3, 4),
                                          None, 80, 8.0, T0 + 8, 0.01, 8.02), [])])
    status = main(["alerts", "--db", path, "--rule", "nope"])
    assert status == 2 and "known rules are forward-collision, old-rule, person-ahead" in \
        capsys.readouterr().err
    assert main(["alerts", "--db", path, "--rule", "old-rule", "--json"]) == 0
    assert [r["rule"] for r in json.loads(capsys.readouterr().out)] == ["old-rule"]
