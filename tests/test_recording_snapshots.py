"""Snapshots of a run's last moments: referenced at the next start (real runs, real JPEGs)."""

import os
import threading

import pytest

from dashcam.fanout import Subscriber
from dashcam.store import StoreReader
from test_pipeline import make_config

av = pytest.importorskip("av", reason="PyAV writes and decodes the segments (no wheel for 3.6)")

from dashcam.runtime import build_pipeline  # noqa: E402
from recorded import wait_for  # noqa: E402

SOURCE = "synthetic://?seed=5&width=320&height=180&fps=30"


def run_until(tmp_path, model, stop_when, **given):
    """A run of the synthetic road, stopped as soon as ``stop_when(pipeline)`` (polled)."""
    config = make_config(tmp_path, run={"status_interval": 0})
    pipeline = build_pipeline(config, source=SOURCE, db_path=str(tmp_path / "dashcam.db"),
                              model_path=model, status_stream=None, **given)
    pipeline.start()
    try:
        assert wait_for(lambda: stop_when(pipeline), timeout=60)
    finally:
        pipeline.stop()
    return pipeline


def alerts_without_snapshot(db_path, run_id):
    """Run ``run_id``'s alerts that its video covers and that have no snapshot."""
    with StoreReader(db_path) as reader:
        return [r[0] for r in reader.conn.execute(
            "SELECT id FROM events WHERE run_id = ? AND type = 'alert' AND snapshot IS NULL"
            " AND ts_start < (SELECT max(ended_at) FROM segments WHERE run_id = ?)",
            (run_id, run_id))]


def test_the_snapshots_of_a_run_s_last_moments_are_referenced_at_the_next_start(
        tmp_path, tiny_model_path):
    """The finding: the snapshot worker is an event subscriber, stopped after the event
    logger, so the JPEGs of the last alerts were never referenced (export left them out)."""
    db_path, folder = str(tmp_path / "dashcam.db"), str(tmp_path / "recordings")
    alerted = threading.Event()

    def heard(item):
        if item[1].type == "alert":
            alerted.set()

    def last_alert(pipeline):
        # once a segment is indexed, the next committed alert is the run's last
        if pipeline.recording.recorder.segments < 1:
            alerted.clear()
        return alerted.is_set()

    run_until(tmp_path, tiny_model_path, last_alert,
              event_subscribers=[Subscriber("last-alert", heard)])
    with StoreReader(db_path) as reader:
        last = reader.events(types=["alert"])[-1]
        run_started = reader.events(types=["run_started"])[0]
    # a JPEG written after the logger stopped (or before a kill): on disk, not referenced
    shots = os.path.join(folder, "snapshots", "run-000001")
    os.makedirs(shots, exist_ok=True)
    linked = "snapshots/run-000001/event-{:07d}.jpg".format(run_started["id"])
    orphan = os.path.join(shots, "event-9999999.jpg")   # its event is gone: left alone
    for target in (os.path.join(folder, linked), orphan):
        with open(target, "wb") as handle:
            handle.write(b"\xff\xd8\xff\xd9")

    def repaired(pipeline):
        return not alerts_without_snapshot(db_path, 1) and snapshot_of(run_started["id"])

    def snapshot_of(event_id):
        with StoreReader(db_path) as reader:
            return reader.conn.execute("SELECT snapshot FROM events WHERE id = ?",
                                       (event_id,)).fetchone()[0]

    run_until(tmp_path, tiny_model_path, repaired)
    assert snapshot_of(run_started["id"]) == linked
    with StoreReader(db_path) as reader:
        shot = reader.conn.execute("SELECT snapshot FROM events WHERE id = ?",
                                   (last["id"],)).fetchone()[0]
    assert shot and os.path.getsize(os.path.join(folder, shot)) > 1000   # a real JPEG
    assert os.path.exists(orphan)
