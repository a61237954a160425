"""A full database volume, for real: the store on a small tmpfs under a whole ``build_pipeline``
run (the synthetic road, ONNX Runtime on the tiny colour model, whose many boxes fill a store
fast), recordings on another folder. The WAL stays within its bound, detection rows are
pruned or dropped (and counted) before any event or alert, and a run whose store is full at
the start records all the same and its store catches up once there is room."""

import os
import threading

import pytest

from dashcam.errors import StoreError
from dashcam.runtime import build_pipeline
from dashcam.store import EventStore, StoreReader
from recorded import T0, wait_for
from test_pipeline import make_config
from volumes import fill, small_volume

SOURCE = "synthetic://?seed=5&width=320&height=180&fps=30"
FAST = "synthetic://?seed=5&width=320&height=180&realtime=0"
ANY_CAR = {"rule:any-car": {"labels": "car", "cooldown": 1.0, "severity": "critical"}}


class WalSampler(threading.Thread):
    """The WAL file's largest size, looked at every 5 ms while the run goes on."""

    def __init__(self, db_path):
        threading.Thread.__init__(self, name="wal-sampler", daemon=True)
        self.path, self.peak, self.halt = db_path + "-wal", 0, threading.Event()

    def run(self):
        while not self.halt.wait(0.005):
            try:
                self.peak = max(self.peak, os.path.getsize(self.path))
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()


def pipeline(tmp_path, db_path, model, source=SOURCE, store=None, recording=None, rules=ANY_CAR):
    config = make_config(tmp_path, run={"status_interval": 0}, store=store or {},
                         recording=recording or {"enabled": "false"}, **rules)
    return build_pipeline(config, source=source, db_path=db_path, model_path=model,
                          status_stream=None, recordings=str(tmp_path / "video"))


def committed(db_path, run_id):
    """(alert events, all events, the run's row) of run ``run_id``."""
    with StoreReader(db_path) as reader:
        assert reader.integrity_check() == "ok"
        run = next((r for r in reader.runs() if r["id"] == run_id), None)
        return (len(reader.events(types=["alert"], run_id=run_id)),
                reader.events(run_id=run_id), run)


@pytest.mark.xfail(strict=False, reason=(
    "known defect, found 2026-12-06: once a store that only grows (no video, detection rows "
    "as fast as ONNX Runtime makes them) has filled its volume, a checkpoint the full volume "
    "refuses can stall it: retention's DELETE needs WAL room too, and held records are lost "
    "at the stop (counted in the summary). Passes 2 runs in 3 on 2 MB; on 4 MB it stalls "
    "near 28,000 rows every time. To fix: prune ahead of the full volume, not after it."))
def test_the_wal_stays_bounded_and_detections_are_pruned_to_make_room(tmp_path, tiny_model_path):
    """The store alone fills a 2 MB volume: SQLite's 4 MiB checkpoint would never come (the
    WAL filled such a volume in seconds and nothing more was stored). Here the WAL is
    checkpointed within its bound, and retention prunes old detection rows to make room,
    so rows keep landing, more than the volume holds, and every event does."""
    with small_volume(tmp_path / "db", "2m") as folder:
        db_path = os.path.join(folder, "dashcam.db")
        run = pipeline(tmp_path, db_path, tiny_model_path, source=FAST,
                       recording={"segment_seconds": 1.0}, rules={})
        with WalSampler(db_path) as wal:
            run.start()
            try:
                landed = wait_for(lambda: run.logger.rows > 20000, timeout=60.0)
            finally:
                summary = run.stop()
        assert landed, f"only {run.logger.rows} detection rows stored"
        assert run.logger.rows * 110 > 2 * 1024 * 1024   # 110 bytes a row in the file
        # the bound, and a batch or two beyond it (readers hold a checkpoint back a little)
        assert wal.peak < 1024 * 1024
        assert summary["recording"]["retention"]["pruned_batches"] >= 1
        assert summary["events_lost"] == 0
        _, events, row = committed(db_path, run.run_id)
        assert len(events) == summary["events"] and row["ended_at"] is not None


def test_a_volume_filled_mid_run_keeps_every_alert_and_drops_detections_first(tmp_path,
                                                                              tiny_model_path):
    """Another file takes the last byte of the store's volume mid-run and is removed only
    after the stop. The store writes the evidence in the room it keeps (its WAL, and its
    reserve once a write is refused) and holds the detection rows; past the bound (4 x
    queue-size records) those are dropped, counted in the summary. No alert raised is
    missing from the store."""
    with small_volume(tmp_path / "db", "16m") as folder:
        db_path = os.path.join(folder, "dashcam.db")
        run = pipeline(tmp_path, db_path, tiny_model_path, store={"queue_size": 48})
        run.start()
        try:
            assert wait_for(lambda: run.logger.commits > 10)
            ballast = fill(folder)
            raised = run.alerts.engine.alerts
            assert wait_for(lambda: run.logger.detections_lost > 0
                            and run.alerts.engine.alerts > raised + 2)
        finally:
            summary = run.stop()
        os.remove(ballast)
        alerts, events, _ = committed(db_path, run.run_id)
    assert summary["detections_lost"] > 0
    assert summary["events_lost"] == 0 and alerts == summary["alerts"]
    assert [e["type"] for e in events][-1] == "run_stopped"


