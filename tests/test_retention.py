"""Retention on a real small file system (tmpfs): the quota holds, clips are kept to the last,
a held segment survives; the event logger rides out a full database volume."""

import logging
import os
import threading
import time

import numpy as np
import pytest

from dashcam import events as ev
from dashcam.board import Board
from dashcam.config import load_config
from dashcam.fanout import FanOut
from dashcam.paths import DataPaths
from dashcam.recording.index import ClipRequest, RecordingIndex
from dashcam.recording.join import hold
from dashcam.errors import ConfigError
from dashcam.recording.retention import RetentionWorker, folder_bytes, parse_size
from dashcam.recording.segments import SegmentClosed
from dashcam.records import Detection, Frame, FrameRecord
from dashcam.store import EventLoggerWorker, EventStore, StoreReader
from recorded import T0, frames, wait_for
from volumes import fill, small_volume

av = pytest.importorskip("av", reason="PyAV writes the segments (no wheel for 3.6)")

from dashcam.recording.software import SoftwareEncoder  # noqa: E402


def recorded(folder, store, seconds, run):
    encoder = SoftwareEncoder(folder, segment_seconds=1.0, bitrate=800)
    encoder.run_id = run
    closed = []
    for frame in frames(int(seconds * 30), width=320, height=180):
        closed.extend(encoder.write(frame))
    return closed + encoder.close()


