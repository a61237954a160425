"""``dashcam config show``: the effective configuration as an INI file."""

import sys

from dashcam.cli.options import add_command_group
from dashcam.config import load_config


def register(subparsers):
    commands = add_command_group(subparsers, "config", "show the effective configuration",
                                 "Configuration commands.",
                                 "dashcam config show --config dashcam.ini > effective.ini")
    show_parser = commands.add_parser(
        "show", help="print the effective configuration as a valid INI file",
        description="Print defaults merged with --config and --nvinfer-config, every key with its help.",
        epilog="example: dashcam config show --nvinfer-config config_infer_primary_dashcamnet.txt")
    show_parser.add_argument("--config", metavar="INI", help="dashcam configuration file")
    show_parser.add_argument("--nvinfer-config", metavar="FILE", help="DeepStream nvinfer config file")
    show_parser.set_defaults(func=show)


def show(args):
    sys.stdout.write(load_config(args.config, args.nvinfer_config).to_ini())
    return 0
