"""``<prefix>/cmd``: the few commands a fleet office may send, and nothing else.

A command is a JSON object: ``{"cmd": "ping" | "lock" | "upload", "request_id": any
short text, "device": optional, the device id}``, ``lock`` with an optional
``note``, ``upload`` with ``event_id`` and ``url`` (a presigned HTTP PUT URL).
``parse`` refuses anything else (too large, not JSON, another device's, an unknown
command, missing or wrong arguments) with the reason; every command gets one
result on ``<prefix>/cmd/result`` (``ok``, ``accepted``, ``refused``, ``failed``),
and refusals are logged. ``lock`` and ``upload`` are done by injected parts:
``lock(note)`` (a button press: a ``manual_lock`` event) and
``uploader.request(event_id, url, request_id)``, which publishes the upload's
own result later through ``ResultPublisher.publish``.
"""

import json
import logging
import time
from collections import namedtuple

from dashcam import __version__
from dashcam.errors import DashcamError
from dashcam.fleet import messages as msg
from dashcam.worker import Throttled

log = logging.getLogger(__name__)

MAX_BYTES = 4096          # a command is a few hundred bytes; a presigned URL about 1.5 kB
MAX_TEXT = 2048           # the longest url, note or request id taken
COMMANDS = ("ping", "lock", "upload")


class Refused(Exception):
    """A command that is not carried out; ``request_id`` as far as it could be read."""

    def __init__(self, reason, request_id=None, command=None):
        Exception.__init__(self, reason)
        self.reason, self.request_id, self.command = reason, request_id, command


class Command(namedtuple("Command", "name request_id args")):
    __slots__ = ()


def parse(payload, device):
    """The ``Command`` in ``payload`` (bytes) for ``device``; ``Refused`` with the reason."""
    if len(payload) > MAX_BYTES:
        raise Refused(f"oversize: {len(payload)} bytes, at most {MAX_BYTES}")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise Refused(f"bad JSON: {error}")
    if not isinstance(body, dict):
        raise Refused("bad JSON: not an object")
    request_id = body.get("request_id")
    if not isinstance(request_id, (str, int, type(None))) or len(str(request_id)) > MAX_TEXT:
        request_id = None
    name = body.get("cmd")
    if "device" in body and body["device"] != device:
        raise Refused("foreign device: {!r} is not {!r}".format(body["device"], device),
                      request_id, name)
    if name not in COMMANDS:
        raise Refused("unknown command {!r}: known are {}".format(name, ", ".join(COMMANDS)),
                      request_id, name if isinstance(name, str) else None)
    args = {}
    if name == "lock":
        args["note"] = _text(body, "note", request_id, name, required=False)
    elif name == "upload":
        event_id = body.get("event_id")
        if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id < 1:
            raise Refused("upload needs event_id, a positive integer", request_id, name)
        url = _text(body, "url", request_id, name, required=True)
        if not url.startswith(("http://", "https://")):
            raise Refused("upload needs url, an http:// or https:// (presigned PUT) URL",
                          request_id, name)
        args.update(event_id=event_id, url=url)
    return Command(name, request_id, args)


def _text(body, key, request_id, name, required):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise Refused(f"{name} needs {key}, text of at most {MAX_TEXT} characters",
                      request_id, name)
    return value


class ResultPublisher:
    """Puts a command's result in the outbox for ``<prefix>/cmd/result`` (``submit``: the
    event logger's). ``publish(payload)`` is what the uploader is given: ``payload`` a dict
    with ``request_id``, ``cmd``, ``status`` and any more fields."""

    def __init__(self, device, submit, wall_clock=time.time):
        self.device, self.submit, self.wall_clock = device, submit, wall_clock

    def publish(self, payload):
        payload = dict(payload)
        request_id, command = payload.pop("request_id", None), payload.pop("cmd", None)
        status = payload.pop("status", None)
        return self.submit(msg.result_message(self.device, self.wall_clock(), request_id,
                                               command, status, payload))


class Commands:
    """Carries out commands for ``device``; ``results`` a ``ResultPublisher``. ``lock`` and
    ``uploader`` may be None (not wired): the command then fails, saying so. Counters:
    ``done``, ``refused``."""

    def __init__(self, device, results, lock=None, uploader=None, clock=time.monotonic):
        self.device, self.results, self.lock, self.uploader = device, results, lock, uploader
        self.started = clock()
        self.clock = clock
        self.done = self.refused = 0
        self.report = Throttled(log, interval=10.0, clock=clock)

    def __call__(self, payload):
        """Carry out the command in ``payload`` (bytes); its result goes to the outbox."""
        try:
            command = parse(payload, self.device)
        except Refused as refusal:
            self.refused += 1
            self.report("refused", logging.WARNING, "fleet command refused: %s (%d so far)",
                        refusal.reason, self.refused)
            return self.results.publish({"request_id": refusal.request_id,
                                         "cmd": refusal.command, "status": "refused",
                                         "reason": refusal.reason})
        self.done += 1
        status, detail = self.run(command)
        log.info("fleet command %s (request %s): %s", command.name, command.request_id, status)
        return self.results.publish(dict(detail, request_id=command.request_id,
                                         cmd=command.name, status=status))

    def run(self, command):
        """``(status, detail)`` of carrying out ``command``."""
        if command.name == "ping":
            return "ok", {"version": __version__,
                          "uptime_s": round(self.clock() - self.started, 1)}
        part = self.lock if command.name == "lock" else self.uploader
        if part is None:
            return "failed", {"reason": f"{command.name} is not available on this device"}
        try:
            if command.name == "lock":
                part(command.args["note"])
                return "ok", {}
            part.request(command.args["event_id"], command.args["url"], command.request_id)
            return "accepted", {"event_id": command.args["event_id"]}
        except (DashcamError, ValueError) as error:
            return "failed", {"reason": str(error)}
        except Exception as error:  # a broken part costs its own command, not the link
            log.exception("fleet command %s failed", command.name)
            return "failed", {"reason": f"{type(error).__name__}: {error}"}
