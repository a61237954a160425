"""``dashcam clips``: the events that have a clip, with their windows and segments."""

import argparse
import json
import sys
import time

from dashcam.cli.options import add_data_options, command_config, command_paths
from dashcam.store import StoreReader, list_clips
from dashcam.timestamps import parse_time

ROW = "{:>7} {:<16} {:<9} {:<24} {:<24} {:>4} {:>9} {}\n"
EPILOG = """\
examples:
  dashcam clips
  dashcam clips --since 1h --json
  dashcam clip 42 -o crash.mp4      (then write one of them out)
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "clips", help="list the events that have a protected clip",
        description="List the events whose video is kept as a clip (protected from "
                    "retention): window, segments, bytes, and whether every segment file "
                    "is still there.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", metavar="TIME", help="clips of events that started at or after "
                        "TIME (ISO-8601 or an age: 30s, 15m, 2h, 1d)")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    add_data_options(parser)
    parser.set_defaults(func=clips)


def clips(args, out=None):
    import os

    out = out or sys.stdout
    db, folder = command_paths(args, command_config(args))
    with StoreReader(db) as reader:
        rows = list_clips(reader.db, parse_time(args.since, time.time()) if args.since else None)
    for row in rows:
        paths = row.pop("paths").split("|")
        row["missing"] = sum(1 for p in paths if not os.path.isfile(os.path.join(folder, p)))
    if args.json:
        json.dump(rows, out, indent=2, sort_keys=True)
        out.write("\n")
        return 0
    if not rows:
        sys.stderr.write("no clips\n")
        return 0
    out.write(ROW.format("event", "type", "label", "from", "to", "segs", "bytes", ""))
    for r in rows:
        out.write(ROW.format(r["event_id"], r["type"], r["label"] or "-", r["window_start"],
                             r["window_end"] or "(open)", r["segments"], r["bytes"] or 0,
                             "{} missing".format(r["missing"]) if r["missing"] else ""))
    return 0
