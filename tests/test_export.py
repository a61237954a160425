"""USB export on real SQLite files and real folders, checked with ``sha256sum -c``."""

import json
import os
import sqlite3
import threading

import pytest

from dashcam import events as ev
from dashcam.export import ExportError, write_export
from dashcam.export.files import check_space, filesystem_type, free_bytes, max_file_bytes
from dashcam.records import Detection, FrameRecord
from dashcam.store import EventLoggerWorker, EventStore, StoreReader
from exports import (T0, add_recordings, killed_export, make_store, sha256sum_check,
                     standin_write_clip)
from volumes import small_volume

TABLES = ("runs", "detections", "tracks", "events", "alerts", "stats")


def rows(db_path, table):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "data" / "dashcam.db")
    ids = make_store(path)
    return path, ids


def test_snapshot_rows_equal_the_live_rows_and_the_manifest_verifies(tmp_path, store):
    db_path, _ = store
    stick = tmp_path / "stick"
    stick.mkdir()
    result = write_export(str(stick), db_path, host="van 7", now=T0 + 3600)
    assert result.folder == str(stick / "dashcam-van-7" / "2023-11-14T23-13-20Z")
    snapshot = os.path.join(result.folder, "dashcam.db")
    for table in TABLES:
        assert rows(snapshot, table) == rows(db_path, table), table
    with StoreReader(snapshot) as reader:
        assert reader.integrity_check() == "ok"
        assert reader.conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(os.listdir(result.folder)) == [
        "MANIFEST.sha256", "SUMMARY.txt", "alerts.csv", "alerts.jsonl", "dashcam.db",
        "events.csv", "events.jsonl"]
    status, out = sha256sum_check(result.folder)
    assert status == 0 and out.count(": OK") == 6, out
    with open(os.path.join(result.folder, "events.jsonl")) as handle:
        events = [json.loads(line) for line in handle]
    assert len(events) == 60 and events[7]["data"] == {"second": 7}
    with open(os.path.join(result.folder, "alerts.csv")) as handle:
        columns = [c[1] for c in sqlite3.connect(db_path).execute("PRAGMA table_info(alerts)")]
        assert handle.readline().strip().split(",") == columns   # every column, in order
        assert columns[:6] == ["id", "event_id", "ts", "sink", "message", "delivered"]
        assert len(handle.readlines()) == 3
    summary = result.summary
    assert "Events: 60 (object_appeared 60)" in summary and "Alert deliveries: 3 (" in summary
    assert "detections 600" in summary
    # nothing is left that looks like work in progress
    assert sorted(os.listdir(str(stick / "dashcam-van-7"))) == [".lock", "2023-11-14T23-13-20Z"]


def test_since_and_until_keep_that_range(tmp_path, store):
    db_path, _ = store
    result = write_export(str(tmp_path), db_path, since=T0 + 10, until=T0 + 20, host="box")
    snapshot = os.path.join(result.folder, "dashcam.db")
    assert len(rows(snapshot, "events")) == 10
    assert len(rows(snapshot, "detections")) == 10 * 5 * 2
    assert len(rows(snapshot, "runs")) == 1 and "Window: events from 2023-11-14T22:13:30.000Z" \
        " to 2023-11-14T22:13:40.000Z" in result.summary


def batch(k):
    """One record whose event (data k) and five detections (frame k) land in one transaction."""
    return FrameRecord(k, float(k), T0 + k * 0.001,
                       [Detection(0, "car", 0.9, 1.0, 2.0, 3.0, 4.0)] * 5, [1] * 5, 0.0,
                       [ev.Event(ev.CAMERA_LOST, T0 + k * 0.001, None, None, None, ev.WARNING,
                                 {"k": k})], [])


