"""The running service's control socket: how another process tells it that an export finished,
or that the driver wants this moment's clip kept (``dashcam lock``).

The service owns the LED and the serial line, so ``dashcam export`` (its own
process, started by udev) cannot signal on them. It sends one datagram to
the socket that the service binds at ``[service] control-socket``
(``/run/dashcam/control.sock`` when installed): a JSON object such as
``{"type": "export_finished", "ok": true, "folder": "...", "files": 12,
"bytes": 734003200}`` or ``{"type": "manual_lock", "note": "..."}``. The service
turns it into that event through the event logger, like any other event, and the
alert sinks react to the committed event. Only the fields below pass, each bounded.

A datagram is heard only from root or the service's own user or group: the
kernel stamps each with its sender's credentials (``SO_PASSCRED``, which a
sender cannot forge without privilege), so a socket file made writable by
mistake, or a descriptor that leaked to another user, is no way in. And only
so often: a token bucket (``RATE`` a second, ``BURST`` at once) bounds the
events any flood can make, so it fills neither the event logger's queue nor
the store, and nothing it sends reaches the alert sinks' queues. What is
refused (foreign sender, over the rate, malformed) is counted and recorded as
one ``control_refused`` event per burst of refusals, never one per datagram.
"""

import errno
import json
import logging
import os
import socket
import stat
import struct
import time

from dashcam import events as ev
from dashcam.worker import Throttled, Worker

log = logging.getLogger(__name__)

MAX_DATAGRAM = 4096
FIELDS = {"folder": str, "device": str, "error": str, "files": int, "bytes": int,
          "skipped": int, "clips": int}
MAX_TEXT = 300
# An export takes minutes and sends one message at its end: five at once (sticks in
# several ports) and one a second after that is far above any real use.
RATE = 1.0
BURST = 5
BURST_GAP_S = 2.0     # a burst of refusals ends after this long without one ...
BURST_MAX_S = 60.0    # ... and is recorded at least this often while it lasts
MAX_SENDERS = 5       # foreign senders named in one control_refused event
POLL_S = 0.2          # the longest wait for a datagram, so a stop and a burst's end are seen
READ_RATE = 1000.0    # datagrams a second taken off the socket at most (a flood's cost)
UCRED = struct.Struct("iII")   # struct ucred (socket(7)): pid_t pid, uid_t uid, gid_t gid


def parse_message(data, t_utc):
    """The event a control datagram stands for; ValueError (with the reason) if it is none."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not a JSON object")
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    if message.get("type") == ev.MANUAL_LOCK:
        note = message.get("note")
        return ev.manual_lock(t_utc, "command", None if note is None else str(note)[:MAX_TEXT])
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


def sender_of(ancdata):
    """``(pid, uid, gid)`` that the kernel stamped on a datagram (``SCM_CREDENTIALS``), or None."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= UCRED.size:
            return UCRED.unpack_from(data)
    return None


