"""The ``dashcam`` command: a thin shell over the library, one module per command.

Each command module has ``register(subparsers)``, which adds its parser and sets
``func`` to a short function taking the parsed arguments and returning an exit
status. Expected failures (``DashcamError``) print one line and exit 2.
"""

import argparse
import difflib
import importlib
import logging
import os
import signal
import sys

from dashcam import __version__
from dashcam.errors import DashcamError

# Order is the order of ``dashcam --help``.
COMMANDS = ("detect", "run", "events", "alerts", "clips", "clip", "track", "evaluate", "synth",
            "config", "model", "engine", "calibrate", "export", "lock", "service", "fleet", "doctor")


class Parser(argparse.ArgumentParser):
    """argparse's parser, but each command reports the options it does not know itself:
    with its own usage (``dashcam run``'s, not ``dashcam``'s) and the closest option it
    has (``--duraton``: did you mean ``--duration``?). Exit status 2, as argparse's.

    A command's parser is called through ``parse_known_args`` by its parent's
    subparsers action, which would hand the leftovers up to ``dashcam``'s parser;
    reporting them here, where the options are known, is what tells the command.
    The hint goes on any error of the parser (a misspelt required option shows as
    "the following arguments are required"). Subcommands' parsers are of this class
    too (argparse's default).
    """

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: " + " ".join(extras))
        return parsed, extras

    def error(self, message):
        super().error(message + did_you_mean(getattr(self, "_given", ()),
                                             self._option_string_actions))


def did_you_mean(given, options):
    """``"; did you mean --duration?"`` for the long options in ``given`` (``--duraton 5``,
    ``--duraton=5``) that are not ``options`` nor a prefix of one but close to one; else ``""``."""
    longs = [o for o in options if o.startswith("--")]
    hints = []
    for arg in given:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if name.startswith("--") and not any(o.startswith(name) for o in longs):
            close = difflib.get_close_matches(name, longs, 1)
            if close:
                hints.append((name, close[0]))
    if not hints:
        return ""
    if len(hints) == 1:
        return f"; did you mean {hints[0][1]}?"
    return "; did you mean {}?".format(", ".join(f"{right} (for {wrong})" for wrong, right in hints))


def build_parser():
    parser = Parser(
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
