"""The event logger thread on a real store file: batching, sampling, draining, failures."""

from dashcam import events as ev
from dashcam.detection import Detection
from dashcam.event_logger import EventLoggerWorker, StatsRecord
from dashcam.inference import FrameRecord
from dashcam.store import EventStore, StoreReader

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


def test_sampled_mode_keeps_one_frame_per_interval(tmp_path):
    path = str(tmp_path / "dashcam.db")
    times = [0.0, 0.3, 0.6, 1.0, 1.2, 2.1]
    logger = run_logger(path, [record(i, t) for i, t in enumerate(times)],
                        detections="sampled", sample_interval=1.0)
    with StoreReader(path) as reader:
        frames = [r["frame_index"] for r in reader.db.query(
            "SELECT DISTINCT frame_index FROM detections ORDER BY frame_index")]
    assert frames == [0, 3, 5] and logger.frames == 6


def test_a_full_queue_refuses_and_counts(tmp_path):
    with EventStore(str(tmp_path / "dashcam.db")) as store:
        logger = EventLoggerWorker(store, store.begin_run(T0, "0.1.0"), queue_size=2)
        assert logger.submit(record(0, 0.0)) and logger.submit(record(1, 0.1))
        assert not logger.submit(record(2, 0.2))
        assert logger.rejected == 1


def test_a_failing_batch_or_listener_does_not_stop_the_logger(tmp_path):
    path = str(tmp_path / "dashcam.db")
    heard = []

    def broken(event_id, event):
        raise RuntimeError("sink unplugged")

    def listener(event_id, event):
        heard.append((event_id, event.type))

    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0")
        logger = EventLoggerWorker(store, run, listeners=[broken, listener],
                                   min_commit_interval=0.0)
        # Not started: items are queued, then written in batches as the thread drains them.
        bad = record(0, 0.0, label=None)            # NOT NULL label: the batch is refused
        logger.submit(bad)
        logger.start()
        logger.stop(timeout=5.0)
        logger2 = EventLoggerWorker(store, run, listeners=[broken, listener]).start()
        logger2.submit(ev.camera_lost(T0, "csi://0", "gone"))
        logger2.submit(record(1, 0.1))
        assert logger2.stop(timeout=5.0)
    assert logger.failed_batches == 1 and logger.error is None
    assert heard and heard[0][1] == "camera_lost"
    with StoreReader(path) as reader:
        assert reader.count("detections") == 2