def test_a_run_whose_store_is_full_at_the_start_records_and_the_store_catches_up(tmp_path,
                                                                                 tiny_model_path):
    """The store's volume is full before the start, and the room its open gives back (its
    reserve) is taken too: the run starts (its row allocated, not written), records video
    to another folder, and once room returns its row, ``run_started`` and every segment
    land under its id, in order. The id is above the run folders already there too (a run
    whose row never landed left its video under one)."""
    pytest.importorskip("av", reason="PyAV records the video (no wheel for 3.6)")
    with small_volume(tmp_path / "db", "4m") as folder:
        db_path = os.path.join(folder, "dashcam.db")
        EventStore(db_path).close()          # an earlier run's store
        os.makedirs(str(tmp_path / "video" / "run-000004"))
        fill(folder)
        run = pipeline(tmp_path, db_path, tiny_model_path,
                       recording={"segment_seconds": 1.0, "clips": "*"})
        os.mkdir(os.path.join(folder, "more"))
        ballast = fill(os.path.join(folder, "more"))   # over the reserve the open gave back
        run.start()
        try:
            recorder = run.recording.recorder
            assert wait_for(lambda: recorder.segments >= 2 and run.logger.failed_batches >= 1)
            with StoreReader(db_path) as reader:
                assert reader.runs() == []   # nothing landed: the volume is full
            os.remove(ballast)
            os.remove(os.path.join(folder, "ballast"))
            assert wait_for(lambda: not run.logger.held and run.logger.frames > 0)
        finally:
            summary = run.stop()
        with StoreReader(db_path) as reader:
            [row] = reader.runs()
            events = reader.events()
            segments = list(reader.db.query("SELECT run_id FROM segments"))
    assert row["id"] == run.run_id == 5 and row["ended_at"] is not None
    assert events[0]["type"] == "run_started" and events[0]["data"]["run_id"] == 5
    assert {e["run_id"] for e in events} == {5} and events[-1]["type"] == "run_stopped"
    assert len(segments) == summary["recording"]["segments"] >= 2
    assert {s["run_id"] for s in segments} == {5}
    assert summary["records_lost"] == 0 and summary["events_lost"] == 0


def test_a_zero_length_db_file_is_refused_unless_new(tmp_path):
    """SQLite turns any empty file into a database: a typo'd ``--db`` naming one would be
    made a store. Refused with the fix; a path that does not exist is a new store."""
    empty = tmp_path / "typo.db"
    empty.write_bytes(b"")
    with pytest.raises(StoreError, match="empty file, not a dashcam store.*delete the empty"):
        EventStore(str(empty))
    assert empty.read_bytes() == b""                    # left as it was
    with EventStore(str(tmp_path / "new.db")) as store:  # a path that does not exist: new
        assert store.begin_run(T0, "test") == 1
    with EventStore(str(tmp_path / "new.db")) as store:
        assert store.new_run(T0, "test", after=7).run_id == 8


def test_a_new_store_on_a_full_volume_is_one_line_and_leaves_no_empty_file(tmp_path):
    """A store that cannot even be created names the file and the fix, and takes back the
    empty file it made, so the next start (with room) is not refused as an empty file."""
    with small_volume(tmp_path / "db", "1m") as folder:
        ballast = fill(folder)
        db_path = os.path.join(folder, "dashcam.db")
        with pytest.raises(StoreError, match="cannot use store .*has room"):
            EventStore(db_path)
        assert not os.path.exists(db_path)
        os.remove(ballast)
        with EventStore(db_path) as store:
            assert store.begin_run(T0, "test") == 1


def test_the_run_end_lands_on_a_volume_filled_to_the_last_byte_at_the_stop(tmp_path):
    """At the stop retention no longer prunes for the store, and the volume may be full to
    the last byte with the main reserve long spent (the WAL already cut to zero): the run's
    end still lands, in the small reserve the store keeps for it alone, and that reserve is
    taken again at the next start."""
    with small_volume(tmp_path / "db", "2m") as folder:
        db_path = os.path.join(folder, "dashcam.db")
        with EventStore(db_path) as store:
            run_id = store.begin_run(T0, "test")
            assert store.end_reserve.held
            store.reclaim()              # the main reserve spent, the WAL cut to zero
            ballast = fill(folder)       # and the last byte taken
            with pytest.raises(Exception, match="full"):
                store.begin_run(T0 + 1, "test")
            assert store.end_run(run_id, T0 + 9, {"frames": 3}) is True
            assert not store.end_reserve.held
        _, _, row = committed(db_path, run_id)
        assert row["ended_at"] is not None and row["summary"] is not None
        os.remove(ballast)
        with EventStore(db_path) as store:
            assert store.end_reserve.held
