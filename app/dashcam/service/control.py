"""The running service's control socket: how another process tells it that an export finished.

The service owns the LED and the serial line, so ``dashcam export`` (its own
process, started by udev) cannot signal on them. It sends one datagram to
the socket that the service binds at ``[service] control-socket``
(``/run/dashcam/control.sock`` when installed): a JSON object such as
``{"type": "export_finished", "ok": true, "folder": "...", "files": 12,
"bytes": 734003200}``. The service turns it into an ``export_finished`` event
through the event logger, like any other event, and the alert sinks react
to that committed event. Only the fields below pass, each bounded, so a
stray or hostile datagram costs a warning at most.
"""

import errno
import json
import logging
import os
import socket
import stat
import time

from dashcam import events as ev
from dashcam.worker import Throttled, Worker

log = logging.getLogger(__name__)

MAX_DATAGRAM = 4096
FIELDS = {"folder": str, "device": str, "error": str, "files": int, "bytes": int,
          "skipped": int, "clips": int}
MAX_TEXT = 300


def parse_message(data, t_utc):
    """The event a control datagram stands for; ValueError (with the reason) if it is none."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not a JSON object")
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    if message.get("type") != ev.EXPORT_FINISHED:
        raise ValueError("unknown type {!r}".format(message.get("type")))
    fields = {}
    for key, kind in FIELDS.items():
        value = message.get(key)
        if value is None:
            continue
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"{key} must be a count")
        fields[key] = value if kind is int else str(value)[:MAX_TEXT]
    return ev.export_finished(t_utc, message.get("ok") is True, fields)


def send_message(path, message):
    """Send ``message`` (a dict) to the control socket at ``path``; False when no service listens."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.sendto(json.dumps(message, sort_keys=True).encode("utf-8"), path)
        return True
    except OSError as error:
        log.info("no service listening on %s (%s): nothing signalled", path, error)
        return False
    finally:
        sock.close()


def _remove_stale(path):
    """Unlink ``path`` if it is a socket that nobody listens on (a killed run's)."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return
    except OSError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "another process listens on it")


class ControlSocketWorker(Worker):
    """Binds a datagram socket at ``path`` and hands each valid message's event to ``submit``.

    The socket is bound here, so a path that cannot be used fails at build
    time (``OSError``), not in the thread. A stale socket file from a killed
    run is replaced; any other file at ``path`` is left alone (the bind fails).
    The socket's mode is 0660: the service's group and root may write to it.
    """

    name = "control-socket"

    def __init__(self, path, submit, wall_clock=time.time, clock=time.monotonic):
        Worker.__init__(self)
        self.path = path
        self.submit = submit
        self.wall_clock = wall_clock
        self.received = self.refused = 0
        self.report = Throttled(log, clock=clock)
        _remove_stale(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(path)
            os.chmod(path, 0o660)
        except BaseException:
            self.sock.close()
            raise

    def wake(self):
        try:
            self.sock.sendto(b"", self.path)   # unblocks recv at once
        except OSError:
            pass

    def run(self):
        try:
            while not self.stopping:
                try:
                    data = self.sock.recv(MAX_DATAGRAM)
                except OSError as error:
                    self.report("recv", logging.WARNING, "control socket %s: %s", self.path, error)
                    self.stop_event.wait(1.0)
                    continue
                if data:
                    self.handle(data)
        finally:
            self.close()

    def close(self):
        """Close the socket and remove its file; idempotent (also for a worker never started)."""
        if self.sock.fileno() < 0:
            return
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def handle(self, data):
        try:
            event = parse_message(data, self.wall_clock())
        except ValueError as reason:
            self.refused += 1
            self.report("refused", logging.WARNING, "control socket %s: message refused: %s",
                        self.path, reason)
            return
        self.received += 1
        self.submit(event)
