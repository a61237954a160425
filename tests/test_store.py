"""The SQLite store on real files: schema, batches, closing events, migrations."""

import json
import sqlite3

import pytest
import sqlite_utils

from dashcam import events as ev
from dashcam.records import Detection, FrameRecord, StatsRecord
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


def car(x1):
    return Detection(0, "car", 0.9, x1, 2.0, 3.0, 4.0)


def test_a_batch_is_written_and_read_back(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0", config="[model]", model="m.onnx",
                              backend="onnxruntime", precision="fp32", source="synthetic://")
        appeared = ev.Event(ev.OBJECT_APPEARED, T0 + 1, None, "car", 7, ev.INFO, {"c": 1})
        track = {"track_id": 7, "label": "car", "first_seen": T0 + 1, "last_seen": T0 + 1,
                 "frames": 3, "best_confidence": 0.9, "best_box": (1, 2, 3, 4),
                 "history": [(T0 + 1, 1.0, 2.0, 3.0, 4.0)]}
        frame = FrameRecord(3, 1.0, T0 + 1, [car(1.0), Detection(2, "person", 0.4, 5, 6, 7, 8)],
                            [7, None], 0.01, [appeared], [track])
        written = store.write(run, [frame, StatsRecord(t_utc=T0 + 2, frames_in=30, fps_in=30.0)])
        assert [w[1] for w in written.events] == [appeared]
        assert dict(written.rows) == {"detections": 2, "events": 1, "tracks": 1, "stats": 1}
        store.write(run, [ev.Event(ev.OBJECT_LEFT, T0 + 4, T0 + 4, "car", 7, ev.INFO, {})])
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
        row = next(reader.db.query("SELECT * FROM tracks"))
        assert row["first_seen"] == "2023-11-14T22:13:21.000Z" and row["frames"] == 3
        assert json.loads(row["history"]) == [[0.0, 1.0, 2.0, 3.0, 4.0]]
        assert next(reader.db.query("SELECT frames_in FROM stats"))["frames_in"] == 30
        assert reader.labels() == ["car"]


def test_a_failing_batch_leaves_nothing_behind(tmp_path):
    path = str(tmp_path / "dashcam.db")
    frame = FrameRecord(1, 0.0, T0, [car(1.0)], [1], 0.01, [], [])
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        with pytest.raises(sqlite3.IntegrityError):  # ts_start NOT NULL
            store.write(run, [frame, ev.Event(ev.RUN_STARTED, None, None, None, None, ev.INFO, {})])
        assert store.conn.execute("SELECT count(*) FROM detections").fetchone()[0] == 0
        store.write(run, [frame])
        assert store.conn.execute("SELECT count(*) FROM detections").fetchone()[0] == 1


class Segment(tuple):
    """A record type of another stage (recording's segments will be one)."""


def test_another_stage_registers_its_records_and_writes_in_the_same_transaction(tmp_path):
    def write_segments(batch, run_id, segments):
        batch.conn.executemany("INSERT INTO extra (run_id, name) VALUES (?, ?)",
                               [(run_id, name) for name, in segments])
        batch.rows["extra"] += len(segments)

    with EventStore(str(tmp_path / "dashcam.db")) as store:
        store.conn.execute("CREATE TABLE extra (run_id INTEGER, name TEXT NOT NULL)")
        run = store.begin_run(T0, "0.1.0")
        with pytest.raises(TypeError, match="no writer"):
            store.write(run, [Segment(("a",))])
        store.register(Segment, write_segments)
        lost = ev.camera_lost(T0, "csi://0", "gone")
        written = store.write(run, [Segment(("a",)), lost, Segment(("b",)), Segment(("c",))])
        assert written.rows["extra"] == 3 and [e for _, e in written.events] == [lost]
        with pytest.raises(sqlite3.IntegrityError):  # one bad record: none of the batch lands
            store.write(run, [lost, Segment((None,))])
        assert store.conn.execute("SELECT group_concat(name) FROM extra").fetchone()[0] == "a,b,c"
        assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_detections_sampled_or_none_keep_events_and_tracks(tmp_path):
    times = [0.0, 0.3, 0.6, 1.0, 1.2, 2.1]
    for mode, kept in (("sampled", [0, 3, 5]), ("none", [])):
        path = str(tmp_path / (mode + ".db"))
        with EventStore(path, detections=mode, sample_interval=1.0) as store:
            run = store.begin_run(T0, "0.1.0")
            appeared = ev.Event(ev.OBJECT_APPEARED, T0, None, "car", 1, ev.INFO, {})
            store.write(run, [FrameRecord(i, t, T0 + t, [car(1.0)], [1], 0.0,
                                          [appeared] if i == 0 else [], []) for i, t in enumerate(times)])
            frames = [r[0] for r in store.conn.execute(
                "SELECT frame_index FROM detections ORDER BY frame_index")]
            assert frames == kept
            assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_a_second_writer_on_the_same_file_is_refused(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path):
        with pytest.raises(StoreError, match="in use by another dashcam process"):
            EventStore(path)
        with StoreReader(path) as reader:   # readers are welcome
            assert reader.runs() == []
    EventStore(path).close()   # the lock went with the first writer


def test_a_run_cut_off_is_closed_at_its_last_row_at_the_next_start(tmp_path):
    path = str(tmp_path / "dashcam.db")
    store = EventStore(path)
    run = store.begin_run(T0, "0.1.0")
    store.write(run, [ev.run_started(T0, {}), FrameRecord(0, 0.0, T0 + 2.5, [car(1.0)], [1], 0.0,
                                                          [], []),
                      StatsRecord(t_utc=T0 + 1, frames_in=3)])
    store.conn.close()   # no end_run: as after a kill -9 or a power cut
    store._lock.close()
    with EventStore(path) as store:   # the next run's row closes it first
        assert store.begin_run(T0 + 60, "0.1.0") == run + 1
    with StoreReader(path) as reader:
        row, following = reader.runs()
        assert following["ended_at"] is None
        assert row["ended_at"] == "2023-11-14T22:13:22.500Z"   # the detection, its last row
        assert json.loads(row["summary"])["crashed"] is True
        last = reader.events()[-1]
        assert (last["type"], last["ts_start"], last["data"]["run_id"]) == (
            "run_interrupted", "2023-11-14T22:13:22.500Z", run)


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    conn.execute("INSERT INTO runs (started_at, version) VALUES ('2023-11-14T22:13:20.000Z', '0.0.9')")
    conn.execute("INSERT INTO events (run_id, ts_start, type, severity) VALUES "
                 "(1, '2023-11-14T22:13:20.000Z', 'run_started', 'info')")
    conn.close()
    with EventStore(path) as store:
        assert store.schema_version == LATEST_VERSION
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
        store.write(run, [
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
