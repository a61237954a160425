"""The one interface and error contract of alert sinks, and the log sink.

A sink is a worker with a bounded queue (``QueueWorker``): ``offer(alert)``
never blocks the engine, and what does not fit is dropped, counted and
reported as ``dropped``. Alerts have a lane of their own in that queue
(``lanes.Lanes``), taken before signals and camera states, so no amount of
those can drop or delay an alert. On its own thread it delivers each alert at once and
reports a ``Delivery`` through ``on_delivery(alert, delivery)`` (the engine's).
``deliver`` returns the message it gave (the LED pattern, the serial line) or
raises: ``SinkUnavailable`` when it has no hardware (no GPIO, no port: nothing
was tried), anything else when it tried and failed. A sink that fails is
marked, logged once (and once when it works again), retries on its own
schedule (``tick``), and never stops the other sinks or the engine.

Public for other stages: ``signal(kind)`` shows one of ``SIGNALS`` (USB export
done or failed, an impact, a lock) on the sink, ``camera(lost)`` tells it whether the
camera is lost. Both only queue (in the lane for other traffic, an impact in the alerts'
lane: what does not fit is counted in ``dropped_signals``), and never raise for a sink
that is down.
"""

import logging
import time
from collections import namedtuple

from dashcam.alerts.lanes import Lanes
from dashcam.alerts.records import DELIVERED, FAILED, UNAVAILABLE, Delivery
from dashcam.events import CRITICAL, IMPACT, INFO, MANUAL_LOCK, WARNING
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)

EXPORT_DONE = "export_done"
EXPORT_FAILED = "export_failed"
TEST = "test"
# Also signals, named as their events: an impact (critical, in the alerts' lane) and a lock
# by the button or `dashcam lock` (acknowledged).
SIGNALS = (EXPORT_DONE, EXPORT_FAILED, TEST, IMPACT, MANUAL_LOCK)


class SinkUnavailable(Exception):
    """The sink has no hardware to deliver on (no GPIO, the port is not there)."""


Signal = namedtuple("Signal", "kind t_utc")
CameraState = namedtuple("CameraState", "lost")


class Sink(QueueWorker):
    """Base of every sink: a working no-op that delivers nothing and says so.

    ``queue_size`` 32 alerts by default, and ``other_size`` 16 signals and camera states
    besides. Subclasses override ``deliver(alert)``, and
    may override ``show_signal(signal)``, ``camera_changed(lost)`` and the run
    loop's ``tick(now)`` / ``next_tick(now)`` (patterns, heartbeats, reopening a port).
    """

    def __init__(self, name, queue_size=32, other_size=16, clock=time.monotonic,
                 wall_clock=time.time):
        QueueWorker.__init__(self, queue_size, name, clock)
        self.queue = Lanes(queue_size, other_size, _urgent)
        self.dropped_signals = 0
        self.clock, self.wall_clock = clock, wall_clock
        self.on_delivery = None   # on_delivery(alert, delivery): set by the engine
        self.failure = None       # why it is failing now, or None
        # alerts by what became of them (records' statuses); the queue's drops are ``dropped``
        self.delivered = self.failed = self.unavailable = 0

    def signal(self, kind, t_utc=None):
        """Show ``kind`` (one of ``SIGNALS``) on this sink, stamped ``t_utc`` (now by
        default); ValueError for another kind."""
        if kind not in SIGNALS:
            raise ValueError("unknown signal {!r}: known signals are {}".format(
                kind, ", ".join(SIGNALS)))
        return self.offer(Signal(kind, self.wall_clock() if t_utc is None else t_utc))

    def camera(self, lost):
        """The camera is lost (True) or back (False)."""
        return self.offer(CameraState(bool(lost)))

    def drop(self, item):
        if _urgent(item):
            QueueWorker.drop(self, item)
            return
        self.dropped_signals += 1
        self.report("dropped-signals", logging.WARNING,
                    "%s is behind on signals and camera states: %d dropped so far",
                    self.name, self.dropped_signals)

    def consume(self, item):
        if isinstance(item, Signal):
            self._guarded("signal", self.show_signal, item)
        elif isinstance(item, CameraState):
            self._guarded("camera", self.camera_changed, item.lost)
        else:
            self._deliver(item)

    def _deliver(self, alert):
        error = None
        try:
            message = self.deliver(alert)
            status = DELIVERED
        except SinkUnavailable as reason:
            message, status, error = None, UNAVAILABLE, str(reason)
        except Exception as reason:  # the sink's own failure: reported, never raised
            message, status, error = None, FAILED, f"{type(reason).__name__}: {reason}"
        if status == DELIVERED:
            self.delivered += 1
            self.recovered()
        else:
            if status == UNAVAILABLE:
                self.unavailable += 1
            else:
                self.failed += 1
            self.failing(error)
        if self.on_delivery is not None:
            self.on_delivery(alert, Delivery(self.name, status, self.clock(), self.wall_clock(),
                                        message, error))

    def _guarded(self, what, call, arg):
        try:
            call(arg)
        except SinkUnavailable:
            pass  # said once already: the sink has no hardware
        except Exception as reason:
            self.failing(f"{what} failed: {type(reason).__name__}: {reason}")

    def counts(self):
        """``{"delivered", "failed", "unavailable", "dropped"}``: what became of its alerts, in
        the words ``dashcam alerts`` uses."""
        return {"delivered": self.delivered, "failed": self.failed,
                "unavailable": self.unavailable, "dropped": self.dropped}

    def failing(self, reason):
        """Mark the sink failing for ``reason``; logged when it starts or the reason changes
        (so a sink that has no hardware is reported once, however often it is asked)."""
        if reason != self.failure:
            log.warning("alert sink %s: %s", self.name, reason)
        self.failure = reason

    def recovered(self):
        if self.failure is not None:
            log.warning("alert sink %s works again (after: %s)", self.name, self.failure)
            self.failure = None

    def deliver(self, alert):
        raise SinkUnavailable(f"{self.name} delivers nothing")

    def show_signal(self, signal):
        """Show a signal; the base ignores it."""

    def camera_changed(self, lost):
        """The camera was lost or came back; the base ignores it."""

    def finish(self):
        self.close()

    def close(self):
        """Release the hardware (called on the sink's thread as it ends); idempotent."""


def describe(alert):
    """One line about an alert, for the log and the CLI."""
    ttc = "" if alert.ttc is None else f", TTC {alert.ttc:.1f} s"
    return "{} {}: {} track {} ({:.2f}{})".format(alert.severity, alert.rule, alert.label,
                                                  alert.track_id, alert.confidence, ttc)


def _urgent(item):
    """Alerts, impacts (and the worker's own wake-up) go before other signals and camera
    states."""
    if isinstance(item, Signal):
        return item.kind == IMPACT
    return not isinstance(item, CameraState)


class LogSink(Sink):
    """Writes each alert and signal to the application log (the journal under systemd)."""

    LEVELS = {INFO: logging.INFO, WARNING: logging.WARNING, CRITICAL: logging.CRITICAL}

    def __init__(self, name="log", logger=log, **kwargs):
        Sink.__init__(self, name, **kwargs)
        self.logger = logger

    def deliver(self, alert):
        message = "alert " + describe(alert)
        self.logger.log(self.LEVELS.get(alert.severity, logging.WARNING), "%s", message)
        return message

    def show_signal(self, signal):
        self.logger.info("signal %s", signal.kind)
