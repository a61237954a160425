"""The SQLite store on real files: schema, batches, closing events, migrations."""

import json
import sqlite3

import pytest
import sqlite_utils

from dashcam import events as ev
from dashcam.store import (LATEST_VERSION, EventStore, StoreError, StoreReader, migrate,
                           schema_version)

T0 = 1700000000.0


def test_new_store_is_wal_at_latest_version_with_all_tables(tmp_path):
    path = str(tmp_path / "sub" / "dashcam.db")
    with EventStore(path) as store:
        assert store.schema_version == LATEST_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.integrity_check() == "ok"
    db = sqlite_utils.Database(path)
    assert {"runs", "detections", "tracks", "events", "alerts", "stats"} <= set(db.table_names())
    assert any(i.columns == ["ts_start"] for i in db["events"].indexes)
    assert any(i.columns == ["ts"] for i in db["detections"].indexes)


def test_a_batch_is_written_and_read_back(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0", config="[model]", model="m.onnx",
                              backend="onnxruntime", precision="fp32", source="synthetic://")
        appeared = ev.Event(ev.OBJECT_APPEARED, T0 + 1, None, "car", 7, ev.INFO, {"c": 1})
        written = store.write(run, detections=[
            (3, "2023-11-14T22:13:21.000Z", 7, "car", 0.9, 1.0, 2.0, 3.0, 4.0),
            (3, "2023-11-14T22:13:21.000Z", None, "person", 0.4, 5.0, 6.0, 7.0, 8.0)],
            events=[appeared],
            tracks=[{"track_id": 7, "label": "car", "first_seen": T0 + 1, "last_seen": T0 + 1,
                     "frames": 3, "best_confidence": 0.9, "best_box": (1, 2, 3, 4),
                     "history": [(T0 + 1, 1.0, 2.0, 3.0, 4.0)]}],
            stats=[{"t_utc": T0 + 2, "frames_in": 30, "fps_in": 30.0}],
            alerts=[])
        assert [w[1] for w in written] == [appeared]
        store.write(run, events=[ev.Event(ev.OBJECT_LEFT, T0 + 1, T0 + 4, "car", 7, ev.INFO, {})],
                    alerts=[(written[0][0], T0 + 1.5, "log", "car ahead", True)])
        store.end_run(run, T0 + 5, {"frames": 30})
    with StoreReader(path) as reader:
        events = reader.events()
        assert [e["type"] for e in events] == ["object_appeared", "object_left"]
        # object_left closed the open object_appeared
        assert events[0]["ts_end"] == "2023-11-14T22:13:24.000Z"
        assert events[0]["data"] == {"c": 1}
        assert reader.count("detections") == 2
        run_row = reader.runs()[0]
        assert run_row["ended_at"] == "2023-11-14T22:13:25.000Z"
        assert run_row["source"] == "synthetic://"
        track = next(reader.db.query("SELECT * FROM tracks"))
        assert track["first_seen"] == "2023-11-14T22:13:21.000Z" and track["frames"] == 3
        assert json.loads(track["history"]) == [[0.0, 1.0, 2.0, 3.0, 4.0]]
        alert = next(reader.db.query("SELECT * FROM alerts"))
        assert alert["event_id"] == events[0]["id"] and alert["delivered"] == 1
        assert next(reader.db.query("SELECT frames_in FROM stats"))["frames_in"] == 30


def test_a_failing_batch_leaves_nothing_behind(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        with pytest.raises(sqlite3.IntegrityError):
            store.write(run, detections=[(1, "2023-11-14T22:13:21.000Z", 1, "car", 0.9, 1, 2, 3, 4)],
                        events=[ev.Event(ev.RUN_STARTED, None, None, None, None, ev.INFO, {})])
        assert store.conn.execute("SELECT count(*) FROM detections").fetchone()[0] == 0
        store.write(run, detections=[(2, "2023-11-14T22:13:21.000Z", 1, "car", 0.9, 1, 2, 3, 4)])
        assert store.conn.execute("SELECT count(*) FROM detections").fetchone()[0] == 1


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    conn.execute("INSERT INTO runs (started_at, version) VALUES ('2023-11-14T22:13:20.000Z', '0.0.9')")
    conn.execute("INSERT INTO events (run_id, ts_start, type, severity) VALUES "
                 "(1, '2023-11-14T22:13:20.000Z', 'run_started', 'info')")
    conn.close()
    with EventStore(path) as store:
        assert store.schema_version == LATEST_VERSION == 2
        assert {"source", "summary"} <= set(store.db["runs"].columns_dict)
        assert store.integrity_check() == "ok"
    with StoreReader(path) as reader:
        assert reader.runs()[0]["version"] == "0.0.9"
        assert [e["type"] for e in reader.events()] == ["run_started"]


def test_newer_or_foreign_files_are_refused_with_the_fix(tmp_path):
    newer = str(tmp_path / "newer.db")
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="upgrade dashcam"):
        EventStore(newer)
    foreign = str(tmp_path / "foreign.db")
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a dashcam store"):
        EventStore(foreign)
    with pytest.raises(StoreError, match="not a dashcam store"):
        StoreReader(foreign)
    with pytest.raises(StoreError, match="no store at"):
        StoreReader(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()
    assert schema_version(sqlite3.connect(foreign)) == 0


def test_reader_filters_by_time_type_and_label(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        store.write(run, events=[
            ev.Event(ev.OBJECT_APPEARED, T0 + 10, None, "car", 1, ev.INFO, {}),
            ev.Event(ev.OBJECT_APPEARED, T0 + 20, None, "person", 2, ev.INFO, {}),
            ev.camera_lost(T0 + 30, "csi://0", "gone"),
        ])
    with StoreReader(path) as reader:
        assert [e["track_id"] for e in reader.events(since=T0 + 15)] == [2, None]
        assert [e["track_id"] for e in reader.events(until=T0 + 20)] == [1]
        assert [e["label"] for e in reader.events(labels=["person", "car"])] == ["car", "person"]
        assert [e["type"] for e in reader.events(types=["camera_lost"])] == ["camera_lost"]
        assert reader.events(types=["object_appeared"], labels=["person"], since=T0 + 21) == []
