"""The ``dashcam`` command: a thin shell over the library, one module per command.

Each command module has ``register(subparsers)``, which adds its parser and sets
``func`` to a short function taking the parsed arguments and returning an exit
status. Expected failures (``DashcamError``) print one line and exit 2.
"""

import argparse
import importlib
import logging
import os
import signal
import sys

from dashcam import __version__
from dashcam.errors import DashcamError

# Order is the order of ``dashcam --help``.
COMMANDS = ("detect", "run", "events", "alerts", "clips", "clip", "evaluate", "synth", "config",
            "model", "engine", "calibrate", "export", "service", "doctor")


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


def quiet_libraries(environ=None):
    """Keep OpenCV's and FFmpeg's own log lines (``[ WARN:0@...]``, ``[h264_v4l2m2m @ ...]``)
    off the terminal: the project says what happened in its own words. ``-v`` lets them through.

    OpenCV's level is set through its API (it is loaded by now); FFmpeg's is read
    from the environment when OpenCV's FFmpeg backend first opens a file.
    """
    import cv2

    environ = os.environ if environ is None else environ
    environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")   # AV_LOG_QUIET
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is not None:   # older builds have no such API, and log less anyway
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_libraries()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except DashcamError as error:
        sys.stderr.write(f"dashcam {args.command}: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`dashcam events | head`): stop quietly, as cat does.
        # stdout is pointed at /dev/null so the interpreter's last flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
