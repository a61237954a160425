"""``dashcam clip``: one event's clip as a playable MP4 (remuxed, not re-encoded)."""

import argparse
import sys

from dashcam.cli.options import add_data_options, command_config, command_paths
from dashcam.recording import find_clip, write_clip
from dashcam.store import StoreReader
from dashcam.timestamps import iso_utc

EPILOG = """\
The clip covers [event start - pre-roll, event end + post-roll] ([recording]
clips, pre-roll, post-roll), from the keyframe before its start.

examples:
  dashcam clip 42 -o crash.mp4
  dashcam clip 42 -o /media/usb/crash.mp4 --db /mnt/ssd/dashcam.db
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "clip", help="write an event's clip to an MP4 file",
        description="Join the recorded segments that cover an event into one MP4 file "
                    "(no re-encoding), trimmed to the event's clip window.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event_id", metavar="EVENT_ID", type=int,
                        help="the event (`dashcam clips` lists those with a clip)")
    parser.add_argument("-o", "--out", metavar="OUT.mp4", required=True,
                        help="the file to write: .mp4, or .ts (MPEG-TS, as recorded)")
    add_data_options(parser)
    parser.set_defaults(func=clip)


def clip(args, out=None):
    out = out or sys.stdout
    db, folder = command_paths(args, command_config(args))
    with StoreReader(db) as reader:
        found = find_clip(reader, args.event_id)
        write_clip(reader, args.event_id, args.out, folder)
    end = iso_utc(found.window_end) if found.window_end is not None else "open"
    out.write("{}: event {} ({}{}), {} .. {}, {} segments\n".format(
        args.out, args.event_id, found.event["type"],
        " " + found.event["label"] if found.event["label"] else "",
        iso_utc(found.window_start), end, len(found.segments)))
    return 0
