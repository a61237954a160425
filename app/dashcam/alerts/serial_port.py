"""The serial sink: one NMEA 0183 proprietary sentence per alert (``nmea``), a heartbeat
every few seconds, and a port that is reopened when it disappears and comes back.

The engine never waits on the port: alerts reach this sink's bounded queue
(what does not fit is dropped and counted) and its own thread writes them. A
write is bounded too (``WRITE_TIMEOUT_S``, for a receiver that holds the line
with flow control). A port that fails (a USB adapter unplugged, the far end of
a pty closed) is closed and tried again every ``reopen_interval`` seconds; an
alert meanwhile is ``unavailable``, never queued for later: a warning that
comes late is no warning.
"""

import logging

import serial

from dashcam.alerts import nmea
from dashcam.alerts.sinks import Sink, SinkUnavailable

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 0.5


def open_serial(url, baudrate):
    """A pyserial port for a device path or URL (``loop://``, ``socket://``, ...)."""
    return serial.serial_for_url(url, baudrate=baudrate, timeout=0, write_timeout=WRITE_TIMEOUT_S)


class SerialSink(Sink):
    """Writes alerts, signals and heartbeats to the port at ``url``.

    ``status(now)`` (the engine's ``RunStatus.heartbeat``) gives the heartbeat's
    ``(fps, status)``; ``heartbeat_interval`` 5 s (0: none), ``reopen_interval``
    1 s. ``open_port(url, baudrate)`` is pyserial's by default. Counters:
    ``lines`` written, ``reopened`` (times the port came back).
    """

    def __init__(self, url, baudrate=115200, heartbeat_interval=5.0, reopen_interval=1.0,
                 status=None, open_port=open_serial, name="serial", **kwargs):
        Sink.__init__(self, name, **kwargs)
        self.url, self.baudrate = url, baudrate
        self.heartbeat_interval = heartbeat_interval
        self.reopen_interval = reopen_interval
        self.status = status
        self.open_port = open_port
        self.port = None
        self.lines = self.reopened = 0
        self._opened_once = False
        self._next_open = self._next_heartbeat = self.clock()

    def deliver(self, alert):
        line = nmea.alert_sentence(alert)
        self._write(line)
        return line.decode("ascii").strip()

    def show_signal(self, signal):
        self._write(nmea.signal_sentence(signal.t_utc, signal.kind))

    def next_tick(self, now):
        due = [self._next_open] if self.port is None else []
        if self.heartbeat_interval and self.status is not None:
            due.append(self._next_heartbeat)
        return max(0.0, min(due) - now) if due else None

    def tick(self, now):
        self._ensure_open(now)
        if self.heartbeat_interval and self.status is not None and now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            fps, status = self.status(now)
            try:
                self._write(nmea.heartbeat_sentence(self.wall_clock(), fps, status))
            except SinkUnavailable:
                pass   # said when the port went
            except Exception as error:
                self.failing(f"heartbeat not written: {error}")

    def _ensure_open(self, now):
        if self.port is None and now >= self._next_open:
            try:
                self.port = self.open_port(self.url, self.baudrate)
            except (serial.SerialException, OSError, ValueError) as error:
                self._next_open = now + self.reopen_interval
                self.failing("cannot open {} ({}); trying again every {:g} s".format(
                    self.url, error, self.reopen_interval))
                return None
            if self._opened_once:
                self.reopened += 1
            self._opened_once = True
            log.info("serial port %s open at %d baud", self.url, self.baudrate)
        return self.port

    def _write(self, data):
        port = self._ensure_open(self.clock())
        if port is None:
            raise SinkUnavailable(self.failure or f"{self.url} is not open")
        try:
            port.write(data)
        except (serial.SerialException, OSError) as error:
            self._close_port()
            self._next_open = self.clock() + self.reopen_interval
            raise OSError(f"{self.url}: {error}")
        self.lines += 1
        self.recovered()

    def _close_port(self):
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass   # it is gone already

    def close(self):
        self._close_port()
