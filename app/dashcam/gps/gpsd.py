"""A gpsd client: the JSON protocol over its TCP socket, read as lines (``gpsd_json(5)``).

gpsd's own Python client (the ``gps`` module) comes with Debian's python3-gps for the system
Python only, not in a virtual environment or on pip; the protocol this needs is a few lines:
send ``?WATCH={"enable":true,"json":true}``, read one JSON object per line, keep the
``TPV`` reports that carry a fix (mode 2 or 3).
"""

import json
import select
import socket
import time

from dashcam.errors import DashcamError
from dashcam.senses import Fix, SensorError
from dashcam.timestamps import parse_iso

WATCH = b'?WATCH={"enable":true,"json":true}\n'
CONNECT_TIMEOUT_S = 2.0
MAX_LINE = 65536   # gpsd's longest report (SKY with many satellites) is a few kB


def tpv_fix(report):
    """A ``Fix`` from a gpsd report (a decoded JSON object), or None: not a TPV, no fix, or
    no time (gpsd's first report from a new device, before it knows the receiver's cycle,
    has a position from one sentence and neither time nor speed)."""
    if report.get("class") != "TPV" or report.get("mode", 0) < 2:
        return None
    if report.get("lat") is None or report.get("lon") is None:
        return None
    try:
        when = parse_iso(report.get("time") or "")
    except DashcamError:
        return None
    mode = int(report["mode"])
    # gpsd 3.20+ reports altHAE/altMSL and keeps "alt" (MSL) for older clients
    alt = report.get("altMSL", report.get("alt")) if mode == 3 else None
    return Fix(when, float(report["lat"]), float(report["lon"]), alt, report.get("speed"),
               report.get("track"), mode)


class GpsdSource:
    """Fixes from gpsd at ``host``:``port``; ``on_line(line)`` sees every line read (the raw
    log). Raises ``SensorError`` when gpsd cannot be reached or closes the connection."""

    def __init__(self, host, port, on_line=None, clock=time.monotonic):
        self.where = f"gpsd at {host}:{port}"
        self.on_line, self.clock = on_line, clock
        try:
            self.sock = socket.create_connection((host, port), CONNECT_TIMEOUT_S)
            self.sock.sendall(WATCH)
        except OSError as error:
            raise SensorError("cannot reach {} ({}): is gpsd running (`systemctl status gpsd`) "
                              "and [gps] source right?".format(self.where, error))
        self.sock.setblocking(False)
        self._buffer = b""

    def read(self, timeout):
        """The next fix, waiting at most ``timeout`` seconds; None if none came."""
        deadline = self.clock() + timeout
        while True:
            line = self._line(deadline)
            if line is None:
                return None
            if self.on_line is not None:
                self.on_line(line)
            try:
                report = json.loads(line)
            except ValueError:
                continue   # a line cut by a restarting gpsd: the next one is whole
            fix = tpv_fix(report) if isinstance(report, dict) else None
            if fix is not None:
                return fix

    def _line(self, deadline):
        while b"\n" not in self._buffer:
            left = deadline - self.clock()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as error:
                raise SensorError(f"{self.where}: {error}")
            if not data:
                raise SensorError(f"{self.where} closed the connection (gpsd stopped?)")
            self._buffer += data
            if len(self._buffer) > MAX_LINE:
                raise SensorError(f"{self.where} sends lines past {MAX_LINE} bytes: not gpsd?")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace").strip()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
