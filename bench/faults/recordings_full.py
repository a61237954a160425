"""Fault campaign: ``dashcam run`` with the default configuration on a 30 MB recordings volume.

The recordings folder (``recordings/`` beside the store, as by default) is a
30 MB tmpfs mounted for the run (needs root), smaller than the default reserve
(256M): the run must warn and keep 10% free instead, and retention must never
delete a protected clip while unprotected video exists. The synthetic demo
road raises alerts, so most segments are clips. Every 0.25 s the script looks
at the store and the folder; a protected segment whose file went while an
unprotected one stayed, from one look to the next, is counted as deleted while
unprotected video existed. Prints one JSON object of figures: those deletions
(must be 0), protected segments deleted in all, usage peak against the quota
(protected clips are kept over the quota until recording would stop: the peak
of protected video is given too), the most free space seen just before a
protected deletion (a clip deleted with room to spare was deleted for
nothing), recording paused and resumed, the start's warning.

    PYTHONPATH=app python bench/faults/recordings_full.py [--quick] [--seconds 300]
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
sys.path.insert(0, APP)

from dashcam.errors import StoreError  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402

VOLUME = "30m"
LOOK_S = 0.25


@contextlib.contextmanager
def tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path])


def segments(db):
    """``{path: (protected, bytes)}`` of the indexed segments ({} before the store exists)."""
    try:
        with StoreReader(db) as reader:
            return {r[0]: (bool(r[1]), r[2]) for r in reader.conn.execute(
                "SELECT path, protected, bytes FROM segments")}
    except StoreError:
        return {}


class Watch:
    """What the looks saw: usage peak, protected video peak, and protected deletions while
    unprotected video stayed."""

    def __init__(self, db, folder):
        self.db, self.folder = db, folder
        self.known = {}          # path -> (protected, bytes), as last indexed
        self.present = set()     # paths whose files existed at the last look
        self.peak = self.protected_peak = self.looks = 0
        self.protected_gone = self.while_unprotected = 0
        self.free = None            # free bytes at the last look
        self.free_before_gone = []  # free bytes at the look before each protected deletion

    def look(self):
        self.looks += 1
        stats = os.statvfs(self.folder)
        self.peak = max(self.peak, (stats.f_blocks - stats.f_bfree) * stats.f_frsize)
        free, self.free = self.free, stats.f_bavail * stats.f_frsize
        self.known.update(segments(self.db))
        present = {p for p in self.known if os.path.exists(os.path.join(self.folder, p))}
        gone = [p for p in self.present - present if self.known[p][0]]
        stayed = [p for p in self.present & present if not self.known[p][0]]
        self.protected_peak = max(self.protected_peak, sum(
            self.known[p][1] or 0 for p in present if self.known[p][0]))
        self.protected_gone += len(gone)
        if gone:
            self.free_before_gone.append(free)
        if gone and stayed:
            self.while_unprotected += len(gone)
        self.present = present


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 s instead of --seconds")
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    seconds = 150.0 if args.quick else args.seconds
    base = tempfile.mkdtemp(prefix="fault_recordings_full_")
    db, folder = os.path.join(base, "dashcam.db"), os.path.join(base, "recordings")
    ini = os.path.join(base, "run.ini")
    with open(ini, "w") as handle:
        handle.write("[run]\nstatus-interval = 0\n")   # only the status lines off
    with tmpfs(folder, VOLUME):
        total = os.statvfs(folder).f_blocks * os.statvfs(folder).f_frsize
        process = subprocess.Popen(
            [sys.executable, "-m", "dashcam", "run", "--db", db, "--config", ini, "--model",
             default_model_path(), "--duration", str(seconds)],
            env=dict(os.environ, PYTHONPATH=APP), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True)
        watch, ticker = Watch(db, folder), threading.Event()
        while process.poll() is None:
            watch.look()
            ticker.wait(LOOK_S)
        out, err = process.communicate()
        watch.look()
        with StoreReader(db) as reader:
            counts = {t: len(reader.events(types=[t])) for t in
                      ("protected_deleted", "recording_paused", "recording_resumed")}
            summary = json.loads(reader.runs()[-1]["summary"] or "{}")
    retention = summary.get("recording", {}).get("retention", {})
    quota = int(0.8 * total)
    figures = {
        "volume_bytes": total, "seconds": seconds, "exit_code": process.returncode,
        "protected_deleted_while_unprotected_existed": watch.while_unprotected,
        "protected_segments_deleted": watch.protected_gone,
        "protected_deleted_events": counts["protected_deleted"],
        "free_bytes_before_a_protected_deletion_max": max(watch.free_before_gone, default=None),
        "quota_bytes": quota, "usage_peak_bytes": watch.peak,
        "usage_peak_over_quota_bytes": max(0, watch.peak - quota),
        "protected_video_peak_bytes": watch.protected_peak,
        "retention": retention, "segments_recorded": summary.get("recording", {}).get("segments"),
        "recording_paused": counts["recording_paused"],
        "recording_resumed": counts["recording_resumed"], "looks": watch.looks,
        "start_warning": next((line for line in err.splitlines() if "reserve" in line), None),
    }
    print(json.dumps(figures))
    shutil.rmtree(base, ignore_errors=True)
    return 0 if process.returncode == 0 and watch.while_unprotected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
