"""The lock button on gpiozero's MockFactory, and on the Jetson factory over a STAND-IN for
Jetson.GPIO (no Jetson here; test_alert_led.StandInJetsonGPIO, with edge detection added as
Jetson.GPIO's ``add_event_detect`` calls back: with the channel, from its own thread)."""

import logging

import pytest
from gpiozero.pins.mock import MockFactory

from dashcam.alerts.pins import JetsonGPIOFactory
from dashcam.button import build_button
from dashcam.config import load_config
from dashcam.service import parse_message
from test_alert_led import StandInJetsonGPIO


class EdgesJetsonGPIO(StandInJetsonGPIO):
    RISING, FALLING, BOTH = 31, 32, 33

    def __init__(self):
        StandInJetsonGPIO.__init__(self)
        self.detecting = {}   # channel -> (edge, callback, bouncetime)

    def add_event_detect(self, channel, edge, callback=None, bouncetime=None):
        assert bouncetime is None or isinstance(bouncetime, int)   # Jetson.GPIO insists
        self.detecting[channel] = (edge, callback, bouncetime)

    def remove_event_detect(self, channel):
        del self.detecting[channel]

    def drive(self, channel, level):
        self.levels[channel] = level
        self.detecting[channel][1](channel)


def config(tmp_path, **button):
    ini = tmp_path / "button.ini"
    ini.write_text("[button]\n" + "".join(f"{k} = {v}\n" for k, v in button.items()))
    return load_config(str(ini))


def test_a_press_locks_once_within_the_hold_off_and_again_after_it(tmp_path):
    now = [0.0]
    locks = []
    factory = MockFactory()
    cfg = config(tmp_path, pin="BOARD16", bounce=0)
    button = build_button(cfg.button, cfg.led, locks.append, factory,
                          clock=lambda: now[0], wall_clock=lambda: 1700000000.0 + now[0])
    pin = factory.pin("BOARD16")
    for t in (1.0, 1.5, 3.5):   # the second press is within the 2 s hold-off
        now[0] = t
        pin.drive_low()
        pin.drive_high()
    button.close()
    button.close()   # idempotent
    assert [e.ts_start for e in locks] == [1700000001.0, 1700000003.5]
    assert {e.type for e in locks} == {"manual_lock"} and locks[0].data == {"by": "button"}
    assert button.presses == 3 and button.locks == 2
    factory.reset()


def test_on_a_jetson_the_press_comes_from_jetson_gpio_edge_detection(tmp_path):
    gpio = EdgesJetsonGPIO()
    locks = []
    cfg = config(tmp_path, pin="BOARD16", pull="external", bounce=0.05)
    button = build_button(cfg.button, cfg.led, locks.append, JetsonGPIOFactory(gpio))
    assert gpio.detecting[16][0] == gpio.BOTH and gpio.detecting[16][2] == 50
    gpio.drive(16, gpio.HIGH)   # released (the resistor holds it high)
    gpio.drive(16, gpio.LOW)    # pressed: pulled to ground
    gpio.drive(16, gpio.HIGH)
    assert [e.type for e in locks] == ["manual_lock"]
    button.close()
    assert 16 not in gpio.detecting   # edge detection removed with the pin


def test_a_pull_up_asked_of_a_jetson_pin_says_to_wire_one_and_the_run_goes_on(tmp_path, caplog):
    cfg = config(tmp_path, pin="BOARD16")     # pull = up, as on a Raspberry Pi
    with caplog.at_level(logging.WARNING):
        button = build_button(cfg.button, cfg.led, [].append, JetsonGPIOFactory(EdgesJetsonGPIO()))
    assert button is None
    assert "lock button:" in caplog.text and "[button] pull = external" in caplog.text
    assert "dashcam lock still works" in caplog.text


def test_no_pin_no_button(tmp_path):
    cfg = config(tmp_path)
    assert build_button(cfg.button, cfg.led, [].append, MockFactory()) is None


def test_a_lock_message_becomes_a_manual_lock_with_its_note_bounded():
    event = parse_message(b'{"type": "manual_lock", "note": "' + b"x" * 1000 + b'"}', 17.0)
    assert event.type == "manual_lock" and event.ts_start == 17.0
    assert event.data == {"by": "command", "note": "x" * 300}
    assert parse_message(b'{"type": "manual_lock"}', 17.0).data == {"by": "command"}
    with pytest.raises(ValueError, match="unknown type 'lock'"):
        parse_message(b'{"type": "lock"}', 17.0)
