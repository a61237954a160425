"""Fault campaign: ``kill -9`` of ``dashcam run`` at random moments, 50 rounds on one store.

The rounds are ``bench/bench_kill9.py``'s with ``--at random``: each run is
killed at a moment drawn from 0.5 to 12 s after its start (the start-up, the
recovery of the last round's file, recording) with the default 5 s segments.
Prints one JSON object of figures: integrity ok per kill, rounds whose indexed
segments all decode (PyAV), seconds of video lost per kill (max, p50: from the
killed run's last recorded frame to the kill), runs closed as interrupted.
Acceptance: integrity ok 50/50, at most 1 s of video lost per kill.

    PYTHONPATH=app python bench/faults/kill9.py [--quick]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_kill9 import campaign  # noqa: E402

ROUNDS, QUICK_ROUNDS = 50, 5
MAX_LOST_S = 1.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds, not {ROUNDS}")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = campaign(QUICK_ROUNDS if args.quick else ROUNDS, seed=args.seed, at="random",
                      segment_seconds=5.0)
    figures = dict(result["figures"], all_checks_ok=result["all_ok"],
                   rounds_failing=result["rounds_failing"], folder=result["folder"])
    figures["accepted"] = (result["all_ok"] and figures["integrity_ok"] +
                           figures["kills_before_the_store_existed"] == figures["kills"]
                           and (figures["video_lost_s_max"] or 0.0) <= MAX_LOST_S)
    print(json.dumps(figures))
    return 0 if figures["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