def test_an_export_while_the_writer_commits_at_full_rate_is_consistent(tmp_path):
    db_path = str(tmp_path / "dashcam.db")
    store = EventStore(db_path)
    run = store.begin_run(T0, "0.1.0")
    # 200,000 detection rows first, so that commits land while the copy is under way
    store.write(run, [batch(k) for k in range(40000)])
    logger = EventLoggerWorker(store, run_id=run, queue_size=4096).start()
    stop, started = threading.Event(), threading.Event()

    def feed():
        # One commit after another, as fast as the writer makes them: 50 records, then
        # wait for their commit (spinning on a full queue would only starve the writer).
        k = 40000
        while not stop.is_set():
            commits = logger.commits
            for _ in range(50):
                logger.submit(batch(k))
                k += 1
            while logger.commits == commits and not stop.wait(0.001):
                pass
            if logger.commits >= 20:
                started.set()

    feeder = threading.Thread(target=feed, name="test-feeder")
    feeder.start()
    try:
        assert started.wait(60)
        before = logger.commits
        result = write_export(str(tmp_path), db_path, host="box")
        during = logger.commits - before
    finally:
        stop.set()
        feeder.join(10)
        assert logger.stop(10)
        store.close()
    assert during > 0   # the writer kept committing while the snapshot was taken
    snapshot = os.path.join(result.folder, "dashcam.db")
    events = [json.loads(r[0])["k"] for r in sqlite3.connect(snapshot).execute(
        "SELECT data FROM events ORDER BY id")]
    frames = dict(sqlite3.connect(snapshot).execute(
        "SELECT frame_index, count(*) FROM detections GROUP BY frame_index").fetchall())
    # whole transactions only: every event has its five detections, nothing more or less
    assert events == list(range(len(events))) and len(events) > 0
    assert frames == {k: 5 for k in events}
    live = len(rows(db_path, "events"))
    assert live > len(events)
    assert sha256sum_check(result.folder)[0] == 0


@pytest.fixture
def recorded(tmp_path, store):
    """The store with the recording feature's tables, snapshots and clips for five events."""
    db_path, ids = store
    recordings = str(tmp_path / "data" / "recordings")
    add_recordings(db_path, recordings, ids[:5])
    return db_path, recordings, ids[:5]


def test_clips_and_snapshots_are_exported_and_a_second_export_skips_them(tmp_path, recorded):
    db_path, recordings, ids = recorded
    stick = str(tmp_path / "stick")
    os.mkdir(stick)
    first = write_export(stick, db_path, recordings, with_clips=True,
                         write_clip=standin_write_clip, host="box", now=T0)
    root = os.path.join(stick, "dashcam-box")
    assert (first.clips, first.snapshots, first.skipped) == (5, 5, 0)
    clip = os.path.join(root, "clips", f"event-{ids[0]:06d}.mp4")
    with open(clip, "rb") as handle, \
            open(os.path.join(recordings, "segments", f"{ids[0]}-0.ts"), "rb") as seg:
        assert handle.read(20000) == seg.read()   # the protected segments, joined
    assert os.path.getsize(clip) == 40000         # the unprotected one is not in the clip
    assert sha256sum_check(first.folder)[0] == 0
    with open(os.path.join(first.folder, "events.jsonl")) as handle:
        event = json.loads(handle.readline())
    assert event["clip_file"] == f"../clips/event-{ids[0]:06d}.mp4"
    assert event["snapshot_file"] == f"../snapshots/event-{ids[0]:06d}.jpg"
    stamps = {name: os.stat(os.path.join(root, "clips", name)).st_mtime_ns
                  for name in os.listdir(os.path.join(root, "clips"))}

    second = write_export(stick, db_path, recordings, with_clips=True,
                          write_clip=standin_write_clip, host="box", now=T0 + 60)
    assert second.skipped == 10 and second.folder != first.folder
    assert stamps == {name: os.stat(os.path.join(root, "clips", name)).st_mtime_ns
                          for name in os.listdir(os.path.join(root, "clips"))}
    status, out = sha256sum_check(second.folder)
    assert status == 0 and f"../clips/event-{ids[0]:06d}.mp4: OK" in out

    # a source that changed (a clip that grew) is exported again, alone
    with open(os.path.join(recordings, "segments", f"{ids[2]}-1.ts"), "ab") as handle:
        handle.write(b"more")
    third = write_export(stick, db_path, recordings, with_clips=True,
                         write_clip=standin_write_clip, host="box", now=T0 + 120)
    assert third.skipped == 9
    assert os.path.getsize(os.path.join(root, "clips", f"event-{ids[2]:06d}.mp4")) == 40004
    assert sha256sum_check(third.folder)[0] == 0