def trusted(sender, uid, gid):
    """Whether ``sender`` (``sender_of``'s) is root, user ``uid`` or of group ``gid``."""
    return sender is not None and (sender[1] in (0, uid) or sender[2] == gid)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; times in seconds (monotonic)."""

    def __init__(self, rate, burst, now):
        self.rate, self.burst = float(rate), float(burst)
        self.tokens, self.t = self.burst, now

    def _refill(self, now):
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.t) * self.rate)
        self.t = now

    def take(self, now):
        """Spend one token; False when there is none."""
        self._refill(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def wait_s(self, now, tokens=1.0):
        """Seconds until ``tokens`` are saved up (0: they are)."""
        self._refill(now)
        return max(0.0, (min(tokens, self.burst) - self.tokens) / self.rate)


REASONS = ("foreign_sender", "rate_limited", "invalid")


class Refusals:
    """Refused datagrams, by reason (``REASONS``), gathered into bursts: a burst is due to be
    recorded ``gap`` seconds after its last refusal, or ``longest`` seconds after its first."""

    def __init__(self, gap=BURST_GAP_S, longest=BURST_MAX_S):
        self.gap, self.longest = gap, longest
        self.total = dict.fromkeys(REASONS, 0)   # over the worker's life
        self._new_burst()

    def _new_burst(self):
        self.counts = dict.fromkeys(REASONS, 0)
        self.senders = []
        self.first = self.last = None   # (monotonic, UTC) of the burst's first and last

    def add(self, reason, now, t_utc, sender=None):
        self.counts[reason] += 1
        self.total[reason] += 1
        if self.first is None:
            self.first = (now, t_utc)
        self.last = (now, t_utc)
        if sender is not None and len(self.senders) < MAX_SENDERS:
            named = {"pid": sender[0], "uid": sender[1], "gid": sender[2]}
            if all(s["uid"] != sender[1] for s in self.senders):
                self.senders.append(named)

    def due(self, now):
        return self.first is not None and (now - self.last[0] >= self.gap
                                           or now - self.first[0] >= self.longest)

    def event(self):
        """The burst as one ``control_refused`` event (None when nothing was refused); the
        next refusal starts a new burst."""
        if self.first is None:
            return None
        event = ev.control_refused(self.first[1], self.last[1], self.counts, self.senders)
        self._new_burst()
        return event


class ControlSocketWorker(Worker):
    """Binds a datagram socket at ``path`` and hands each valid message's event to ``submit``.

    The socket is bound here, so a path that cannot be used fails at build
    time (``OSError``), not in the thread. A stale socket file from a killed
    run is replaced; any other file at ``path`` is left alone (the bind fails).
    The socket's mode is 0660: the service's group and root may write to it.
    ``owner``: the (uid, gid) heard besides root, the process's effective ones by
    default. ``rate`` and ``burst``: the messages' token bucket. Datagrams are read
    at most ``read_rate`` a second, so a flood costs this process a bounded share
    of a core: past that the socket's queue fills and the kernel makes the
    senders wait. Counters: ``accepted``, ``refusals.total`` by reason.
    """

    name = "control-socket"

    def __init__(self, path, submit, wall_clock=time.time, clock=time.monotonic, owner=None,
                 rate=RATE, burst=BURST, read_rate=READ_RATE):
        Worker.__init__(self)
        self.path = path
        self.submit = submit
        self.wall_clock, self.clock = wall_clock, clock
        self.owner = owner or (os.geteuid(), os.getegid())
        self.bucket = TokenBucket(rate, burst, clock())
        self.reads = TokenBucket(read_rate, read_rate * POLL_S, clock())
        self.refusals = Refusals()
        self.accepted = 0
        self.report = Throttled(log, clock=clock)
        _remove_stale(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self.sock.bind(path)
            os.chmod(path, 0o660)
            self.sock.settimeout(POLL_S)
        except BaseException:
            self.sock.close()
            raise

    def wake(self):
        try:
            self.sock.sendto(b"", socket.MSG_DONTWAIT, self.path)   # unblocks recvmsg at once
        except OSError:
            pass   # its queue is full: the loop is reading and sees the stop anyway

    def run(self):
        try:
            while not self.stopping:
                self.receive()
                if self.refusals.due(self.clock()):
                    self.record_refusals()
            self.record_refusals()   # the last burst, while the event logger still runs
        finally:
            self.close()

    def receive(self):
        """Wait up to ``POLL_S`` for one datagram and handle it."""
        now = self.clock()
        if not self.reads.take(now):   # read out: the socket's queue fills, its senders wait
            self.stop_event.wait(min(POLL_S, self.reads.wait_s(now, self.reads.burst / 2.0)))
            return
        try:
            data, ancdata, _, _ = self.sock.recvmsg(MAX_DATAGRAM, socket.CMSG_SPACE(UCRED.size))
        except socket.timeout:
            return
        except OSError as error:
            self.report("recv", logging.WARNING, "control socket %s: %s", self.path, error)
            self.stop_event.wait(1.0)
            return
        if data or not self.stopping:   # an empty one at the stop is wake()'s
            self.handle(data, sender_of(ancdata))

    def handle(self, data, sender):
        """One datagram from ``sender`` (``sender_of``'s): an event for ``submit``, or refused."""
        now = self.clock()
        if not trusted(sender, *self.owner):
            self.refuse("foreign_sender", now, sender, "from {} (only root and the service's "
                        "user or group are heard)".format(
                            "an unknown sender" if sender is None else f"uid {sender[1]}"))
            return
        if not self.bucket.take(now):
            self.refuse("rate_limited", now, None, "more than {:g} at once or {:g} a second"
                        .format(self.bucket.burst, self.bucket.rate))
            return
        try:
            event = parse_message(data, self.wall_clock())
        except ValueError as reason:
            self.refuse("invalid", now, None, str(reason))
            return
        self.accepted += 1
        self.submit(event)

    def refuse(self, reason, now, sender, why):
        self.refusals.add(reason, now, self.wall_clock(), sender)
        self.report(reason, logging.WARNING, "control socket %s: message refused: %s (%d "
                    "refused so far for this reason)", self.path, why, self.refusals.total[reason])

    def record_refusals(self):
        event = self.refusals.event()
        if event is not None:
            self.submit(event)

    def close(self):
        """Close the socket and remove its file; idempotent (also for a worker never started)."""
        if self.sock.fileno() < 0:
            return
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
