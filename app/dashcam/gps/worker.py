"""The GPS worker: reads its source, keeps the latest fix in a ``GpsState``, stores fixes
(at most one a ``store_interval``, and every change of fix state), says when the fix is lost
and restored, and reopens a source that went away; the run goes on either way.

What to do with each moment is decided by pure functions (``should_store``, ``lost_reason``);
the thread only reads, times and hands records to the event logger.
"""

import logging
import time
from collections import namedtuple

from dashcam import events as ev
from dashcam.senses import SensorError
from dashcam.worker import Throttled, Worker

log = logging.getLogger(__name__)

READ_S = 0.2   # the longest read, so that a stop is seen within it


class FixRecord(namedtuple("FixRecord", "received fix")):
    """A fix on its way to the store's ``fixes`` table; ``received`` UTC epoch seconds (the
    run's clock), ``fix`` a ``senses.Fix``."""

    __slots__ = ()


def should_store(last, fix, received, interval):
    """Whether ``fix`` (received at ``received``) is stored, ``last`` being the last stored
    ``FixRecord`` or None: the first, one per ``interval`` seconds, and a change of mode.
    The interval is counted on the receiver's clock (a 1 Hz receiver's fixes are 1 s apart
    there, while their arrival jitters), else on arrival."""
    if last is None or fix.mode != last.fix.mode:
        return True
    if fix.time is not None and last.fix.time is not None:
        return fix.time - last.fix.time >= interval
    return received - last.received >= interval


def lost_reason(since_fix, lost_after, error):
    """Why the fix is lost now, or None: the device's ``error``, or no fix for ``lost_after``
    seconds (``since_fix``: seconds since the last fix, or since the start)."""
    if error is not None:
        return f"device gone: {error}"
    if since_fix >= lost_after:
        return f"no fix for {lost_after:g} s"
    return None


class GpsWorker(Worker):
    """Reads ``open_source()`` (a ``gps.sources`` source) into ``state`` (a ``GpsState``) and
    ``submit``s ``FixRecord``s and ``gps_lost``/``gps_restored`` events.

    ``url`` names the source in events; ``lost_after`` 3 s; ``reopen_interval`` 1 s;
    ``store_interval`` 1 s. ``raw_log`` (a ``RawLog``, fed by the source) is closed at the
    end. Counters: ``fixes`` read, ``stored``, ``losses``, ``reopened``.
    """

    name = "gps"

    def __init__(self, url, open_source, state, submit, lost_after=3.0, reopen_interval=1.0,
                 store_interval=1.0, raw_log=None, clock=time.monotonic, wall_clock=time.time):
        Worker.__init__(self)
        self.raw_log = raw_log
        self.url, self.open_source, self.state, self.submit = url, open_source, state, submit
        self.lost_after, self.reopen_interval = lost_after, reopen_interval
        self.store_interval = store_interval
        self.clock, self.wall_clock = clock, wall_clock
        self.source = None
        self.fixes = self.stored = self.losses = self.reopened = 0
        self.lost_at = None          # UTC time of the open gps_lost, if any
        self._last_stored = None
        self._last_fix = None        # monotonic time of the last fix
        self._last_fix_utc = None
        self._opened_once = False
        self._open_error = None
        self._report = Throttled(log)

    def run(self):
        self._last_fix = self.clock()   # "no fix since the start" counts from here
        try:
            while not self.stopping:
                error = None
                if self.source is None and not self._open():
                    error = self._open_error
                else:
                    try:
                        self._take(self.source.read(READ_S))
                    except SensorError as gone:
                        error = str(gone)
                        self._close()
                self._judge(error)
                if self.source is None:
                    self.stop_event.wait(self.reopen_interval)
        finally:
            self._close()
            if self.raw_log is not None:
                self.raw_log.close()

    def _open(self):
        try:
            self.source = self.open_source()
        except SensorError as error:
            self._open_error = str(error)
            self._report("open", logging.WARNING, "%s; trying again every %g s", error,
                         self.reopen_interval)
            return False
        if self._opened_once:
            self.reopened += 1
            log.info("GPS %s open again", self.url)
        self._opened_once = True
        return True

    def _take(self, fix):
        if fix is None:
            return
        received = self.state.update(fix)
        self.fixes += 1
        self._last_fix, self._last_fix_utc = self.clock(), received
        record = FixRecord(received, fix)
        if self.lost_at is not None:
            self.submit(ev.gps_restored(received, self.url, self.lost_at))
            self.lost_at, self.state.lost = None, False
            self._last_stored = None   # the first fix after a loss is a change of state
        if should_store(self._last_stored, fix, received, self.store_interval):
            self.submit(record)
            self._last_stored = record
            self.stored += 1

    def _judge(self, error):
        if self.lost_at is not None:
            return
        reason = lost_reason(self.clock() - self._last_fix, self.lost_after, error)
        if reason is not None:
            self.lost_at = self.wall_clock()
            self.state.lost = True
            self.losses += 1
            log.warning("GPS %s lost: %s", self.url, reason)
            self.submit(ev.gps_lost(self.lost_at, self.url, reason, self._last_fix_utc))

    def _close(self):
        source, self.source = self.source, None
        if source is not None:
            source.close()

    def summary(self):
        """The run summary's ``gps`` entry."""
        return {"source": self.url, "state": self.state.describe(),
                "speed_kmh": self.state.speed_kmh(), "fixes": self.fixes,
                "stored": self.stored, "lost": self.losses, "reopened": self.reopened}
