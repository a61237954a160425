"""The LED sink: patterns over time on gpiozero's MockFactory pins, the Jetson.GPIO pin factory
under the installed gpiozero (2.x here, 1.6.2 in the Python 3.6 suite), and no GPIO at all.

The Jetson factory is tested against ``StandInJetsonGPIO``, a test double of the
part of Jetson.GPIO it uses (setmode, setup, output, input, cleanup, PWM),
written from Jetson.GPIO 2.1's gpio.py: no Jetson GPIO exists on this machine.
"""

import threading

import pytest
from gpiozero import LED, PWMLED
from gpiozero.exc import GPIOPinInUse, PinInvalidPin, PinPWMUnsupported
from gpiozero.pins.mock import MockFactory, MockPWMPin

from dashcam.alerts.led import (PATTERNS, LedSink, LedState, build_factory, build_led_sink,
                                no_gpio_reason, pattern_level)
from dashcam.alerts.pins import JetsonGPIOFactory, header_pin
from dashcam.alerts.records import DELIVERED, UNAVAILABLE, Alert
from dashcam.alerts.sinks import EXPORT_DONE
from dashcam.board import Board
from dashcam.config import load_config


def alert(severity, alert_id=1):
    return Alert(alert_id, "r", severity, 1, "car", 0.9, (0, 0, 10, 10), None, 0, 0.0, 0.0, 0.0, 0.0)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def play(sink, clock, until):
    """Step the sink's clock from change to change up to ``until``: [(time, LED value)]."""
    seen = [(round(clock.now, 3), sink.led.value)]
    while True:
        step = sink.next_tick(clock.now)
        if clock.now + step > until:
            return seen
        clock.now += step + 1e-6
        sink.tick(clock.now)
        if sink.led.value != seen[-1][1]:
            seen.append((round(clock.now, 3), sink.led.value))


@pytest.fixture(autouse=True)
def fresh_mock_pins():
    """gpiozero 1.6 keeps mock pins and their reservations across factories: start clean."""
    MockFactory().reset()
    yield
    MockFactory().reset()


def mock_sink(clock, pwm=False, **kwargs):
    factory = MockFactory(pin_class=MockPWMPin) if pwm else MockFactory()
    led = (PWMLED if pwm else LED)("BOARD12", pin_factory=factory)
    return LedSink(led, clock=clock, **kwargs), factory.pin("BOARD12")


def test_patterns_are_pure_functions_of_elapsed_time():
    assert pattern_level(PATTERNS["warning"], 0.0) == (1.0, 0.1)
    level, left = pattern_level(PATTERNS["warning"], 0.15)
    assert level == 0.0 and left == pytest.approx(0.05)
    assert pattern_level(PATTERNS["warning"], 2.0) == (None, None)      # ten blinks, then over
    assert pattern_level(PATTERNS["heartbeat"], 1000.05)[0] == 1.0       # repeats forever
    state = LedState()
    assert state.show("warning", 0.0) and not state.show("info", 0.5)   # less urgent: not shown
    assert state.show("critical", 0.6) and state.active(0.7) == "critical"
    assert state.active(3.61) is None                                   # 3 s of critical, over


def test_heartbeat_then_a_critical_alert_then_heartbeat_again_on_mock_pins():
    clock = Clock()
    sink, pin = mock_sink(clock)
    sink.tick(0.0)
    # a double blink every 2 s
    assert play(sink, clock, 2.1) == [(0.0, 1), (0.08, 0), (0.2, 1), (0.28, 0), (2.0, 1), (2.08, 0)]
    clock.now = 2.5
    assert sink.deliver(alert("critical")) == "critical pattern"
    flashes = play(sink, clock, 5.5)
    assert len([t for t, v in flashes if v == 1 and 2.5 <= t < 5.5]) == 30   # 10 Hz for 3 s
    assert sink.deliver(alert("info")) == "info pattern"                     # critical is over
    # every change reached the pin, in order: gpiozero's mock recorded each one
    states = [s.state for s in pin.states]
    assert states[:7] == [False, True, False, True, False, True, False]
    assert all(a != b for a, b in zip(states, states[1:]))


def test_a_lost_camera_blinks_evenly_until_it_is_back():
    clock = Clock()
    sink, _ = mock_sink(clock)
    sink.tick(0.0)
    clock.now = 10.0
    sink.camera_changed(True)
    assert play(sink, clock, 12.2) == [(10.0, 1), (10.5, 0), (11.0, 1), (11.5, 0), (12.0, 1)]
    sink.camera_changed(False)
    assert play(sink, clock, 12.5)[:2] == [(12.0, 1), (12.08, 0)]       # heartbeat again


def test_signals_and_pwm_dim_the_heartbeat():
    clock = Clock()
    sink, pin = mock_sink(clock, pwm=True)
    sink.tick(0.0)
    assert pin.state == pytest.approx(0.2)                  # a dim heartbeat blink
    clock.now = 0.5
    sink.show_signal(type("S", (), {"kind": EXPORT_DONE})())
    assert pin.state == 1.0
    assert [v for _, v in play(sink, clock, 3.2)] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="unknown signal 'export'"):
        sink.signal("export")


def test_the_sink_thread_delivers_and_leaves_the_led_off_and_closed():
    factory = MockFactory()
    led = LED("BOARD12", pin_factory=factory)
    sink = LedSink(led)
    done = threading.Event()
    sink.on_delivery = lambda a, d: (setattr(done, "delivery", d), done.set())
    sink.start()
    assert sink.offer(alert("warning"))
    assert done.wait(5.0) and done.delivery.status == DELIVERED
    assert sink.stop(2.0)
    assert led.closed and factory.pin("BOARD12").state is False


