"""The parking worker on its own thread: the ignition line on gpiozero's MockFactory, the
senses as callables, frames and events as the pipeline hands them; it sets the rates of
real ``FrameRate``s and submits its events (waited for, never slept on)."""

import logging
import queue
import time

import pytest
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from dashcam import events as ev
from dashcam.config.sections import Led, Parking
from dashcam.parking import build_parking
from dashcam.parking.build import open_ignition
from dashcam.parking.worker import ParkingWorker
from dashcam.rate import FrameRate
from recorded import wait_for
from test_parking_mode import PASSING, record
from test_pipeline import make_config


class Submitted:
    """The event logger's ``submit``: what the worker submits, waited for by type."""

    def __init__(self):
        self.queue, self.seen = queue.Queue(), []

    def __call__(self, item):
        self.queue.put(item)
        return True

    def wait(self, event_type, timeout=10.0):
        while True:
            item = self.queue.get(timeout=timeout)
            self.seen.append(item)
            if item.type == event_type:
                return item


@pytest.fixture
def factory():
    factory = MockFactory()
    yield factory
    factory.reset()


def worker_with(submitted, ignition=None, **senses_and_section):
    senses = {k: senses_and_section.pop(k) for k in ("speed_kmh", "still")
              if k in senses_and_section}
    section = Parking(**senses_and_section)
    rates = FrameRate(), FrameRate()
    worker = ParkingWorker(section, submitted, rates[0], rates[1], ignition, **senses)
    return worker.start(), rates


def test_the_ignition_line_parks_and_wakes_and_sets_both_rates(factory):
    line = DigitalInputDevice("BOARD16", pull_up=None, active_state=True, pin_factory=factory)
    line.pin.drive_high()                            # the engine runs
    submitted = Submitted()
    worker, (capture, inference) = worker_with(submitted, line, fps=2.0, recording_fps=5.0)
    try:
        line.pin.drive_low()                         # the engine stops
        started = submitted.wait(ev.PARKING_STARTED)
        assert started.data == {"reason": "ignition"} and started.ts_end is None
        assert (capture.fps, inference.fps) == (5.0, 2.0)
        line.pin.drive_high()
        ended = submitted.wait(ev.PARKING_ENDED)
        assert ended.data["reason"] == "ignition" and (capture.fps, inference.fps) == (None, None)
    finally:
        assert worker.stop(2.0)
    assert line.closed                               # the worker let the line go at its stop
    assert worker.summary()["entered"] == 1 and not worker.parked


def test_standing_still_parks_and_an_approaching_car_brings_full_rate_back():
    submitted = Submitted()
    worker, (capture, inference) = worker_with(submitted, speed_kmh=lambda: 0.4,
                                               still=lambda: True, still_minutes=0.001,
                                               event_seconds=1.0)
    try:
        assert submitted.wait(ev.PARKING_STARTED).data == {"reason": "still"}
        assert inference.fps == 1.0
        parked_at = time.time()   # frames captured while parked: only those are judged
        for t, box in enumerate(PASSING):
            worker.offer(record(parked_at + 0.5 * t, [box], index=t))
        event = submitted.wait(ev.PARKING_EVENT)
        assert event.data["cause"] == "approach" and event.label == "car"
        assert event.severity == ev.WARNING and event.data["ttc_s"] < 4.0
        assert (capture.fps, inference.fps) == (None, None)     # full rate for event-seconds
        # then back to the parked rates, by the worker's own clock
        assert wait_for(lambda: inference.fps == 1.0, timeout=10.0)
    finally:
        assert worker.stop(2.0)
    ended = submitted.wait(ev.PARKING_ENDED)
    assert ended.data["reason"] == "run_stopped"


def test_an_impact_event_while_parked_is_a_parking_event_and_ends_parking():
    submitted = Submitted()
    worker, (capture, _) = worker_with(submitted, still=lambda: True, still_minutes=0.001)
    try:
        submitted.wait(ev.PARKING_STARTED)
        worker.offer((7, ev.Event(ev.IMPACT, 1700000000.0, 1700000000.0, None, None,
                                  ev.CRITICAL, {"peak_g": 1.8})))
        event = submitted.wait(ev.PARKING_EVENT)
        assert event.data == {"cause": "impact", "peak_g": 1.8}
        assert event.severity == ev.CRITICAL and event.ts_start == 1700000000.0
        assert submitted.wait(ev.PARKING_ENDED).data["reason"] == "impact"
        assert capture.fps is None
        # still, it parks again after another still-minutes; the injected signal works alike
        submitted.wait(ev.PARKING_STARTED)
        worker.impact(1700000100.0)
        assert submitted.wait(ev.PARKING_EVENT).data == {"cause": "impact"}
        assert submitted.wait(ev.PARKING_ENDED).data["reason"] == "impact"
    finally:
        assert worker.stop(2.0)


def test_moving_ends_parking_and_a_sense_that_fails_says_nothing(caplog):
    submitted = Submitted()
    speeds = iter([0.0] * 3 + [30.0] * 1000)

    def broken_still():
        raise OSError("I2C bus gone")

    with caplog.at_level(logging.WARNING):
        worker, _ = worker_with(submitted, speed_kmh=lambda: next(speeds), still=broken_still,
                                still_minutes=0.001)
        try:
            submitted.wait(ev.PARKING_STARTED)
            assert submitted.wait(ev.PARKING_ENDED).data["reason"] == "movement"
        finally:
            assert worker.stop(2.0)
    assert "cannot read still: I2C bus gone" in caplog.text


def test_an_ignition_pin_without_gpio_is_said_in_one_line_and_parking_goes_on(tmp_path, caplog):
    device, why = open_ignition(Parking(ignition_pin="BOARD16"), Led())   # no GPIO here
    assert device is None and why.startswith("BadPinFactory") and "ignition-pin" in why
    config = make_config(tmp_path, parking={"ignition_pin": "BOARD16"})
    with caplog.at_level(logging.WARNING):
        parking = build_parking(config, Submitted(), FrameRate(), FrameRate())
    assert parking.worker.ignition is None and parking.summary()["ignition_unavailable"] == why
    assert [r.getMessage() for r in caplog.records if "ignition" in r.getMessage()] == [
        f"parking: no ignition line on BOARD16 ({why}); parking by stillness only"]
    assert build_parking(make_config(tmp_path, parking={"enabled": "false"}), None, None,
                         None) is None
