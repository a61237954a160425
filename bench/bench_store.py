"""Store throughput: detection rows per second with one-second commits.

Two figures, both on a real SQLite file (WAL, synchronous=FULL unless --synchronous):

1. capacity: one-second batches (100 frame records x ``--boxes`` detections) written
   back to back through ``EventStore.write``, one transaction each; rows/s = rows /
   time spent writing (turning records into rows included). Above the target, a second's
   batch takes well under a second.
2. sustained: the real ``EventLoggerWorker`` fed ``--rate`` rows/s in real time for
   ``--seconds`` with ``min_commit_interval=1`` (one commit a second); it keeps up if
   every row is committed, the queue stays short and no commit takes a second.

    PYTHONPATH=app python bench/bench_store.py [--seconds 10] [--rate 3000]
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app"))

from dashcam.metrics import percentile  # noqa: E402
from dashcam.records import Detection, FrameRecord  # noqa: E402
from dashcam.store import EventLoggerWorker, EventStore  # noqa: E402


def frame_detections(boxes):
    """``boxes`` detections of one frame, and their track ids."""
    return ([Detection(0, "car", 0.9, 10.0 * k, 20.0, 10.0 * k + 50, 80.0) for k in range(boxes)],
            list(range(boxes)))


def capacity(path, seconds, fps, boxes, synchronous):
    detections, ids = frame_detections(boxes)
    with EventStore(path, synchronous=synchronous) as store:
        run = store.begin_run(time.time(), "bench")
        frame_index, spent, rows, worst = 0, 0.0, 0, 0.0
        for _ in range(seconds):
            batch = []
            for _ in range(fps):
                batch.append(FrameRecord(frame_index, time.monotonic(), time.time(), detections,
                                         ids, 0.0, [], []))
                frame_index += 1
            started = time.perf_counter()
            written = store.write(run, batch)
            took = time.perf_counter() - started
            spent += took
            worst = max(worst, took)
            rows += written.rows["detections"]
    return {"rows": rows, "rows_per_s": round(rows / spent), "batch_rows": fps * boxes,
            "worst_batch_s": round(worst, 4)}


def sustained(path, seconds, rate, boxes, synchronous):
    fps = rate / float(boxes)
    detections, ids = frame_detections(boxes)
    with EventStore(path, synchronous=synchronous) as store:
        run = store.begin_run(time.time(), "bench")
        logger = EventLoggerWorker(store, run, min_commit_interval=1.0, queue_size=100000)
        commit_times = []
        write = store.write

        def timed_write(*args, **kwargs):
            started = time.perf_counter()
            try:
                return write(*args, **kwargs)
            finally:
                commit_times.append(time.perf_counter() - started)
        store.write = timed_write
        logger.start()
        started, sent, depth = time.monotonic(), 0, 0
        stop = logger.stop_event  # paced on the logger's own Event: no bare sleep
        while sent < seconds * fps:
            due = started + sent / fps
            now = time.monotonic()
            if due > now:
                stop.wait(due - now)
            logger.submit(FrameRecord(sent, time.monotonic(), time.time(), detections, ids,
                                      0.0, [], []))
            sent += 1
            depth = max(depth, logger.queue_depth)
        elapsed = time.monotonic() - started
        logger.stop(timeout=10.0)
        committed = store.conn.execute("SELECT count(*) FROM detections").fetchone()[0]
    return {"offered_rows_per_s": round(sent * boxes / elapsed), "rows_committed": committed,
            "rows_offered": sent * boxes, "commits": logger.commits,
            "commit_p50_ms": round(percentile(commit_times, 50) * 1000, 2),
            "commit_max_ms": round(max(commit_times) * 1000, 2), "max_queue_depth": depth,
            "kept_up": committed == sent * boxes and max(commit_times) < 1.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=3000, help="rows/s for the sustained test")
    parser.add_argument("--boxes", type=int, default=30, help="detections per frame")
    parser.add_argument("--synchronous", default="full", choices=("full", "normal"))
    parser.add_argument("--dir", help="folder for the store files (default: a temporary one)")
    args = parser.parse_args()
    folder = args.dir or tempfile.mkdtemp(prefix="bench_store_")
    result = {
        "synchronous": args.synchronous,
        "capacity": capacity(os.path.join(folder, "capacity.db"), args.seconds, 100,
                             args.boxes, args.synchronous),
        "sustained": sustained(os.path.join(folder, "sustained.db"), args.seconds, args.rate,
                               args.boxes, args.synchronous),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["sustained"]["kept_up"] else 1


if __name__ == "__main__":
    sys.exit(main())
