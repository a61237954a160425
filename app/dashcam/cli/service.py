"""``dashcam service install|uninstall|status``: run the dashcam under systemd, at boot."""

import argparse
import sys

from dashcam.service.install import install, status, uninstall

DESCRIPTION = """\
Install the dashcam as a systemd service that starts at boot, restarts itself
when wedged (a watchdog fed by the pipeline's progress) and exports its
evidence when a USB stick is plugged in: the units, the default configuration
in /etc/dashcam/ (never overwritten), the data folders in /var/lib/dashcam/,
the user dashcam (groups video, gpio, dialout) and the udev rules. Each
subcommand is idempotent; --root DIR works in a staging folder instead of /.
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "service", help="install, remove or check the systemd service",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  dashcam service status\n  sudo dashcam service install --now\n"
               "  dashcam service install --root /tmp/staging")
    commands = parser.add_subparsers(dest="service_command", metavar="SUBCOMMAND")
    for name, help_text, example, func in (
            ("install", "install (or bring up to date) the service and enable it at boot",
             "dashcam service install --root /tmp/staging\n  sudo dashcam service install --now",
             run_install),
            ("uninstall", "remove the service (keeps the configuration, the data and the user)",
             "dashcam service uninstall --root /tmp/staging\n  sudo dashcam service uninstall",
             run_uninstall),
            ("status", "say what is installed and how the service is doing (exit 1 if not well)",
             "dashcam service status", run_status)):
        sub = commands.add_parser(name, help=help_text, description=help_text[0].upper()
                                  + help_text[1:] + ".", epilog="examples:\n  " + example,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--root", metavar="DIR", default="/",
                         help="work under DIR instead of / (a staging folder)")
        if name == "install":
            sub.add_argument("--now", action="store_true",
                             help="also (re)start it now (on a running systemd)")
        sub.set_defaults(func=func)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def show(lines):
    for state, what in lines:
        sys.stdout.write(f"{state:<10} {what}\n")


def run_install(args):
    show(install(args.root, start=args.now))
    return 0


def run_uninstall(args):
    show(uninstall(args.root))
    return 0


def run_status(args):
    lines, ok = status(args.root)
    show(lines)
    return 0 if ok else 1
