"""``dashcam events`` against a real store file, results checked through the library."""

import csv
import io
import json

import pytest

from dashcam import events as ev
from dashcam.cli import main
from dashcam.store import EventStore
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
    assert header.split() == ["ts_start", "ts_end", "type", "label", "track", "severity", "data"]
    assert line.startswith(iso_utc(T0 + 30)) and "csi://0" in line
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
