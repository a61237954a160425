"""The IMU worker: samples at the configured rate, judges them, and keeps going when the chip
goes.

Each ``Finding`` of ``motion.MotionDetector`` becomes an event through the event
logger: ``impact`` (critical) and the ``harsh_*`` ones (warning), stamped in UTC from
the samples' monotonic times. What follows an impact is the committed event's: the
clip it protects (``[recording] clips``), its snapshot (``[recording] snapshots``) and
the LED and serial line (``alerts.engine.EventWatch``). A source that raises
``SensorError`` (an I2C chip unplugged, a loose wire) is said once, closed, and opened
again every ``reopen_min`` .. ``reopen_max`` seconds (doubling); the run goes on.
"""

import logging
import time

from dashcam import events as ev
from dashcam.senses import SensorError
from dashcam.worker import Worker

log = logging.getLogger(__name__)

SEVERITY = {ev.IMPACT: ev.CRITICAL, ev.HARSH_BRAKING: ev.WARNING,
            ev.HARSH_ACCELERATION: ev.WARNING, ev.HARSH_CORNERING: ev.WARNING}
FRESH_S = 1.0   # samples older than this say nothing about now (``still``)


class ImuWorker(Worker):
    """Reads ``open_source()`` (a ``senses`` IMU source) ``rate`` times a second into
    ``detector`` and gives ``submit`` the events. ``still_s``: how long the samples must be
    still for ``still()``. Counters: ``samples``, ``findings`` by type, ``lost`` (times the
    source went), ``reopened``."""

    name = "imu"

    def __init__(self, url, open_source, detector, submit, rate=100, still_s=5.0,
                 reopen_min=0.5, reopen_max=10.0, clock=time.monotonic, wall_clock=time.time):
        Worker.__init__(self)
        self.url, self.open_source, self.detector, self.submit = url, open_source, detector, submit
        self.period, self.still_s = 1.0 / rate, still_s
        self.reopen_min, self.reopen_max = reopen_min, reopen_max
        self.clock, self.wall_clock = clock, wall_clock
        self.source = None
        self.samples = self.lost = self.reopened = 0
        self.findings = dict.fromkeys(SEVERITY, 0)
        self.last_sample = None   # its time (``clock``)
        self._down = None         # (since, tries, wait) while the source is not open

    def still(self):
        """Whether the vehicle has been at rest (``|a - g|`` tiny) for ``still_s`` seconds,
        by fresh samples; False while the IMU says nothing."""
        now = self.clock()
        fresh = self.last_sample is not None and now - self.last_sample <= FRESH_S
        return fresh and self.detector.still(now, self.still_s)

    def run(self):
        due = self.clock()
        try:
            while not self.stopping:
                if self.source is None and not self._open():
                    continue
                try:
                    samples = self.source.read(self.period)
                except SensorError as error:
                    self._gone(error)
                    continue
                self.judge(samples)
                now = self.clock()
                due = max(due + self.period, now - self.period)   # behind: no burst to catch up
                self.stop_event.wait(max(0.0, due - now))
        finally:
            self._close()

    def judge(self, samples):
        """Samples through the detector; its findings to ``submit`` as events."""
        if not samples:
            return
        offset = self.wall_clock() - self.clock()
        for sample in samples:
            for finding in self.detector.update(sample):
                self.findings[finding.kind] += 1
                self.submit(event_of(finding, offset, self.url))
        self.samples += len(samples)
        self.last_sample = samples[-1].t

    def _open(self):
        """Open the source; False (having waited its turn) when it is not there yet."""
        since, tries, wait = self._down or (self.clock(), 0, self.reopen_min)
        try:
            self.source = self.open_source()
        except SensorError as error:
            if tries == 0:
                log.warning("IMU %s: %s; trying again every %g..%g s", self.url, error,
                            self.reopen_min, self.reopen_max)
            self._down = since, tries + 1, min(wait * 2.0, self.reopen_max)
            self.stop_event.wait(wait)
            return False
        if self._down is not None and self.lost:
            self.reopened += 1
            log.warning("IMU %s is back after %.1f s (%d tries)", self.url,
                        self.clock() - since, tries + 1)
        self._down = None
        return True

    def _gone(self, error):
        self.lost += 1
        log.warning("IMU %s is gone: %s; reopening it", self.url, error)
        self._close()
        self._down = (self.clock(), 0, self.reopen_min)

    def _close(self):
        source, self.source = self.source, None
        if source is not None:
            source.close()

    def summary(self):
        """For the run's summary: samples read, events by type, times lost and reopened."""
        return {"source": self.url, "samples": self.samples, "events": dict(self.findings),
                "lost": self.lost, "reopened": self.reopened}


def event_of(finding, offset, url):
    """The event of a ``motion.Finding``; ``offset`` turns its monotonic times into UTC."""
    return ev.motion(finding.kind, finding.start + offset, finding.end + offset,
                     SEVERITY[finding.kind],
                     {"peak_g": round(finding.peak, 3), "threshold_g": finding.threshold,
                      "duration_s": round(finding.end - finding.start, 3), "source": url})
