"""``dashcam clip``: one event's clip as a playable MP4 (remuxed, not re-encoded), stamped."""

import argparse
import sys

from dashcam.cli.options import add_data_options, command_config, command_paths
from dashcam.recording import find_clip, write_clip
from dashcam.store import StoreReader
from dashcam.timestamps import iso_utc

EPILOG = """\
The clip covers [event start - pre-roll, event end + post-roll] ([recording]
clips, pre-roll, post-roll), from the keyframe before its start. An MP4 carries
a subtitle track (VLC, mpv and browsers show it; the video is not touched): the
UTC time, GPS speed and position ("no GPS" where there was no fix) each second,
and each event and alert at its moment. --burn-in re-encodes with that stamp
drawn into the picture, for viewers that show no subtitles.

examples:
  dashcam clip 42 -o crash.mp4
  dashcam clip 42 -o crash-stamped.mp4 --burn-in
  dashcam clip 42 -o /media/usb/crash.mp4 --db /mnt/ssd/dashcam.db
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "clip", help="write an event's clip to an MP4 file",
        description="Join the recorded segments that cover an event into one MP4 file "
                    "(no re-encoding unless --burn-in), trimmed to the event's clip window, "
                    "with the time, speed, position and events as subtitles.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event_id", metavar="EVENT_ID", type=int,
                        help="the event (`dashcam clips` lists those with a clip)")
    parser.add_argument("-o", "--out", metavar="OUT.mp4", required=True,
                        help="the file to write: .mp4, or .ts (MPEG-TS, as recorded; no "
                             "subtitle track)")
    parser.add_argument("--burn-in", action="store_true",
                        help="re-encode with the stamp drawn into the picture (slower)")
    parser.add_argument("--no-stamp", dest="stamp", action="store_false",
                        help="no subtitle track: the video as recorded, nothing added")
    add_data_options(parser)
    parser.set_defaults(func=clip)


def clip(args, out=None):
    out = out or sys.stdout
    db, folder = command_paths(args, command_config(args))
    with StoreReader(db) as reader:
        found = find_clip(reader, args.event_id)
        write_clip(reader, args.event_id, args.out, folder, stamp=args.stamp,
                   burn_in=args.burn_in)
    end = iso_utc(found.window_end) if found.window_end is not None else "open"
    out.write("{}: event {} ({}{}), {} .. {}, {} segments\n".format(
        args.out, args.event_id, found.event["type"],
        " " + found.event["label"] if found.event["label"] else "",
        iso_utc(found.window_start), end, len(found.segments)))
    return 0