def test_the_quota_holds_and_protected_clips_go_only_when_recording_would_stop(tmp_path):
    with small_volume(tmp_path / "video", "16m") as folder:
        store = EventStore(str(tmp_path / "dashcam.db"))
        RecordingIndex().register(store)
        run = store.begin_run(T0, "test")
        closed = recorded(folder, store, 12, run)
        batch = store.write(run, [ev.camera_lost(T0 + 3, "csi://0", "gone")])
        event_id = batch.events[0][0]
        store.write(run, closed + [ClipRequest(event_id, T0 + 2, T0 + 4)])
        total = folder_bytes(folder)
        submitted = []

        def submit(record):
            submitted.append(record)
            store.write(run, [record])
            return True

        quota = total // 2
        retention = RetentionWorker(folder, lambda: StoreReader(store.path), submit,
                                    quota=parse_size(str(quota)), reserve=parse_size("0"),
                                    segment_bytes=max(s.bytes for s in closed))
        with StoreReader(store.path) as reader:
            with hold([os.path.join(folder, closed[0].path)]):   # being exported
                retention.enforce(reader)
            assert folder_bytes(folder) + retention.segment_bytes <= quota
            assert os.path.exists(os.path.join(folder, closed[0].path))
            kept = [r[0] for r in reader.conn.execute("SELECT path FROM segments WHERE protected")]
            assert kept == [s.path for s in closed[2:4]]      # the clip [T0 + 2, T0 + 4]
            # a quota only the clip could meet: nothing is deleted, neither clip nor video
            retention.quota = parse_size(str(folder_bytes(folder) // 4))
            assert retention.enforce(reader) == [] and retention.unmet == {"quota": 1}
            assert all(os.path.exists(os.path.join(folder, p)) for p in kept)
            # the volume fills: without room for two segments recording would stop, so every
            # unprotected segment goes, then as many clip segments as needed, oldest first
            rows = list(reader.db.query("SELECT bytes, protected FROM segments"))
            unprotected = sum(r["bytes"] for r in rows if not r["protected"])
            first_clip = next(s.bytes for s in closed if s.path == kept[0])
            retention.segment_bytes = (unprotected + first_clip // 2) // 2
            ballast = fill(folder)
            gone = retention.enforce(reader)
            assert [i.protected for i in gone] == [False] * (len(gone) - 1) + [True]
            assert gone[-1].path == kept[0] and os.path.exists(os.path.join(folder, kept[1]))
            [event] = [r for r in submitted if isinstance(r, ev.Event)]
            assert event.type == "protected_deleted" and event.data["event_ids"] == [event_id]
            assert "recording would stop" in event.data["reason"]
            assert reader.integrity_check() == "ok"
            os.remove(ballast)
        store.close()


def test_a_full_database_volume_holds_batches_and_writes_them_when_space_returns(tmp_path):
    with small_volume(tmp_path / "db", "4m") as folder:
        store = EventStore(os.path.join(folder, "dashcam.db"))
        run = store.begin_run(T0, "test")
        logger = EventLoggerWorker(store, run, retry_interval=0.05, max_held=100000).start()
        det = Detection(0, "car", 0.9, 1.0, 2.0, 3.0, 4.0)

        def record(i):
            return FrameRecord(i, float(i), T0 + i, [det] * 20, [None] * 20, 0.0, [], [])

        ballast = fill(folder, leave=64 * 1024)
        for i in range(400):
            assert logger.submit(record(i))
        # short of room: the frames' detection rows wait (held), nothing is lost
        assert wait_for(lambda: logger.held and logger.frames == 400)
        os.remove(ballast)
        assert wait_for(lambda: logger.rows == 400 * 20)
        assert logger.stop(timeout=5.0)
        assert logger.records_lost == 0 and logger.retried > 0 and not logger.held
        store.close()
        with StoreReader(os.path.join(folder, "dashcam.db")) as reader:
            assert reader.count("detections") == 400 * 20
            assert reader.integrity_check() == "ok"


def noise_frames(seconds, width=320, height=180, fps=30.0):
    """Frames of noise (incompressible: the encoder spends its whole bitrate), stamped
    ``1 / fps`` apart from ``T0`` and from now on the monotonic clock (ahead of it: they
    are made faster than real time, and the recorder's idle check must not close a
    segment after each)."""
    rng = np.random.RandomState(0)
    pool = [rng.randint(0, 256, (height, width, 3)).astype(np.uint8) for _ in range(8)]
    start = time.monotonic()
    for i in range(int(seconds * fps)):
        yield Frame(i, pool[i % len(pool)], start + i / fps, T0 + i / fps, None)


def test_defaults_on_a_30mb_volume_delete_no_clip_while_unprotected_video_exists(
        tmp_path, monkeypatch, caplog):
    """The finding: [recording] defaults (reserve 256M) on a 30 MB volume deleted every
    segment, clips included. Real parts: the store, its writer, build_recording's recorder
    (libx264), retention and clip keeper; the frames come faster than real time."""
    from dashcam.recording import build_recording, retention as module

    passes = []   # per retention pass: the segment rows it saw, and what it deleted
    listed = module.segments_by_start

    def seen(db):
        rows = list(listed(db))
        passes.append((rows, []))
        return rows

    monkeypatch.setattr(module, "segments_by_start", seen)
    with small_volume(tmp_path / "video", "30m") as folder:
        store = EventStore(str(tmp_path / "dashcam.db"))
        run = store.begin_run(T0, "test")
        events = FanOut()
        logger = EventLoggerWorker(store, run, publish=events)
        with caplog.at_level(logging.WARNING):
            recording = build_recording(load_config(), store, logger.submit,
                                        DataPaths(store.path, folder), "synthetic://", 30.0,
                                        lambda: StoreReader(store.path), time.monotonic,
                                        time.time, board=Board(""))
        recorder, retention = recording.recorder, recording.retention
        enforce = retention.enforce

        def enforced(reader):
            deleted = enforce(reader)
            passes[-1][1].extend(deleted)
            return deleted

        retention.enforce = enforced
        events.add(*recording.subscribers)
        recording.begin(run, logger.submit, T0)
        workers = recording.subscribers + [logger] + recording.workers
        for worker in workers:
            worker.start()
        room = threading.Event()
        try:
            for frame in noise_frames(300):
                if frame.index % 900 == 450:   # an alert every 30 s: two thirds of it protected
                    logger.submit(ev.alert(frame.t_utc + 15, "car", frame.index, ev.WARNING,
                                           {"rule": "test"}))
                while recorder.queue.full():
                    room.wait(0.002)
                recorder.offer(frame)
                if retention.protected_deleted >= 3:
                    break
        finally:
            for worker in reversed(workers):
                worker.stop(10.0)
        store.close()
        assert retention.protected_deleted >= 3
        for rows, deleted in passes:   # a pass that took a clip took every unprotected one first
            if any(i.protected for i in deleted):
                assert {r["path"] for r in rows if not r["protected"]} <= {i.path for i in deleted}
        assert recorder.pauses == 0                   # and recording never stopped
        assert "default 256M cannot be kept free" in caplog.text and "3.0M (10%)" in caplog.text
        with StoreReader(store.path) as reader:
            deleted = reader.events(types=["protected_deleted"])
            assert deleted and all(e["data"]["event_ids"] for e in deleted)
            assert reader.integrity_check() == "ok"


def test_a_closed_segment_wakes_retention_at_once(tmp_path):
    """Usage overshot the quota by 3 MB between retention's 10 s passes: the recorder now
    wakes it whenever a segment closes (here on the test's thread, no timing involved)."""
    from dashcam.recording.recorder import RecorderWorker

    encoder = SoftwareEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800)
    woken, submitted = [], []
    recorder = RecorderWorker(encoder, str(tmp_path), lambda r: submitted.append(r) or True,
                              check_room=lambda: woken.append(len(submitted)))
    recorder.run_id = encoder.run_id = 1
    for frame in noise_frames(3.5):
        recorder.consume(frame)
    closed = [r for r in submitted if isinstance(r, SegmentClosed)]
    assert len(closed) == 3 and woken == [1, 2, 3]   # once per segment, after it is queued
    recorder.finish()


def test_a_reserve_no_volume_can_keep_is_refused_at_the_start(tmp_path, tiny_model_path):
    from dashcam.runtime import build_pipeline
    from test_pipeline import make_config

    config = make_config(tmp_path, recording={"reserve": "100T"})
    with pytest.raises(ConfigError) as error:
        build_pipeline(config, source="synthetic://?seed=1&width=160&height=96",
                       db_path=str(tmp_path / "dashcam.db"), model_path=tiny_model_path,
                       status_stream=None)
    message = str(error.value)
    assert message.startswith("[recording] reserve = 100T cannot be met: the recordings volume")
    assert "\n" not in message and "set a smaller reserve" in message
    EventStore(str(tmp_path / "dashcam.db")).close()   # the store's lock was let go
