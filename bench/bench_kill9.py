"""``kill -9`` during recording, ``--times`` (10) in a row, on one store and one recordings folder.

Each round starts ``dashcam run`` (synthetic road, stand-in model) and kills it
with SIGKILL (no handler runs, as with a power cut of the process): with
``--at segments`` once it has indexed a few segments and a random fraction of
a segment more (1 s segments); with ``--at random`` at a moment drawn from
``--window`` seconds after the start, so kills land in the start-up, the
recovery of the last round's file and the recording alike. Then it checks:
``PRAGMA integrity_check`` is ``ok``; every indexed segment decodes end to end
with PyAV, frame count as indexed; at most two files more are not indexed
(the segment being written, and the one closed just before it, whose row the
logger commits within a second). A later start must recover or quarantine each such
file, with an event: the next round's, unless it was killed before its
recovery ran; a last short run checks that every one was. At the end, for each
killed run: the seconds from its last recorded frame (the end of its last
segment, recovered ones included) to the kill, and whether the next start
closed it as interrupted.

    PYTHONPATH=app python bench/bench_kill9.py [--times 10] [--at segments|random]
"""

import argparse
import json
import os
import random
import signal
import statistics
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
from dashcam.errors import StoreError  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402
from dashcam.timestamps import parse_iso  # noqa: E402

NO_STORE = "no store yet"


def start(db, size, duration=None, segment_seconds=1.0):
    env = dict(os.environ, PYTHONPATH=APP)
    ini = os.path.join(os.path.dirname(db), "run.ini")
    with open(ini, "w") as handle:
        handle.write(f"[run]\nstatus-interval = 0\n[recording]\nsegment-seconds = {segment_seconds:g}\n")
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


def newest_run(db):
    try:
        with StoreReader(db) as reader:
            return reader.conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    except Exception:
        return None


def check(db, folder):
    """(integrity, indexed segments all decoding, unindexed files, recovered/quarantined)."""
    rows = indexed(db)
    try:
        with StoreReader(db) as reader:
            integrity = reader.integrity_check()
            handled = {e["data"]["path"] for e in reader.events(
                types=["segment_recovered", "segment_quarantined"])}
    except StoreError:   # killed before the store was made: nothing to check yet
        return NO_STORE, True, set(), set()
    decoding = 0
    for row in rows:
        with av.open(os.path.join(folder, row["path"])) as container:
            decoding += sum(1 for _ in container.decode(video=0)) == row["frames"]
    files = {os.path.relpath(os.path.join(r, n), folder) for r, d, names in os.walk(folder)
                if not os.path.relpath(r, folder).startswith("quarantine")
                for n in names if n.endswith(".ts")}
    return integrity, decoding == len(rows), files - {r["path"] for r in rows}, handled


def lost_per_kill(db, kills):
    """``{run_id: seconds}`` from each killed run's last recorded frame to its kill (a run
    killed before its first frame is left out), and the ids of the runs closed as
    interrupted."""
    lost = {}
    with StoreReader(db) as reader:
        for run_id, killed_at in kills.items():
            end = reader.conn.execute("SELECT max(ended_at) FROM segments WHERE run_id = ?",
                                      (run_id,)).fetchone()[0]
            first = reader.conn.execute("SELECT min(ts) FROM detections WHERE run_id = ?",
                                        (run_id,)).fetchone()[0]
            if end is not None:
                lost[run_id] = max(0.0, killed_at - parse_iso(end))
            elif first is not None:   # frames went through, yet no video was kept
                lost[run_id] = killed_at - parse_iso(first)
        interrupted = {r["id"] for r in reader.runs()
                       if r["summary"] and json.loads(r["summary"]).get("crashed")}
    return lost, interrupted


def round_ok(result):
    return (result["integrity"] in ("ok", NO_STORE) and result["indexed_all_decode"]
            and result["new_unindexed_after_kill"] <= 2)


def campaign(times, size="640x360", seed=1, at="segments", window=(0.5, 12.0),
             segment_seconds=1.0):
    """Run the rounds; the result dict (``rounds``, ``figures``, ``all_ok``)."""
    rng = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="bench_kill9_")
    db = os.path.join(folder, "dashcam.db")
    recordings = os.path.join(folder, "recordings")
    rounds, left_over, seen, pause, kills = [], set(), set(), threading.Event(), {}
    for round_no in range(times):
        before = newest_run(db)
        process = start(db, size, segment_seconds=segment_seconds)
        if at == "random":
            pause.wait(rng.uniform(*window))
        else:
            want = len(indexed(db)) + 3
            deadline = time.monotonic() + 60
            while len(indexed(db)) < want and time.monotonic() < deadline:
                pause.wait(0.1)
            pause.wait(rng.uniform(0.0, segment_seconds))
        killed_at = time.time()
        process.send_signal(signal.SIGKILL)
        process.wait()
        run_id = newest_run(db)
        if run_id != before:   # else it was killed before its run's row was written
            kills[run_id] = killed_at
        integrity, decoding, unindexed, handled = check(db, recordings)
        rounds.append({"round": round_no + 1, "integrity": integrity,
                       "indexed_all_decode": decoding,
                       "new_unindexed_after_kill": len(unindexed - left_over),
                       "previous_left_over_handled": left_over <= handled})
        left_over = unindexed - handled
        seen |= unindexed
    final = start(db, size, duration=1, segment_seconds=segment_seconds)
    final.wait()
    integrity, decoding, unindexed, handled = check(db, recordings)
    lost, interrupted = lost_per_kill(db, kills)
    seconds = sorted(lost.values())
    figures = {
        "kills": times, "integrity_ok": sum(r["integrity"] == "ok" for r in rounds),
        "kills_before_the_store_existed": sum(r["integrity"] == NO_STORE for r in rounds),
        "rounds_all_segments_decode": sum(r["indexed_all_decode"] for r in rounds),
        "segments_indexed": len(indexed(db)),
        "kills_before_the_run_began": times - len(kills),
        "runs_closed_as_interrupted": len(interrupted & set(kills)),
        "runs_killed_before_their_first_frame": len(kills) - len(lost),
        "video_lost_s_max": round(seconds[-1], 3) if seconds else None,
        "video_lost_s_p50": round(statistics.median(seconds), 3) if seconds else None,
        "left_overs": len(seen), "left_overs_all_handled_by_the_end": seen <= handled,
        "left_overs_waiting_past_the_next_start": sum(not r["previous_left_over_handled"]
                                                      for r in rounds),
    }
    result = {"times": times, "at": at, "rounds": rounds, "figures": figures,
              "after_last_restart": {"integrity": integrity, "indexed_all_decode": decoding,
                                     "unindexed": len(unindexed)},
              "rounds_failing": [r["round"] for r in rounds if not round_ok(r)],
              "all_ok": all(round_ok(r) for r in rounds) and integrity == "ok" and decoding
              and seen <= handled and not unindexed, "folder": folder}
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--at", choices=("segments", "random"), default="segments")
    args = parser.parse_args()
    result = campaign(args.times, args.size, args.seed, args.at)
    print(json.dumps(result, indent=2))
    return 0 if result["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
