"""``dashcam track``: the stored GPS fixes as a GPX 1.1 track."""

import argparse
import os
import sys

from dashcam.cli.options import add_data_options, command_config, command_paths, time_window
from dashcam.errors import DashcamError
from dashcam.export.folder import window_text
from dashcam.export.gpx import gpx_text
from dashcam.store import StoreReader
from dashcam.timestamps import iso_utc

EPILOG = """\
times: ISO-8601 UTC (2024-05-01T12:30:00Z, 2024-05-01) or an age (30s, 15m, 2h, 1d)
Each point has its time, elevation, and speed (m/s) and course (degrees) in Garmin's
TrackPointExtension, as GPX viewers read them. The fixes are those `dashcam run` stored
from [gps] source (at most one a second).

examples:
  dashcam track -o today.gpx --since 1d
  dashcam track --since 2024-05-01T08:00:00Z --until 2024-05-01T09:00:00Z -o drive.gpx
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "track", help="write the GPS track to a GPX file",
        description="Write the GPS fixes in the store, in a time range, as a GPX 1.1 track.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--since", metavar="TIME", help="fixes received at or after TIME")
    parser.add_argument("--until", metavar="TIME", help="fixes received before TIME")
    parser.add_argument("-o", "--out", metavar="OUT.gpx", required=True,
                        help="the GPX file to write (- for standard output)")
    add_data_options(parser, recordings=False)
    parser.set_defaults(func=track)


def track(args, out=None):
    out = out or sys.stdout
    since, until = time_window(args)
    db = command_paths(args, command_config(args)).db
    with StoreReader(db) as reader:
        fixes = reader.fixes(since, until)
    if not fixes:
        raise DashcamError("no GPS fixes {} in {}: was [gps] source set while it ran? "
                           "(`dashcam config show` prints it)".format(
                               window_text(since, until, "now"), db))
    text = gpx_text(fixes)
    if args.out == "-":
        out.write(text)
        return 0
    partial = args.out + ".partial"
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, args.out)
    except OSError as error:
        if os.path.exists(partial):
            os.unlink(partial)
        raise DashcamError(f"cannot write {args.out}: {error.strerror or error}")
    out.write("{}: {} fixes, {} .. {}\n".format(args.out, len(fixes), iso_utc(fixes[0].time),
                                                iso_utc(fixes[-1].time)))
    return 0
