"""Fault: the stick fills mid-export. Prints one JSON object of figures.

    PYTHONPATH=app python bench/faults/stick_full.py [--quick]

A real store with real recordings (libx264 segments and JPEG snapshots written by the
recording feature's encoder and index) is exported with clips to a real tmpfs (mounting it
needs root) that another writer fills, leaving a tenth of the recordings' size, once a third
of the export is written: the outcome (the one-line error), the clips and snapshots complete
and partial on the stick, and the time it took; then the other writer's file is removed
and a second export runs: how many files it reused (their hash read back from the stick),
how many it wrote, its time, and whether ``sha256sum -c`` passes on it.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests"))

from dashcam.export import ExportError, write_export  # noqa: E402
from recorded import recorded_evidence  # noqa: E402
from volumes import fill  # noqa: E402


def on_stick(root):
    """(complete, partial) clip and snapshot files under the stick's dashcam folder."""
    complete = partial = 0
    for folder in ("clips", "snapshots"):
        path = os.path.join(root, folder)
        for name in os.listdir(path) if os.path.isdir(path) else ():
            if name.startswith("."):
                partial += 1
            else:
                complete += 1
    return complete, partial


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 events instead of 24")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print(json.dumps({"skipped": "mounting a tmpfs needs root"}))
        return 0
    folder = tempfile.mkdtemp(prefix="dashcam-fault-")
    stick = os.path.join(folder, "stick")
    os.mkdir(stick)
    figures = {"events": 6 if args.quick else 24}
    try:
        os.mkdir(os.path.join(folder, "data"))
        db_path, recordings, _ = recorded_evidence(os.path.join(folder, "data"),
                                                   events=figures["events"])
        evidence = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in
                       os.walk(recordings) for n in names)
        # room for everything and the export's 16 MiB of slack, so that the check before
        # copying passes and the stick fills only when the other writer takes it
        size_mb = (2 * evidence + os.path.getsize(db_path)) // 2 ** 20 + 40
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", stick],
                       check=True)
        ballast = []

        def another_writer(done, total, what):
            if what == "clips and snapshots" and not ballast and done > total / 3:
                ballast.append(fill(stick, leave=evidence // 10))

        started = time.monotonic()
        try:
            write_export(stick, db_path, recordings, with_clips=True, progress=another_writer,
                         host="bench")
            figures["outcome"] = "completed (the stick did not fill)"
        except ExportError as error:
            figures["outcome"] = str(error)
        figures["first_s"] = round(time.monotonic() - started, 2)
        root = os.path.join(stick, "dashcam-bench")
        figures["complete_files"], figures["partial_files"] = on_stick(root)
        figures["export_folders"] = len([n for n in os.listdir(root) if n[0].isdigit()])
        os.unlink(ballast[0])
        started = time.monotonic()
        second = write_export(stick, db_path, recordings, with_clips=True, host="bench")
        figures["second_s"] = round(time.monotonic() - started, 2)
        figures["second_reused"] = second.skipped
        figures["second_written"] = second.clips + second.snapshots - second.skipped
        figures["second_clips"], figures["second_snapshots"] = second.clips, second.snapshots
        figures["second_manifest_ok"] = subprocess.run(
            ["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=second.folder).returncode == 0
        figures["evidence_mb"] = round(evidence / 1e6, 1)
        figures["stick_mb"] = size_mb
        with open("/proc/loadavg") as handle:
            figures["load"] = handle.read().split()[0]
    finally:
        subprocess.run(["umount", "-l", stick], stderr=subprocess.DEVNULL)
        shutil.rmtree(folder)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
