"""Options shared by several commands, added the same way everywhere."""

import argparse
import os


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


def add_service_config_option(parser):
    """``--config`` for commands run beside the installed service (export, doctor): its file
    by default, so that they look at the store and camera the service uses."""
    from dashcam.service import SERVICE_CONFIG

    parser.add_argument("--config", metavar="INI",
                        help="dashcam configuration file (default: {}, the service's, when it "
                             "exists)".format(SERVICE_CONFIG))


def load_service_config(args):
    """The configuration ``add_service_config_option`` asked for."""
    from dashcam.config import load_config
    from dashcam.service import SERVICE_CONFIG

    if args.config:
        return load_config(args.config)
    return load_config(SERVICE_CONFIG if os.path.isfile(SERVICE_CONFIG) else None)


def add_store_options(parser):
    """``--db``, ``--recordings``: where the store and its video are."""
    from dashcam.paths import default_db_path

    parser.add_argument("--db", metavar="PATH", help="the SQLite store (default: [store] path, "
                        "else {})".format(default_db_path()))
    parser.add_argument("--recordings", metavar="DIR", help="the recordings folder (default: "
                        "[recording] path, else recordings/ beside the store)")


def store_paths(args, config):
    """(store path, recordings folder): the options, else the configuration's, else the defaults."""
    from dashcam.paths import default_db_path
    from dashcam.recording import recordings_dir

    db = args.db or config.path(config.store.path) or default_db_path()
    return db, args.recordings or recordings_dir(config, db)


def add_recordings_options(parser):
    """``--db``, ``--recordings``, ``--config``: where the store and its video are."""
    add_store_options(parser)
    parser.add_argument("--config", metavar="INI", help="dashcam configuration file")


def recordings_folder(args):
    """(recordings folder, store path) from the options and the configuration."""
    from dashcam.config import load_config

    db, folder = store_paths(args, load_config(args.config))
    return folder, db
