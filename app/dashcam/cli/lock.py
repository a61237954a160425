"""``dashcam lock``: keep the clip of this moment, as the lock button does."""

import argparse
import sys

from dashcam import events as ev
from dashcam.cli.options import command_config
from dashcam.errors import DashcamError
from dashcam.service import SERVICE_CONFIG, send_message

DESCRIPTION = """\
Tell the running service to keep the clip around this moment: a manual_lock
event, whose clip is protected from retention like an alert's ([recording]
clips, pre-roll and post-roll), acknowledged on the LED (three quick blinks)
and the serial line ($PDCAM,SIG,...,manual_lock). It goes through the
service's control socket ([service] control-socket), which hears only root
and the service's own user or group.
"""

EPILOG = """\
examples:
  dashcam lock
  sudo dashcam lock --note "van cut in at the junction"
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "lock", help="keep the clip of this moment (as the lock button does)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--note", metavar="TEXT", help="a note kept with the event (300 "
                        "characters at most)")
    parser.add_argument("--socket", metavar="PATH", help="the service's control socket "
                        "(default: [service] control-socket of --config)")
    parser.add_argument("--config", metavar="INI", help="dashcam configuration file (default: "
                        "{}, the service's, when it exists)".format(SERVICE_CONFIG))
    parser.set_defaults(func=lock, config_default=SERVICE_CONFIG)


def lock(args):
    path = args.socket
    if not path:
        config = command_config(args)
        path = config.path(config.service.control_socket)
    if not path:
        raise DashcamError("no control socket to reach the service: set [service] "
                           "control-socket (the installed service's is /run/dashcam/control.sock)"
                           " or pass --socket PATH")
    message = {"type": ev.MANUAL_LOCK}
    if args.note:
        message["note"] = args.note
    if not send_message(path, message):
        raise DashcamError(f"no dashcam service listens on {path} (is it running? as root or "
                           "the service's group?): nothing was locked")
    sys.stdout.write(f"locked: the service keeps this moment's clip ({path})\n")
    return 0
