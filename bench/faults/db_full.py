"""Fault campaign: the database volume full, against the real ``dashcam run`` (a subprocess).

The store lives on a small tmpfs of its own (``--size``, 3 MB), the recordings
on another folder, the source is ``synthetic://?scenario=brake`` (the car ahead
brakes every 8 s: forward-collision alerts fire), the model the bundled stand-in.
Three phases: the first on a volume of its own, the last two on one store:

1. ``grows_full``: the run alone on the volume, 1 MiB left: its own WAL and rows fill it;
2. ``filled_then_freed``: another file fills the volume at 10 s, and is removed at 30 s;
3. ``full_at_start``: the volume is filled before the next start, and freed at 20 s.

Each phase reports alerts raised (the printed summary) against alert events committed,
events lost and detection rows dropped (the summary's counters), refused writes and
pruning batches, the WAL's peak size (sampled every 20 ms) against the volume and the
volume's least free bytes, segment files recorded while the volume was full, and
whether the store caught up (the run's row, its ``run_started``, its segments indexed
under its id, ``integrity_check``). Each run's log is kept in the folder ``logs`` names.
Mounting needs root: without it the script prints the reason and exits 2.

    PYTHONPATH=app python bench/faults/db_full.py [--quick] [--size 3m] [--only PHASE]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
sys.path.insert(0, APP)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from dashcam.paths import default_model_path  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402
from volumes import fill  # noqa: E402

SOURCE = "synthetic://?scenario=brake&width=640&height=360"
PHASES = ("grows_full", "filled_then_freed", "full_at_start")


def mount(path, size):
    os.makedirs(path, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return None if result.returncode == 0 else result.stdout.strip()


class Sampler(threading.Thread):
    """The WAL's size every ``every`` seconds: the peak, and the volume's lowest free bytes."""

    def __init__(self, db, every=0.02):
        threading.Thread.__init__(self, name="wal-sampler", daemon=True)
        self.db, self.every = db, every
        self.peak = self.samples = 0
        self.least_free = None
        self.halt = threading.Event()

    def run(self):
        folder = os.path.dirname(self.db)
        while not self.halt.wait(self.every):
            try:
                size = os.path.getsize(self.db + "-wal")
            except OSError:
                size = 0
            stats = os.statvfs(folder)
            free = stats.f_bavail * stats.f_frsize
            self.peak = max(self.peak, size)
            self.least_free = free if self.least_free is None else min(self.least_free, free)
            self.samples += 1


def start(db, recordings, ini, duration):
    command = [sys.executable, "-m", "dashcam", "run", "--db", db, "--recordings", recordings,
               "--config", ini, "--model", default_model_path(), "--source", SOURCE,
               "--duration", str(duration)]
    return subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=APP),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)


def printed(stdout, stderr):
    """What the printed summary and the log say: alerts raised, the run id, a traceback."""
    figures = {}
    for key, pattern in (("alerts_raised", r"alerts (\d+)"), ("run_id", r"^run (\d+)")):
        match = re.search(pattern, stdout, re.MULTILINE)
        figures[key] = int(match.group(1)) if match else None
    figures["traceback"] = "Traceback" in stderr
    return figures


def committed(db, run_id):
    """From the store once it can be read: the run's row and summary, its alert events."""
    if run_id is None:
        return {"run_row": False}
    with StoreReader(db) as reader:
        row = next(reader.db.query("SELECT * FROM runs WHERE id = ?", [run_id]), None)
        alerts = reader.events(types=["alert"], run_id=run_id)
        started = reader.events(types=["run_started"], run_id=run_id)
        segments = reader.conn.execute("SELECT count(*) FROM segments WHERE run_id = ?",
                                       (run_id,)).fetchone()[0]
        integrity = reader.integrity_check()
    summary = json.loads(row["summary"]) if row and row["summary"] else {}
    retention = (summary.get("recording") or {}).get("retention") or {}
    return {"run_row": row is not None, "run_started_event": bool(started),
            "alerts_committed": len(alerts), "segments_indexed": segments,
            "events_lost": summary.get("events_lost"),
            "detections_dropped": summary.get("detections_lost"),
            "records_lost": summary.get("records_lost"),
            "failed_batches": summary.get("failed_batches"),
            "pruned_batches": retention.get("pruned_batches"), "integrity": integrity}


