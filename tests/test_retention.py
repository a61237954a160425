"""Retention on a real small file system (tmpfs): the quota holds, clips are kept to the last,
a held segment survives; the event logger rides out a full database volume."""

import os

import pytest

from dashcam import events as ev
from dashcam.recording.index import ClipRequest, RecordingIndex
from dashcam.recording.join import hold
from dashcam.recording.retention import RetentionWorker, folder_bytes, parse_size
from dashcam.records import Detection, FrameRecord
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


def test_the_quota_holds_and_protected_clips_go_last(tmp_path):
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
                                    quota=parse_size(str(quota)), reserve=parse_size("0"))
        with StoreReader(store.path) as reader:
            with hold([os.path.join(folder, closed[0].path)]):   # being exported
                retention.enforce(reader)
            assert folder_bytes(folder) <= quota
            assert os.path.exists(os.path.join(folder, closed[0].path))
            kept = [r[0] for r in reader.conn.execute("SELECT path FROM segments WHERE protected")]
            assert kept == [s.path for s in closed[2:4]]      # the clip [T0 + 2, T0 + 4]
            assert all(os.path.exists(os.path.join(folder, p)) for p in kept)
            retention.quota = parse_size(str(folder_bytes(folder) // 4))
            retention.enforce(reader)                         # only the clip can meet it now
            assert folder_bytes(folder) <= retention.quota.value
            [event] = [r for r in submitted if isinstance(r, ev.Event)]
            assert event.type == "protected_deleted" and event.data["event_ids"] == [event_id]
            assert reader.integrity_check() == "ok"
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