def test_without_gpio_the_sink_says_so_once_and_delivers_unavailable(caplog):
    config = load_config()
    sink = build_led_sink(config.led, factory=None)        # this machine has no GPIO
    assert sink.led is None and "no GPIO for pin BOARD12" in sink.reason
    assert caplog.text.count("alert sink led: no GPIO for pin BOARD12") == 1
    delivered = []
    sink.on_delivery = lambda a, d: delivered.append(d)
    sink.consume(alert("critical"))
    sink.consume(alert("critical", 2))
    assert [d.status for d in delivered] == [UNAVAILABLE, UNAVAILABLE]
    assert delivered[0].error == sink.reason
    # said once in all, not again by the first delivery; counted apart from failures
    assert caplog.text.count("no GPIO for pin BOARD12") == 1
    assert sink.counts() == {"delivered": 0, "failed": 0, "unavailable": 2, "dropped": 0}


class StandInJetsonGPIO:
    """The Jetson.GPIO calls the factory makes (see the module docstring); PWM on 32 and 33."""

    BOARD, BCM, OUT, IN, HIGH, LOW = 10, 11, 0, 1, 1, 0

    def __init__(self):
        self.mode, self.levels, self.setups, self.cleaned, self.pwms = None, {}, [], [], {}
        test = self

        class PWM:
            def __init__(self, channel, frequency_hz):
                if channel not in (32, 33):
                    raise ValueError(f"Channel {channel} is not a PWM")
                self.channel, self.frequency, self.duty, self.running = channel, frequency_hz, None, False
                test.pwms[channel] = self

            def start(self, duty):
                self.duty, self.running = duty, True

            def ChangeDutyCycle(self, duty):
                self.duty = duty

            def ChangeFrequency(self, hz):
                self.frequency = hz

            def stop(self):
                self.running = False
        self.PWM = PWM

    def setwarnings(self, state):
        self.warnings = state

    def setmode(self, mode):
        if self.mode is not None and mode != self.mode:
            raise ValueError("A different mode has already been set!")
        self.mode = mode

    def setup(self, channel, direction, initial=None):
        self.setups.append((channel, direction, initial))
        if direction == self.OUT:
            self.levels[channel] = initial if initial is not None else self.LOW

    def output(self, channel, value):
        self.levels[channel] = value

    def input(self, channel):
        return self.levels.get(channel, self.LOW)

    def cleanup(self, channel=None):
        self.cleaned.append(channel)
        self.levels.pop(channel, None)


def test_the_jetson_factory_drives_jetson_gpio_in_board_numbering():
    gpio = StandInJetsonGPIO()
    factory = JetsonGPIOFactory(gpio=gpio)
    assert gpio.mode == gpio.BOARD and gpio.warnings is False
    led = LED("GPIO18", pin_factory=factory)                 # BCM 18 is header pin 12
    assert gpio.setups == [(12, gpio.OUT, gpio.LOW)]
    led.on()
    assert gpio.levels[12] == gpio.HIGH and led.is_lit
    led.off()
    assert gpio.levels[12] == gpio.LOW
    with pytest.raises(GPIOPinInUse):
        LED("BOARD12", pin_factory=factory)
    led.close()
    assert gpio.cleaned == [12]
    again = LED("BOARD12", active_high=False, pin_factory=factory)   # released: free again
    again.on()
    assert gpio.levels[12] == gpio.LOW                        # active low sinks the current
    again.close()
    factory.close()


def test_the_jetson_factory_has_pwm_only_where_the_board_has_it():
    gpio = StandInJetsonGPIO()
    factory = JetsonGPIOFactory(gpio=gpio)
    dimmer = PWMLED("BOARD33", pin_factory=factory)
    dimmer.value = 0.25
    assert gpio.pwms[33].running and gpio.pwms[33].duty == 25.0 and dimmer.value == 0.25
    dimmer.close()
    assert not gpio.pwms[33].running
    with pytest.raises(PinPWMUnsupported, match="jetson-io"):
        PWMLED("BOARD12", pin_factory=factory)


def test_a_pwm_led_on_a_pin_without_pwm_is_unavailable_with_the_fix(tmp_path):
    ini = tmp_path / "led.ini"
    ini.write_text("[led]\npwm = true\npin = BOARD12\n")
    sink = build_led_sink(load_config(str(ini)).led, factory=JetsonGPIOFactory(StandInJetsonGPIO()))
    assert sink.led is None and "jetson-io" in sink.reason


def test_no_permission_for_jetson_gpio_names_the_group_and_the_udev_rule():
    class NoPermission(StandInJetsonGPIO):
        def setmode(self, mode):
            # Jetson.GPIO 2.1's words when /dev/gpiochip0 is not the user's
            raise RuntimeError("The current user does not have permissions set to access the "
                               "library functionalites.")
    with pytest.raises(RuntimeError) as error:
        JetsonGPIOFactory(NoPermission())
    reason = no_gpio_reason(load_config().led, error.value)
    assert "group gpio" in reason and "99-gpio.rules" in reason


def test_header_pins_and_factory_choice():
    assert [header_pin(n) for n in ("BOARD12", "board40", "GPIO18", "BCM4", 17, "27")] == [
        12, 40, 12, 7, 11, 13]
    for bad in ("BOARD41", "GPIO28", "J8:12", "PWM0"):
        with pytest.raises(PinInvalidPin):
            header_pin(bad)
    pi = Board("Raspberry Pi 4 Model B Rev 1.4", ("raspberrypi,4-model-b", "brcm,bcm2711"))
    assert build_factory("auto", board=pi) is None          # gpiozero's own choice
    assert build_factory("auto", board=Board("")) is None   # a PC: the same
    assert isinstance(build_factory("mock"), MockFactory)
