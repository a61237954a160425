"""Options shared by several commands, added the same way everywhere."""

import argparse
import os
import time


def positive_seconds(text):
    """An argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def add_model_options(parser):
    """``--model``, ``--config``, ``--nvinfer-config``: what builds a detector."""
    parser.add_argument("--model", metavar="ONNX",
                        help="ONNX model with DashCamNet's contract (default: [property] onnx-file, "
                             "else the bundled stand-in model)")
    add_config_options(parser)


def add_config_options(parser):
    """``--config``, ``--nvinfer-config``: the configuration files."""
    parser.add_argument("--config", metavar="INI", help="dashcam configuration file")
    parser.add_argument("--nvinfer-config", metavar="FILE",
                        help="DeepStream nvinfer config (e.g. config_infer_primary_dashcamnet.txt); "
                             "replaces the post-processing settings")


def add_onnx_option(parser):
    """``--onnx``: the model that engines are built from."""
    parser.add_argument("--onnx", metavar="M", help="ONNX model (default: [property] onnx-file, "
                                                    "else the bundled stand-in model)")


def add_command_group(subparsers, name, help, description, example):
    """A command whose work is in subcommands (``dashcam config show``); returns their subparsers.

    Given no subcommand, it prints its help and exits 2.
    """
    parser = subparsers.add_parser(name, help=help, description=description,
                                   epilog="example: " + example)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    return parser.add_subparsers(dest=name + "_command", metavar="SUBCOMMAND")


def add_data_options(parser, recordings=True, config="file"):
    """Where the store and its recordings are, the same in every command: ``--db``,
    ``--recordings`` (with ``recordings``: commands that use the video) and ``--config``
    (``config="service"``: the installed service's file by default, for commands run beside
    it; None: the command adds it with its model options). ``command_config`` loads the
    configuration, ``command_paths`` finds the paths (``paths.data_paths``)."""
    from dashcam.paths import default_db_path
    from dashcam.service import SERVICE_CONFIG

    if config == "service":
        parser.add_argument("--config", metavar="INI",
                            help="dashcam configuration file (default: {}, the service's, when "
                                 "it exists)".format(SERVICE_CONFIG))
        parser.set_defaults(config_default=SERVICE_CONFIG)
    elif config:
        parser.add_argument("--config", metavar="INI", help="dashcam configuration file")
    parser.add_argument("--db", metavar="PATH", help="the SQLite store (default: [store] path, "
                        "else {})".format(default_db_path()))
    if recordings:
        parser.add_argument("--recordings", metavar="DIR", help="the recordings folder (default: "
                            "[recording] path, else recordings/ beside the store)")


def command_config(args):
    """The configuration a command's ``--config`` (and ``--nvinfer-config``) name, else the
    service's file for commands run beside it (``add_data_options``), when it exists."""
    from dashcam.config import load_config

    path = args.config
    default = getattr(args, "config_default", None)
    if not path and default and os.path.isfile(default):
        path = default
    return load_config(path, getattr(args, "nvinfer_config", None))


def command_paths(args, config):
    """``paths.DataPaths(db, recordings)`` for the command's ``--db`` / ``--recordings``."""
    from dashcam.paths import data_paths

    return data_paths(config, args.db, getattr(args, "recordings", None))


def time_window(args):
    """``(since, until)`` of ``--since`` / ``--until`` (UTC epoch seconds, None where not
    given), both read against one "now"."""
    from dashcam.timestamps import parse_time

    now = time.time()
    return tuple(parse_time(text, now) if text else None for text in (args.since, args.until))