def test_a_clip_past_the_file_limit_goes_as_segments_and_the_snapshot_in_parts(tmp_path, recorded):
    db_path, recordings, ids = recorded
    limit = 30000   # FAT32's 4 GiB, scaled down: each clip (40000 bytes) is over it
    stick = tmp_path / "stick"
    stick.mkdir()
    result = write_export(str(stick), db_path, recordings, with_clips=True,
                          write_clip=standin_write_clip, host="box", limit=limit)
    root = os.path.dirname(result.folder)
    segments = os.path.join(root, "clips", f"event-{ids[0]:06d}")
    assert sorted(os.listdir(segments)) == [f"{ids[0]}-0.ts", f"{ids[0]}-1.ts"]
    parts = sorted(n for n in os.listdir(result.folder) if n.startswith("dashcam.db"))
    assert len(parts) > 1 and parts[0] == "dashcam.db.000"
    assert all(os.path.getsize(os.path.join(result.folder, p)) <= limit for p in parts)
    joined = str(tmp_path / "joined.db")
    with open(joined, "wb") as out:
        for part in parts:
            with open(os.path.join(result.folder, part), "rb") as handle:
                out.write(handle.read())
    assert rows(joined, "detections") == rows(db_path, "detections")
    assert "cat dashcam.db.0* > dashcam.db" in result.summary
    assert sha256sum_check(result.folder)[0] == 0
    # the snapshot made beside the store is gone
    assert sorted(os.listdir(os.path.dirname(db_path))) == ["dashcam.db", "dashcam.db.lock",
                                                            "dashcam.db.reserve", "dashcam.db.reserve-end",
                                                            "recordings"]


def test_a_real_recorded_clip_is_exported_as_a_playable_mp4(tmp_path):
    """Recording's own segments and ``write_clip`` (not the stand-in): the clip in the
    export decodes with PyAV and the manifest verifies."""
    pytest.importorskip("av", reason="PyAV writes and joins the segments (no wheel for 3.6)")
    from dashcam.recording.index import ClipRequest
    from recorded import decode
    from test_recording_clips import recorded_store

    store, run, event_id, closed = recorded_store(tmp_path, seconds=6)
    with store:
        store.write(run, closed + [ClipRequest(event_id, T0 + 1, T0 + 4)])
    stick = tmp_path / "stick"
    stick.mkdir()
    result = write_export(str(stick), str(tmp_path / "dashcam.db"), str(tmp_path / "rec"),
                          with_clips=True, host="box")
    assert result.clips == 1 and not result.notes
    clip_dir = stick / "dashcam-box" / "clips"
    [clip] = os.listdir(str(clip_dir))
    frames, span = decode(str(clip_dir / clip))
    assert frames == 90 and abs(span - (3.0 - 1 / 30.0)) < 1e-3
    assert sha256sum_check(result.folder)[0] == 0


def test_an_export_killed_mid_copy_leaves_nothing_that_looks_complete(tmp_path, recorded):
    db_path, recordings, ids = recorded
    with open(os.path.join(recordings, "snapshots", f"{ids[0]}.jpg"), "wb") as handle:
        handle.write(os.urandom(3 * 1024 * 1024))   # three chunks: killed after the first
    stick = str(tmp_path / "stick")
    os.mkdir(stick)
    process = killed_export(stick, db_path, recordings, calls=2)   # one chunk into the first file
    assert process.returncode == -9, process.stderr
    root = os.path.join(stick, "dashcam-box")
    left = sorted(os.listdir(root))
    assert [n for n in left if not n.startswith(".")] == ["snapshots"]
    assert [n for n in left if n.endswith(".partial")] != []
    assert os.listdir(os.path.join(root, "snapshots")) == [f".event-{ids[0]:06d}.partial.jpg"]
    for folder, _, names in os.walk(root):
        assert "MANIFEST.sha256" not in names or ".partial" in folder

    again = write_export(stick, db_path, recordings, with_clips=True,
                         write_clip=standin_write_clip, host="box")
    assert sha256sum_check(again.folder)[0] == 0
    assert not [n for n in os.listdir(root) if n.endswith(".partial")]
    assert f".event-{ids[0]:06d}.partial.jpg" not in os.listdir(os.path.join(root, "snapshots"))


