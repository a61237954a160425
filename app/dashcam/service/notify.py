"""sd_notify without a dependency: READY, STATUS, WATCHDOG and STOPPING datagrams to systemd.

A ``Type=notify`` service finds the path of systemd's datagram socket in
``$NOTIFY_SOCKET`` (a leading ``@`` names Linux's abstract namespace) and,
under ``WatchdogSec=``, the watchdog timeout in ``$WATCHDOG_USEC`` (meant for
the process in ``$WATCHDOG_PID`` when that is set). A message is one datagram
of ``KEY=value`` lines (sd_notify(3)); systemd reads it and never answers.
"""

import logging
import os
import socket

log = logging.getLogger(__name__)

READY = "READY=1"
WATCHDOG = "WATCHDOG=1"
STOPPING = "STOPPING=1"
# How much more start-up time each keep-alive asks for: four of BuildProgress's 15 s lines.
EXTEND_S = 60.0


def status(text):
    """A STATUS message: one line (newlines would start new keys), as ``systemctl status`` shows it."""
    return "STATUS=" + " ".join(str(text).split())


def extend_timeout(seconds):
    """EXTEND_TIMEOUT_USEC (systemd 236+): the start (or stop) may take ``seconds`` more from
    now; systemd fails it only when no new one comes within that time."""
    return "EXTEND_TIMEOUT_USEC={}".format(int(seconds * 1e6))


class Notifier:
    """Sends messages to the socket at ``address``; ``watchdog_s`` is the watchdog timeout
    in seconds (None without ``WatchdogSec=``).

    Sending never raises: a notify socket that is gone (systemd restarting)
    costs that message only, and is logged once.
    """

    def __init__(self, address, watchdog_s=None):
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = watchdog_s
        self.sent = 0
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._failed = False

    @classmethod
    def from_environ(cls, environ=None, pid=None):
        """The notifier systemd asked for in ``environ`` (default ``os.environ``), or None."""
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET")
        if not address or not (address.startswith("/") or address.startswith("@")):
            return None
        watchdog_s = None
        watchdog_pid = environ.get("WATCHDOG_PID")
        if watchdog_pid is None or watchdog_pid == str(os.getpid() if pid is None else pid):
            try:
                watchdog_s = int(environ.get("WATCHDOG_USEC", "")) / 1e6 or None
            except ValueError:
                watchdog_s = None
        return cls(address, watchdog_s)

    def send(self, *lines):
        """Send ``lines`` (``READY``, ``status(text)``, ...) as one message; True if it left."""
        try:
            self._socket.sendto("\n".join(lines).encode("utf-8"), self.address)
        except OSError as error:
            if not self._failed:
                self._failed = True
                log.warning("cannot notify systemd at %s: %s", self.address.lstrip("\0"), error)
            return False
        self.sent += 1
        return True

    def close(self):
        self._socket.close()


class StartExtender:
    """A ``keep_alive`` for long work before READY (an engine build): each call asks systemd
    for ``EXTEND_S`` more seconds of start-up, so ``TimeoutStartSec=`` need not cover the
    longest build. Outside systemd (no ``$NOTIFY_SOCKET``) a call does nothing."""

    def __init__(self, environ=None, extend_s=EXTEND_S):
        self.notifier = Notifier.from_environ(environ)
        self.extend_s = extend_s

    def __call__(self):
        if self.notifier is not None:
            self.notifier.send(extend_timeout(self.extend_s))

    def close(self):
        if self.notifier is not None:
            self.notifier.close()
