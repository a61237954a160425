"""The event logger thread on a real store file: batching, draining, failures, fan-out."""

import threading

import pytest

from dashcam import events as ev
from dashcam.fanout import FanOut, Subscriber
from dashcam.records import Detection, FrameRecord, StatsRecord
from dashcam.store import EventLoggerWorker, EventStore, StoreReader

T0 = 1700000000.0


def record(index, t_mono, label="car", events=()):
    detection = Detection(0, label, 0.8, 1.0, 2.0, 30.0, 40.0)
    return FrameRecord(index, t_mono, T0 + t_mono, [detection, detection], [index, None], 0.01,
                       list(events), [])


def run_logger(path, items, **options):
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        logger = EventLoggerWorker(store, run, **options).start()
        for item in items:
            assert logger.submit(item)
        assert logger.stop(timeout=5.0)   # stop drains: everything submitted is committed
    return logger


def test_stop_commits_everything_submitted(tmp_path):
    path = str(tmp_path / "dashcam.db")
    appeared = ev.Event(ev.OBJECT_APPEARED, T0, None, "car", 3, ev.INFO, {})
    items = [record(i, i / 30.0, events=[appeared] if i == 5 else []) for i in range(200)]
    items.append(StatsRecord(t_utc=T0 + 7, frames_in=200))
    logger = run_logger(path, items)
    assert (logger.frames, logger.rows, logger.events) == (200, 400, 1)
    assert logger.commits >= 1 and len(logger.latency.values()) == 200
    with StoreReader(path) as reader:
        assert reader.count("detections") == 400 and reader.count("stats") == 1
        assert [e["track_id"] for e in reader.events()] == [3]
        row = next(reader.db.query("SELECT * FROM detections ORDER BY id LIMIT 1"))
        assert (row["frame_index"], row["track_id"], row["ts"]) == (0, 0, "2023-11-14T22:13:20.000Z")


def test_a_full_queue_refuses_and_counts(tmp_path):
    with EventStore(str(tmp_path / "dashcam.db")) as store:
        logger = EventLoggerWorker(store, store.begin_run(T0, "0.1.0"), queue_size=2)
        assert logger.submit(record(0, 0.0)) and logger.submit(record(1, 0.1))
        assert not logger.submit(record(2, 0.2))
        assert logger.dropped == 1


def test_a_failing_batch_does_not_stop_the_logger(tmp_path):
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        logger = EventLoggerWorker(store, run, min_commit_interval=0.0)
        # Not started: items are queued, then written in batches as the thread drains them.
        logger.submit(record(0, 0.0, label=None))            # NOT NULL label: the batch is refused
        logger.start()
        assert logger.stop(timeout=5.0)
        logger2 = EventLoggerWorker(store, run).start()
        logger2.submit(record(1, 0.1))
        assert logger2.stop(timeout=5.0)
    assert logger.failed_batches == 1 and logger.error is None
    with StoreReader(path) as reader:
        assert reader.count("detections") == 2


def test_a_record_the_store_cannot_write_is_refused_at_once(tmp_path):
    with EventStore(str(tmp_path / "dashcam.db")) as store:
        logger = EventLoggerWorker(store, store.begin_run(T0, "0.1.0"))
        with pytest.raises(TypeError, match="cannot store"):
            logger.submit(("not", "a", "record"))


def test_a_blocked_subscriber_never_delays_a_commit(tmp_path):
    """One subscriber hangs (a wedged serial port), one fails, one listens: commits go on,
    the hung one drops what it cannot take (counted), the others get every event."""
    path = str(tmp_path / "dashcam.db")
    release = threading.Event()
    heard = []

    def hang(item):
        release.wait(10.0)

    def fail(item):
        raise RuntimeError("sink unplugged")

    subscribers = [Subscriber("hung", hang, queue_size=2), Subscriber("broken", fail),
                   Subscriber("listener", heard.append)]
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        logger = EventLoggerWorker(store, run, publish=FanOut(subscribers))
        for worker in subscribers + [logger]:
            worker.start()
        for i in range(50):
            assert logger.submit(ev.camera_lost(T0 + i, "csi://0", "gone"))
        assert logger.stop(timeout=5.0)       # everything committed while "hung" is stuck
        assert logger.events == 50
        release.set()
        for worker in subscribers:
            assert worker.stop(timeout=5.0)
    hung, broken, listener = subscribers
    assert hung.dropped >= 47 and hung.handled + hung.dropped == 50
    assert broken.failed == 50 and broken.error is None
    assert [event.ts_start for _, event in heard] == [T0 + i for i in range(50)]
    assert [event_id for event_id, _ in heard] == list(range(1, 51))