def phase(db, recordings, ini, log, duration, fill_at=None, free_at=None, prefill=None):
    """One ``dashcam run`` of ``duration`` s; a ballast fills the volume at ``fill_at`` s, or
    before the start to leave ``prefill`` bytes, and goes at ``free_at`` s. Its log (stderr)
    is kept in ``log``."""
    folder = os.path.dirname(db)
    ballast = fill(folder, leave=prefill) if prefill is not None else None
    files_before = segment_files(recordings)
    sampler = Sampler(db)
    sampler.start()
    began = time.monotonic()
    process = start(db, recordings, ini, duration)
    pause = threading.Event()
    video_while_full = None
    while process.poll() is None:
        now = time.monotonic() - began
        if fill_at is not None and ballast is None and now >= fill_at:
            ballast = fill(folder)
            fill_at = None
        if free_at is not None and ballast is not None and now >= free_at:
            video_while_full = segment_files(recordings) - files_before
            os.remove(ballast)
            ballast, free_at = None, None
        pause.wait(0.05)
    stdout, stderr = process.communicate()
    with open(log, "w") as handle:
        handle.write(stderr)
    sampler.halt.set()
    sampler.join()
    if ballast is not None:
        os.remove(ballast)
    figures = printed(stdout, stderr)
    figures.update(exit_code=process.returncode, wal_peak_bytes=sampler.peak,
                   least_free_bytes=sampler.least_free)
    if video_while_full is not None:
        figures["segment_files_while_full"] = video_while_full
    try:
        figures.update(committed(db, figures["run_id"]))
    except Exception as error:   # the baseline may leave no readable store
        figures["store_unreadable"] = str(error)
    return figures


def segment_files(folder):
    return sum(1 for _, _, names in os.walk(folder) for n in names if n.endswith(".ts"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (about 1 min)")
    parser.add_argument("--size", default="3m", help="the database volume (tmpfs size=)")
    parser.add_argument("--only", choices=PHASES, action="append",
                        help="run only this phase (again for more; full_at_start needs the "
                             "store that filled_then_freed leaves)")
    args = parser.parse_args()
    scale = 0.5 if args.quick else 1.0
    work = tempfile.mkdtemp(prefix="fault_db_full_")
    ini = os.path.join(work, "run.ini")
    with open(ini, "w") as handle:
        handle.write("[run]\nstatus-interval = 0\n[recording]\nsegment-seconds = 2\n")
    result = {"volume": args.size, "source": SOURCE, "quick": args.quick, "logs": work}
    # the first phase on a volume of its own (1 MiB left to grow into); the last two on
    # one store, as in a car
    for volume, phases in (("alone", [("grows_full", dict(duration=60, prefill=1 << 20))]),
                           ("shared", [("filled_then_freed", dict(duration=40, fill_at=10,
                                                                  free_at=30)),
                                       ("full_at_start", dict(duration=40, prefill=0,
                                                              free_at=20))])):
        folder = os.path.join(work, volume)
        refused = mount(folder, args.size)
        if refused:
            print(json.dumps({"skipped": f"cannot mount a tmpfs (needs root): {refused}"}))
            return 2
        try:
            for name, times in phases:
                if args.only and name not in args.only:
                    continue
                times = {k: v if k == "prefill" else v * scale for k, v in times.items()}
                result[name] = phase(os.path.join(folder, "dashcam.db"),
                                     os.path.join(work, volume + "-recordings"), ini,
                                     os.path.join(work, name + ".log"), **times)
        finally:
            subprocess.run(["umount", "-l", folder])
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
