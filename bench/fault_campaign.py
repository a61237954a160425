"""The fault campaign: every fault under ``bench/faults/`` against the real ``dashcam run``.

Each fault is a script of its own (``bench/faults/NAME.py``) that provokes one fault
for real (a full volume on a tmpfs, kill -9, a hostile stick, a flooded control
socket, two stores on one folder) and prints one JSON object of figures. This
runs them one after the other, each in its own process (faults mount tmpfs and
send signals: none may leak into the next), and prints one JSON object
``{fault: figures}``; a fault that fails or prints no JSON is reported with its
exit status and the tail of its output. Mounting needs root (CI and the
development machines run as root).

    PYTHONPATH=app python bench/fault_campaign.py [--quick] [--only NAME ...] [--out FILE]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

FAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults")


def faults():
    """``{name: script}`` of every fault script, in name order."""
    return {os.path.splitext(os.path.basename(path))[0]: path
            for path in sorted(glob.glob(os.path.join(FAULTS, "*.py")))}


def run_fault(script, quick):
    """One fault's figures (its JSON), with how long it took; or its exit status and output."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, script] + (["--quick"] if quick else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    took = round(time.monotonic() - started, 1)
    try:
        figures = json.loads(result.stdout)
    except ValueError:
        return {"status": result.returncode, "seconds": took,
                "error": (result.stdout + result.stderr)[-2000:]}
    figures = figures if isinstance(figures, dict) else {"figures": figures}
    figures.update(status=result.returncode, seconds=took)
    return figures


def main(argv=None):
    known = faults()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each fault's short form")
    parser.add_argument("--only", nargs="+", choices=sorted(known), help="these faults only")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    report = {}
    for name in args.only or sorted(known):
        sys.stderr.write(f"fault {name} ...\n")
        report[name] = run_fault(known[name], args.quick)
        sys.stderr.write("fault {}: exit {} in {} s\n".format(name, report[name]["status"],
                                                              report[name]["seconds"]))
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 1 if any(r["status"] for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
