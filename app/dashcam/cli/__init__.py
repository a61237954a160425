"""The ``dashcam`` command: a thin shell over the library, one module per command.

Each command module has ``register(subparsers)``, which adds its parser and sets
``func`` to a short function taking the parsed arguments and returning an exit
status. Expected failures (``DashcamError``) print one line and exit 2.
"""

import argparse
import importlib
import logging
import sys

from dashcam import __version__
from dashcam.errors import DashcamError

# Order is the order of ``dashcam --help``.
COMMANDS = ("detect", "run", "events", "evaluate", "synth", "config")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dashcam",
        description="Edge dashcam for NVIDIA Jetson: DashCamNet detection, alerts, evidence.",
    )
    parser.add_argument("--version", action="version", version="dashcam " + __version__)
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module("dashcam.cli." + name).register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except DashcamError as error:
        sys.stderr.write("dashcam {}: error: {}\n".format(args.command, error))
        return 2
    except KeyboardInterrupt:
        return 130
