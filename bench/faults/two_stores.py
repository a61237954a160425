"""Fault campaign: two stores on one recordings folder (``--db a.db``, then ``--db b.db``).

Both stores sit in one folder, so both default to the ``recordings/`` beside
them. Store a records (1 s segments) and is killed with SIGKILL, leaving the
segment it was writing unindexed, the file the old recovery of another store
cut and took. Store b is started while a runs, then after the kill; every
file under the folder is fingerprinted (SHA-256 and mtime) before and after.
Then a starts again and must recover its own file, keeping the bytes it cuts.
Prints one JSON object of figures: b's exit codes and line, files of a
touched by b (must be 0), files b added to the folder, a's recovery.

    PYTHONPATH=app python bench/faults/two_stores.py [--quick]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
sys.path[:0] = [APP, os.path.join(ROOT, "tests")]

from dashcam.errors import StoreError  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402
from recorded import fingerprints  # noqa: E402


def run(base, db, *extra, wait=True):
    command = [sys.executable, "-m", "dashcam", "run", "--db", os.path.join(base, db),
               "--config", os.path.join(base, "run.ini"), "--model", default_model_path(),
               "--source", "synthetic://?seed=3&width=640&height=360"] + list(extra)
    process = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=APP),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               universal_newlines=True)
    if wait:
        _, err = process.communicate(timeout=300)
        return process.returncode, err.strip().splitlines()
    return process


def indexed(db):
    try:
        with StoreReader(db) as reader:
            return {r[0] for r in reader.conn.execute("SELECT path FROM segments")}
    except StoreError:
        return set()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs of b and a")
    args = parser.parse_args()
    seconds = "1" if args.quick else "4"
    base = tempfile.mkdtemp(prefix="fault_two_stores_")
    folder, a_db = os.path.join(base, "recordings"), os.path.join(base, "a.db")
    with open(os.path.join(base, "run.ini"), "w") as handle:
        handle.write("[run]\nstatus-interval = 0\n[recording]\nsegment-seconds = 1\n")
    a = run(base, "a.db", wait=False)
    ticker, deadline = threading.Event(), time.monotonic() + 120
    while len(indexed(a_db)) < 3 and time.monotonic() < deadline:
        ticker.wait(0.1)
    during, during_lines = run(base, "b.db", "--duration", seconds)
    a.send_signal(signal.SIGKILL)
    a.wait()
    before = fingerprints(folder)
    left_over = sorted(p for p in before if p.endswith(".ts") and p not in indexed(a_db))
    originals = {}
    for path in left_over:
        with open(os.path.join(folder, path), "rb") as handle:
            originals[path] = handle.read()
    after_code, after_lines = run(base, "b.db", "--duration", seconds)
    after = fingerprints(folder)
    touched = sorted(p for p in before if after.get(p) != before[p])
    added = sorted(set(after) - set(before))
    b_segments = len(indexed(os.path.join(base, "b.db")))
    own_code, _ = run(base, "b.db", "--duration", seconds, "--recordings",
                      os.path.join(base, "recordings-b"))
    again_code, _ = run(base, "a.db", "--duration", seconds)
    with StoreReader(a_db) as reader:
        handled = {e["data"]["path"]: e["data"] for e in reader.events(
            types=["segment_recovered", "segment_quarantined"])}
    kept = []
    for path in left_over:
        data = handled.get(path, {})
        if data.get("kept"):
            with open(os.path.join(folder, path), "rb") as cut, \
                    open(os.path.join(folder, data["kept"]), "rb") as tail:
                kept.append(cut.read() + tail.read() == originals[path])
    figures = {
        "b_while_a_runs_exit": during, "b_after_a_was_killed_exit": after_code,
        "b_line": after_lines[-1] if after_lines else None,
        "b_segments_indexed": b_segments, "files_of_a": len(before),
        "files_of_a_touched_by_b": len(touched), "files_added_by_b": len(added),
        "a_left_over_files": len(left_over),
        "a_left_over_recovered_by_a": set(left_over) <= set(handled),
        "cut_tails_kept_whole": sum(kept), "cut_tails": len(kept),
        "b_with_its_own_folder_exit": own_code, "a_again_exit": again_code,
        "b_while_a_runs_line": during_lines[-1] if during_lines else None,
    }
    print(json.dumps(figures))
    shutil.rmtree(base, ignore_errors=True)
    ok = (figures["files_of_a_touched_by_b"] == 0 and not added and during == after_code == 2
          and own_code == again_code == 0 and all(kept))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
