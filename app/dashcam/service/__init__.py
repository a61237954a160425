"""Running under systemd: sd_notify and the progress watchdog, the control socket that hears
an export finish, and ``dashcam service install|uninstall|status``."""

import logging

from dashcam.service.control import ControlSocketWorker, parse_message, send_message
from dashcam.service.notify import Notifier
from dashcam.service.watchdog import Progress, Watchdog, stalled

log = logging.getLogger(__name__)

# Where the installed service's files live (``service install`` writes them).
SERVICE_CONFIG = "/etc/dashcam/dashcam.ini"
CONTROL_SOCKET = "/run/dashcam/control.sock"

__all__ = ("CONTROL_SOCKET", "ControlSocketWorker", "Notifier", "Progress", "SERVICE_CONFIG",
           "Watchdog", "build_control", "build_watchdog", "parse_message", "send_message",
           "stalled")


def build_watchdog(config, describe=None, environ=None):
    """A ``Watchdog`` when systemd asked for notifications (``$NOTIFY_SOCKET``), else None."""
    notifier = Notifier.from_environ(environ)
    if notifier is None:
        return None
    return Watchdog(notifier, config.service.camera_restart, describe)


def build_control(config, submit, wall_clock):
    """The control socket worker for ``[service] control-socket``, in a list (empty when
    unset, or when the socket cannot be bound: the dashcam runs on without it)."""
    path = config.path(config.service.control_socket)
    if not path:
        return []
    try:
        return [ControlSocketWorker(path, submit, wall_clock)]
    except OSError as error:
        log.warning("[service] control-socket %s cannot be bound (%s): exports will not be "
                    "signalled on the LED or serial line", path, error)
        return []
