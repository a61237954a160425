"""``kill -9`` during recording, ``--times`` (10) in a row, on one store and one recordings folder.

Each round starts ``dashcam run`` (synthetic road, stand-in model, 1 s
segments), waits until it has indexed a few segments and a random fraction
of a segment more, and kills it with SIGKILL (no handler runs, as with a
power cut of the process). Then it checks: ``PRAGMA integrity_check`` is
``ok``; every indexed segment decodes end to end with PyAV, frame count as
indexed; at most one file (the segment being written) is not indexed. The
next round's start must recover or quarantine that file, with an event; a
last short run checks the last round's.

    PYTHONPATH=app python bench/bench_kill9.py [--times 10] [--size 640x360]
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "app")
sys.path.insert(0, APP)

import av  # noqa: E402

from dashcam.paths import default_model_path  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402


def start(db, size, duration=None):
    env = dict(os.environ, PYTHONPATH=APP)
    ini = os.path.join(os.path.dirname(db), "run.ini")
    with open(ini, "w") as handle:
        handle.write("[run]\nstatus-interval = 0\n[recording]\nsegment-seconds = 1\n")
    width, height = size.split("x")
    command = [sys.executable, "-m", "dashcam", "run", "--db", db, "--config", ini,
               "--model", default_model_path(), "--source",
               f"synthetic://?seed=9&width={width}&height={height}"]
    if duration:
        command += ["--duration", str(duration)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def indexed(db):
    try:
        with StoreReader(db) as reader:
            return list(reader.db.query("SELECT path, frames FROM segments"))
    except Exception:   # the store may not exist yet
        return []


def check(db, folder):
    """(integrity, indexed segments all decoding, unindexed files, recovered/quarantined)."""
    rows = indexed(db)
    with StoreReader(db) as reader:
        integrity = reader.integrity_check()
        handled = {e["data"]["path"] for e in reader.events(
            types=["segment_recovered", "segment_quarantined"])}
    decoding = 0
    for row in rows:
        with av.open(os.path.join(folder, row["path"])) as container:
            decoding += sum(1 for _ in container.decode(video=0)) == row["frames"]
    files = {os.path.relpath(os.path.join(r, n), folder) for r, d, names in os.walk(folder)
                if not os.path.relpath(r, folder).startswith("quarantine")
                for n in names if n.endswith(".ts")}
    return integrity, decoding == len(rows), files - {r["path"] for r in rows}, handled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = tempfile.mkdtemp(prefix="bench_kill9_")
    db = os.path.join(folder, "dashcam.db")
    recordings = os.path.join(folder, "recordings")
    rounds, left_over, pause = [], set(), threading.Event()
    for round_no in range(args.times):
        process = start(db, args.size)
        want = len(indexed(db)) + 3
        deadline = time.monotonic() + 60
        while len(indexed(db)) < want and time.monotonic() < deadline:
            pause.wait(0.1)
        pause.wait(rng.uniform(0.0, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        integrity, decoding, unindexed, handled = check(db, recordings)
        rounds.append({"round": round_no + 1, "integrity": integrity,
                       "indexed_all_decode": decoding, "unindexed_after_kill": len(unindexed),
                       "previous_left_over_handled": left_over <= handled})
        left_over = unindexed
    final = start(db, args.size, duration=1)
    final.wait()
    integrity, decoding, unindexed, handled = check(db, recordings)
    result = {"times": args.times, "rounds": rounds,
              "after_last_restart": {"integrity": integrity, "indexed_all_decode": decoding,
                                     "last_left_over_handled": left_over <= handled},
              "all_ok": all(r["integrity"] == "ok" and r["indexed_all_decode"] and
                            r["unindexed_after_kill"] <= 1 and r["previous_left_over_handled"]
                            for r in rounds) and integrity == "ok" and decoding
              and left_over <= handled,
              "segments_indexed": len(indexed(db)), "folder": folder}
    print(json.dumps(result, indent=2))
    return 0 if result["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
