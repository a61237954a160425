"""The parking stage as ``build_pipeline`` wires it: the worker and its ignition line."""

import logging
import time
import warnings

from dashcam import events as ev
from dashcam.alerts.led import build_factory
from dashcam.fanout import Subscriber
from dashcam.parking.worker import ParkingWorker

log = logging.getLogger(__name__)


class ParkingStage:
    """The worker (a frame subscriber, the stop plan's ``parking`` stage) and the forwarder
    of committed events to it (an event subscriber); ``unavailable``: why the ignition line
    cannot be read, or None."""

    def __init__(self, worker, forwarder, unavailable=None):
        self.worker, self.forwarder, self.unavailable = worker, forwarder, unavailable

    def summary(self):
        figures = self.worker.summary()
        if self.unavailable:
            figures["ignition_unavailable"] = self.unavailable
        return figures


def open_ignition(section, led, factory=None, board=None):
    """``(device, None)``: gpiozero ``DigitalInputDevice`` on ``[parking] ignition-pin``
    (active high, no pull: the line is driven) through ``factory`` (else ``[led]
    pin-factory``'s); ``(None, why)`` where GPIO cannot be had, so the run goes on with
    parking by stillness only; ``(None, None)`` with no pin set."""
    if not section.ignition_pin:
        return None, None
    try:
        from gpiozero import DigitalInputDevice
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # gpiozero's one warning per factory it cannot load
            if factory is None:
                factory = build_factory(led.pin_factory, board)
            return DigitalInputDevice(section.ignition_pin, pull_up=None, active_state=True,
                                      pin_factory=factory), None
    except Exception as error:   # no GPIO here, whatever the library says
        return None, "{}: {} (check [parking] ignition-pin and [led] pin-factory)".format(
            type(error).__name__, error)


def build_parking(config, submit, capture_rate, inference_rate, pin_factory=None,
                  speed_kmh=None, still=None, board=None, clock=time.monotonic,
                  wall_clock=time.time):
    """``ParkingStage`` for ``config.parking``, or None when it is disabled. ``speed_kmh()`` and
    ``still()``: the GPS and IMU stages' (None where there is none)."""
    section = config.parking
    if not section.enabled:
        return None
    ignition, unavailable = open_ignition(section, config.led, pin_factory, board)
    if unavailable:
        log.warning("parking: no ignition line on %s (%s); parking by stillness only",
                    section.ignition_pin, unavailable)
    worker = ParkingWorker(section, submit, capture_rate, inference_rate, ignition,
                           speed_kmh, still, clock=clock, wall_clock=wall_clock)

    def forward(item):
        if item[1].type == ev.IMPACT:
            worker.offer(item)

    forwarder = Subscriber("parking-events", forward, clock=clock)
    return ParkingStage(worker, forwarder, unavailable)
