"""``dashcam export``: hand the evidence over on a USB stick."""

import argparse
import sys

from dashcam.cli.options import add_data_options, command_config, command_paths, time_window
from dashcam.cli.progress import terminal_progress
from dashcam.export.files import human_bytes
from dashcam.export.usb import hand_over, is_block_device


DESCRIPTION = """\
Export the store (a consistent snapshot, taken while the service keeps
writing), its events and alerts as CSV and JSON Lines, and, with --with-clips,
each event's protected clip and its snapshot, into DEST/dashcam-<host>/<UTC
time>/ with MANIFEST.sha256 and SUMMARY.txt. The folder appears only when
complete; files already on the stick, unchanged, are not copied again. DEST is
a folder, or a stick's device, which is then mounted, exported to, synced and
unmounted (what the udev rule does when a stick is plugged in). The running
service is told when it is done ([service] control-socket), and signals it on
the LED and the serial line.
"""

EPILOG = """\
times: ISO-8601 UTC (2024-05-01T12:30:00Z, 2024-05-01) or an age (30s, 15m, 2h, 1d)

examples:
  dashcam export /media/usb --since 1d
  sudo dashcam export /dev/sdb1 --with-clips
  dashcam export /mnt/stick --db /var/lib/dashcam/dashcam.db --since 2024-05-01 --until 2024-05-02
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export the evidence to a USB stick", description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", metavar="DEST", help="the stick: its mounted folder, or its "
                        "device (/dev/sdb1)")
    parser.add_argument("--since", metavar="TIME", help="only what happened at or after TIME")
    parser.add_argument("--until", metavar="TIME", help="only what happened before TIME")
    parser.add_argument("--with-clips", action="store_true",
                        help="also each event's protected clip, joined into one MP4")
    add_data_options(parser, config="service")
    parser.set_defaults(func=export)


def export(args):
    config = command_config(args)
    since, until = time_window(args)
    db_path, recordings = command_paths(args, config)
    with terminal_progress(human_bytes) as show:
        result, signalled = hand_over(args.dest, db_path, recordings, since, until,
                                      args.with_clips, config.path(config.service.control_socket),
                                      progress=show)
    for note in result.notes:
        sys.stderr.write(f"dashcam export: note: {note}\n")
    sys.stdout.write(result.summary)
    sys.stdout.write("-> {}{}{}\n".format(
        result.folder, " (unmounted: the stick can be pulled)" if is_block_device(args.dest)
        else "", "; the service signals done" if signalled else ""))
    return 0