def test_space_short_is_refused_with_the_figures(tmp_path):
    free = free_bytes(str(tmp_path))
    with pytest.raises(ExportError) as error:
        check_space(str(tmp_path), free + 2 ** 30, "clips and snapshots")
    assert str(error.value).startswith("not enough space on {} for clips and snapshots: "
                                       .format(tmp_path))
    assert "free; use a bigger stick, free some space, or export less" in str(error.value)


def test_a_full_stick_is_refused_and_left_as_it_was(tmp_path, store):
    db_path, _ = store
    with small_volume(tmp_path / "small", "8m") as stick:
        with pytest.raises(ExportError) as error:
            write_export(stick, db_path, host="box")
        assert "not enough space on" in str(error.value)
        assert [n for n in os.listdir(os.path.join(stick, "dashcam-box"))
                if not n.startswith(".")] == []


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw
41 27 8:17 / /media/nvidia/MY\\040STICK rw,nosuid,nodev - vfat /dev/sdb1 rw,fmask=0022
42 27 8:33 / /media/nvidia/big rw,nosuid,nodev - exfat /dev/sdc1 rw
"""


def test_fat32s_file_limit_is_found_from_the_mount_table():
    assert filesystem_type("/media/nvidia/MY STICK/a/b", MOUNTINFO) == "vfat"
    assert filesystem_type("/media/nvidia/big", MOUNTINFO) == "exfat"
    assert filesystem_type("/media/nvidia/MY STICKER", MOUNTINFO) == "ext4"
    assert max_file_bytes("/media/nvidia/MY STICK", MOUNTINFO) == 4 * 1024 ** 3 - 1
    assert max_file_bytes("/media/nvidia/big", MOUNTINFO) is None


def test_a_stick_that_cannot_be_written_is_one_line(tmp_path, store):
    db_path, _ = store
    with small_volume(tmp_path / "locked", "1m,ro") as stick:
        with pytest.raises(ExportError) as error:
            write_export(stick, db_path, host="box")
        assert str(error.value) == ("writing to {} failed (Read-only file system): nothing was "
                                    "exported; was the stick pulled out?".format(stick))


def test_an_until_before_since_is_a_one_line_error_and_nothing_is_written(tmp_path, store,
                                                                          capsys):
    from dashcam.cli import main

    db_path, _ = store
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick), "--db", db_path, "--since", "2023-11-14T22:13:40Z",
                 "--until", "2023-11-14T22:13:30Z"]) == 2
    assert capsys.readouterr().err == (
        "dashcam export: error: --until 2023-11-14T22:13:30.000Z is not after --since "
        "2023-11-14T22:13:40.000Z: the window is empty; give an --until after --since\n")
    assert os.listdir(str(stick)) == []


def test_a_window_with_nothing_in_it_is_a_one_line_error_naming_what_the_store_holds(
        tmp_path, store, capsys):
    from dashcam.cli import main

    db_path, _ = store
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick), "--db", db_path, "--since", "2023-11-15"]) == 2
    assert capsys.readouterr().err == (
        "dashcam export: error: no events, alerts or video from 2023-11-15T00:00:00.000Z to now "
        "in {}: it holds events from 2023-11-14T22:13:20.000Z to 2023-11-14T22:14:19.000Z; "
        "widen --since/--until\n".format(db_path))
    assert os.listdir(str(stick)) == []


def test_a_window_with_only_video_in_it_is_exported(tmp_path, store):
    db_path, ids = store
    add_recordings(db_path, str(tmp_path / "data" / "recordings"), ids[:1])
    with StoreReader(db_path) as reader:
        # segments 22:13:00..22:13:03, before the first event (22:13:20)
        assert reader.in_range(T0 - 19.5, T0 - 19) == {"events": 0, "alerts": 0, "segments": 1}
    assert write_export(str(tmp_path), db_path, since=T0 - 19.5, until=T0 - 19, host="box")
    with pytest.raises(ExportError, match="no events, alerts or video"):
        write_export(str(tmp_path), db_path, since=T0 - 16, until=T0 - 1, host="box")
