"""``dashcam doctor``: what this machine has of what the dashcam needs, and the fixes."""

import argparse
import json
import sys

from dashcam.cli.options import add_data_options, command_config
from dashcam.doctor import FAIL, diagnose, line

DESCRIPTION = """\
Check Python, the OS and JetPack, OpenCV's GStreamer support, the camera,
TensorRT, pycuda and ONNX Runtime, whether built engines match this device,
GPIO and serial, disk space and the recordings quota, the store's integrity
and the service's state. One line per check: ok, warn (this machine does
without it) or fail (the configured dashcam cannot run), with the fix. Exit
status 1 when a check fails.
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "doctor", help="check this machine and explain what is missing",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  dashcam doctor\n  dashcam doctor --json | jq '.[] | "
               "select(.status == \"fail\")'")
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON array")
    add_data_options(parser, config="service")
    parser.set_defaults(func=doctor)


def doctor(args):
    checks = diagnose(command_config(args), args.db, args.recordings)
    if args.json:
        json.dump([c.as_dict() for c in checks], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for check in checks:
            sys.stdout.write(line(check) + "\n")
    return 1 if any(c.status == FAIL for c in checks) else 0
