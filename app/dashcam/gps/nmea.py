"""A GPS receiver read directly: NMEA 0183 sentences on a serial line (pyserial), parsed by
pynmea2; RMC (time, position, speed, course, valid or not) and GGA (fix quality, altitude)
of one instant become one ``Fix``.

Receivers send a cycle of sentences per fix, RMC and GGA in either order. A fix is given as
soon as both of its instant have come; an RMC whose GGA does not come (a receiver that sends
RMC only) is given when the next instant begins or the read times out.
"""

import calendar
import time
from collections import deque

import pynmea2
import serial

from dashcam.senses import Fix, SensorError

KNOTS_TO_MPS = 1852.0 / 3600.0


def rmc_fix(rmc, gga=None):
    """A ``Fix`` from an RMC sentence (None when it says the fix is void) and, optionally,
    the GGA of the same instant: mode 3 with its altitude when it has one, else mode 2."""
    if rmc.status != "A" or rmc.latitude is None or rmc.longitude is None:
        return None
    when = rmc.datetime
    epoch = None if when is None else calendar.timegm(when.utctimetuple()) + when.microsecond / 1e6
    alt = gga.altitude if gga is not None and (gga.gps_qual or 0) > 0 else None
    knots = rmc.spd_over_grnd
    return Fix(epoch, float(rmc.latitude), float(rmc.longitude), alt,
               None if knots is None else float(knots) * KNOTS_TO_MPS,
               None if rmc.true_course is None else float(rmc.true_course),
               3 if alt is not None else 2)


class NmeaReader:
    """Sentences in, fixes out: ``feed(line)`` one sentence, ``ready`` the fixes it made,
    ``flush()`` an RMC still waiting for its GGA. Lines that are not NMEA, or whose checksum
    is wrong, are counted in ``bad`` and skipped (line noise at the wrong baud rate)."""

    def __init__(self):
        self.ready = deque()
        self.bad = 0
        self._rmc = self._gga = None

    def feed(self, line):
        try:
            sentence = pynmea2.parse(line, check=True)
        except (pynmea2.ParseError, ValueError, AttributeError):
            self.bad += 1
            return
        kind = getattr(sentence, "sentence_type", None)
        if kind == "GGA":
            if self._rmc is not None and self._rmc.timestamp == sentence.timestamp:
                self._give(rmc_fix(self._rmc, sentence))
                self._rmc = None
            else:
                self._gga = sentence
        elif kind == "RMC":
            self.flush()
            if self._gga is not None and self._gga.timestamp == sentence.timestamp:
                self._give(rmc_fix(sentence, self._gga))
            else:
                self._rmc = sentence

    def flush(self):
        if self._rmc is not None:
            self._give(rmc_fix(self._rmc))
            self._rmc = None

    def _give(self, fix):
        if fix is not None:
            self.ready.append(fix)


class NmeaSource:
    """Fixes from the serial device at ``path`` (``baud`` bits per second); ``on_line(line)``
    sees every line read. ``SensorError`` when the device is missing or goes away."""

    def __init__(self, path, baud=9600, on_line=None, open_port=serial.serial_for_url,
                 clock=time.monotonic):
        self.where = f"GPS receiver at {path}"
        self.on_line, self.clock = on_line, clock
        try:
            self.port = open_port(path, baudrate=baud, timeout=0)
        except (serial.SerialException, OSError, ValueError) as error:
            raise SensorError("cannot open {} ({}): is it plugged in, and is [gps] source "
                              "the right device?".format(self.where, error))
        self.nmea = NmeaReader()
        self._buffer = b""

    def read(self, timeout):
        """The next fix, waiting at most ``timeout`` seconds; None if none came."""
        deadline = self.clock() + timeout
        while not self.nmea.ready:
            line = self._line(deadline)
            if line is None:
                self.nmea.flush()
                break
            if self.on_line is not None:
                self.on_line(line)
            self.nmea.feed(line)
        return self.nmea.ready.popleft() if self.nmea.ready else None

    def _line(self, deadline):
        while b"\n" not in self._buffer:
            left = deadline - self.clock()
            if left <= 0:
                return None
            try:
                self.port.timeout = left
                chunk = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as error:
                raise SensorError(f"{self.where} is gone ({error})")
            if not chunk:
                return None
            self._buffer = (self._buffer + chunk)[-4096:]   # no newline in 4 kB: not NMEA
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("ascii", "replace").strip()

    def close(self):
        if self.port is not None:
            try:
                self.port.close()
            except (serial.SerialException, OSError):
                pass   # it is gone already
            self.port = None
