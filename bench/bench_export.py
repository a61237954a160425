"""Export figures: how fast a store is exported while the writer keeps committing, what the
export costs the writer, and what a second export to the same stick skips.

    PYTHONPATH=app python bench/bench_export.py [--rows 1000000] [--rate 3000] [--folder DIR]

A store of ``--rows`` detection rows is made (with an event a frame and a snapshot JPEG's
worth of bytes for 50 events, in the recording feature's layout), then the event logger
commits ``--rate`` detection rows a second (30 frames a second) while the store is exported
to a folder on the same disk (no USB stick here: a stick's own write speed, often 10 to
30 MB/s, bounds a real export). It prints the snapshot and export times, the writer's
frame-to-commit latency before and during the export, and a second export's time.
"""

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

from dashcam import events as ev
from dashcam.export import write_export
from dashcam.metrics import percentile
from dashcam.records import Detection, FrameRecord
from dashcam.store import EventLoggerWorker, EventStore, table_columns, take_snapshot

T0 = 1700000000.0
BOXES = 100


def frame(k, t_mono):
    return FrameRecord(k, t_mono, T0 + k / 30.0,
                       [Detection(0, "car", 0.9, 1.0, 2.0, 3.0 + i, 4.0) for i in range(BOXES)],
                       list(range(BOXES)), 0.0,
                       [ev.Event(ev.CAMERA_LOST, T0 + k / 30.0, None, None, None, ev.WARNING,
                                 {"k": k})] if k % 30 == 0 else [], [])


def make(folder, rows):
    db_path = os.path.join(folder, "dashcam.db")
    store = EventStore(db_path)
    run = store.begin_run(T0, "bench")
    frames = rows // BOXES
    for start in range(0, frames, 2000):
        store.write(run, [frame(k, 0.0) for k in range(start, min(frames, start + 2000))])
    recordings = os.path.join(folder, "recordings", "snapshots")
    os.makedirs(recordings)
    if "snapshot" not in table_columns(store.conn, "events"):   # stores before recording's
        store.conn.execute("ALTER TABLE events ADD COLUMN snapshot TEXT")
    for event_id in range(1, 51):
        with open(os.path.join(recordings, f"{event_id}.jpg"), "wb") as handle:
            handle.write(os.urandom(500 * 1024))
        store.conn.execute("UPDATE events SET snapshot = ? WHERE id = ?",
                           (f"snapshots/{event_id}.jpg", event_id))
    return store, run, db_path, frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--rate", type=int, default=3000, help="detection rows a second")
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(dir=args.folder)
    try:
        started = time.monotonic()
        store, run, db_path, k = make(folder, args.rows)
        size = os.path.getsize(db_path) + os.path.getsize(db_path + "-wal")
        print("store: {:,} detection rows, {:.0f} MB, made in {:.1f} s".format(
            args.rows, size / 1e6, time.monotonic() - started))
        logger = EventLoggerWorker(store, run_id=run).start()
        stop = threading.Event()
        fps = args.rate / float(BOXES)

        def feed():
            n, begun = k, time.monotonic()
            while not stop.is_set():
                logger.submit(frame(n, time.monotonic()))
                n += 1
                stop.wait(max(0.0, begun + (n - k) / fps - time.monotonic()))

        feeder = threading.Thread(target=feed, name="bench-feeder")
        feeder.start()
        stop.wait(5.0)
        before = logger.latency.values()
        commits = logger.commits
        stick = os.path.join(folder, "stick")
        os.mkdir(stick)
        t = time.monotonic()
        take_snapshot(db_path, os.path.join(folder, "snapshot.db"))
        snapshot_s = time.monotonic() - t
        logger.latency.values()  # (the window keeps the last 512: read what the export saw)
        t = time.monotonic()
        first = write_export(stick, db_path, os.path.join(folder, "recordings"), host="bench")
        export_s = time.monotonic() - t
        during = logger.latency.values()
        landed = logger.commits - commits
        t = time.monotonic()
        second = write_export(stick, db_path, os.path.join(folder, "recordings"), host="bench")
        second_s = time.monotonic() - t
        stop.set()
        feeder.join(5)
        logger.stop(5)
        store.close()
        rows = sqlite3.connect(os.path.join(first.folder, "dashcam.db")).execute(
            "SELECT count(*) FROM detections").fetchone()[0]
        print(f"snapshot alone: {snapshot_s:.2f} s ({size / 1e6 / snapshot_s:.0f} MB/s)")
        print("export: {:.2f} s for {:.0f} MB in {} files ({} snapshot rows), {:.0f} MB/s; "
              "{} commits landed meanwhile".format(export_s, first.bytes / 1e6, first.files, rows,
                                                   first.bytes / 1e6 / export_s, landed))
        print("writer frame-to-commit latency p50/p95: before {:.0f}/{:.0f} ms, during the "
              "exports {:.0f}/{:.0f} ms".format(
                  1000 * percentile(before, 50), 1000 * percentile(before, 95),
                  1000 * percentile(during, 50), 1000 * percentile(during, 95)))
        print("second export: {:.2f} s, {} of {} snapshots skipped".format(
            second_s, second.skipped, second.snapshots))
        with open("/proc/loadavg") as handle:
            print("load: " + handle.read().strip())
    finally:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
