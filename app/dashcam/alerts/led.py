"""The LED sink: a pattern per severity and signal, a heartbeat, and "camera lost".

What the LED shows is a pure function of time (``LedState.level``): a
background that repeats (the heartbeat while all is well, an even 1 Hz blink
while the camera is lost) and, over it, the pattern of the latest alert or
signal, played for a few seconds. A more urgent alert replaces a pattern in
progress; a less urgent one does not cut a more urgent one short. The sink's
thread only sets the LED when the level changes, at the moments ``level``
says. Without PWM (the default: PWM exists only on some pins, after pinmux)
a pattern is on/off; with ``[led] pwm = true`` the heartbeat is dimmed.
"""

import logging
import time
import warnings
from collections import namedtuple

from dashcam.alerts.sinks import (EXPORT_DONE, EXPORT_FAILED, IMPACT, MANUAL_LOCK, TEST, Sink,
                                  SinkUnavailable)
from dashcam.board import read_board
from dashcam.events import CRITICAL, INFO, WARNING

log = logging.getLogger(__name__)


class Pattern(namedtuple("Pattern", "steps repeat")):
    """``steps``: ``(level, seconds)`` pairs played in turn, ``repeat`` times (0: forever)."""

    __slots__ = ()

    @property
    def period(self):
        return sum(seconds for _, seconds in self.steps)


PATTERNS = {
    # backgrounds
    "heartbeat": Pattern(((1.0, 0.08), (0.0, 0.12), (1.0, 0.08), (0.0, 1.72)), 0),  # 2 s, double
    "camera_lost": Pattern(((1.0, 0.5), (0.0, 0.5)), 0),                            # even 1 Hz
    "dark": Pattern(((0.0, 1.0),), 0),
    # alerts, by severity: faster and longer the more urgent
    INFO: Pattern(((1.0, 0.15), (0.0, 0.15)), 2),            # two blinks
    WARNING: Pattern(((1.0, 0.1), (0.0, 0.1)), 10),          # 5 Hz for 2 s
    CRITICAL: Pattern(((1.0, 0.05), (0.0, 0.05)), 30),       # 10 Hz for 3 s
    # signals from other stages
    EXPORT_DONE: Pattern(((1.0, 0.6), (0.0, 0.3)), 3),       # three long blinks
    EXPORT_FAILED: Pattern(((1.0, 0.1), (0.0, 0.1), (1.0, 0.1), (0.0, 0.7)), 4),
    TEST: Pattern(((1.0, 1.0), (0.0, 0.5)), 2),
    IMPACT: Pattern(((1.0, 0.05), (0.0, 0.05)), 30),         # as a critical alert
    MANUAL_LOCK: Pattern(((1.0, 0.05), (0.0, 0.1)), 3),      # three quick blinks: kept
}
# How urgent each foreground pattern is: a pattern does not replace a more urgent one.
RANK = {INFO: 1, EXPORT_DONE: 1, EXPORT_FAILED: 2, TEST: 2, MANUAL_LOCK: 2, WARNING: 3,
        CRITICAL: 4, IMPACT: 4}
HEARTBEAT_PWM_LEVEL = 0.2   # with PWM, the heartbeat glows instead of flashing
# gpiozero's factories by the names its GPIOZERO_PIN_FACTORY takes, the same in 1.6 and 2.x.
GPIOZERO_FACTORIES = {"rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
                      "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
                      "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory"),
                      "native": ("gpiozero.pins.native", "NativeFactory"),
                      "mock": ("gpiozero.pins.mock", "MockFactory")}
FACTORY_NAMES = ("auto", "jetson") + tuple(sorted(GPIOZERO_FACTORIES))


def pattern_level(pattern, elapsed):
    """``(level, seconds to the next change)`` of ``pattern`` started ``elapsed`` seconds ago;
    ``(None, None)`` once a pattern with repeats has finished."""
    period = pattern.period
    if elapsed < 0:
        elapsed = 0.0
    if pattern.repeat and elapsed >= period * pattern.repeat:
        return None, None
    into = elapsed % period
    for level, seconds in pattern.steps:
        if into < seconds:
            return level, seconds - into
        into -= seconds
    return pattern.steps[-1][0], 1e-6   # float rounding at the period's end


class LedState:
    """What the LED shows at any moment: a background and the current foreground pattern."""

    def __init__(self, heartbeat=True, heartbeat_level=1.0):
        self.heartbeat = heartbeat
        self.heartbeat_level = heartbeat_level
        self.camera_lost = False
        self.background_since = 0.0
        self.foreground = None     # (name, started)

    def background(self):
        if self.camera_lost:
            return "camera_lost"
        return "heartbeat" if self.heartbeat else "dark"

    def set_camera_lost(self, lost, now):
        if lost != self.camera_lost:
            self.camera_lost = lost
            self.background_since = now

    def show(self, name, now):
        """Play pattern ``name`` from ``now``; False (nothing changes) while a more urgent
        pattern is still playing."""
        current = self.active(now)
        if current is not None and RANK[current] > RANK[name]:
            return False
        self.foreground = (name, now)
        return True

    def active(self, now):
        """The foreground pattern playing at ``now``, or None."""
        if self.foreground is None:
            return None
        name, started = self.foreground
        if pattern_level(PATTERNS[name], now - started)[0] is None:
            self.foreground = None
            return None
        return name

    def level(self, now):
        """``(level 0..1, seconds until it changes)`` at ``now``."""
        name = self.active(now)
        if name is not None:
            level, left = pattern_level(PATTERNS[name], now - self.foreground[1])
            return level, left
        background = self.background()
        level, left = pattern_level(PATTERNS[background], now - self.background_since)
        if background == "heartbeat" and level:
            level = self.heartbeat_level
        return level, left


class LedSink(Sink):
    """Shows alerts and signals on a gpiozero ``LED`` or ``PWMLED`` (``led``), or says once
    that there is none (``led`` None, ``reason`` why) and delivers ``unavailable``."""

    def __init__(self, led, reason=None, heartbeat=True, name="led", **kwargs):
        Sink.__init__(self, name, **kwargs)
        self.led = led
        self.reason = reason
        pwm = led is not None and hasattr(led, "pulse")   # PWMLED has pulse, LED has not
        self.state = LedState(heartbeat, HEARTBEAT_PWM_LEVEL if pwm else 1.0)
        self.state.background_since = self.clock()
        self._pwm = pwm
        self._shown = None
        if led is None:   # said now, once: each alert's unavailable delivery gives the same reason
            self.failing(reason)

    def deliver(self, alert):
        if self.led is None:
            raise SinkUnavailable(self.reason)
        now = self.clock()
        if not self.state.show(alert.severity, now):
            return f"{alert.severity} pattern not shown: a more urgent one is playing"
        self.tick(now)
        return f"{alert.severity} pattern"

    def show_signal(self, signal):
        if self.led is not None and self.state.show(signal.kind, self.clock()):
            self.tick(self.clock())

    def camera_changed(self, lost):
        self.state.set_camera_lost(lost, self.clock())
        self.tick(self.clock())

    def next_tick(self, now):
        return self.state.level(now)[1] if self.led is not None else None

    def tick(self, now):
        if self.led is None:
            return
        level, _ = self.state.level(now)
        if not self._pwm:
            level = 1.0 if level > 0 else 0.0
        if level != self._shown:
            self.led.value = level
            self._shown = level

    def close(self):
        if self.led is not None:
            led, self.led = self.led, None
            try:
                led.off()
            finally:
                led.close()


def build_factory(name, board=None):
    """The pin factory ``[led] pin-factory`` names: ``auto`` (Jetson.GPIO when ``board``, a
    ``dashcam.board.Board`` read when None, is a Jetson; else None: gpiozero's own choice),
    ``jetson``, or one of gpiozero's (``GPIOZERO_FACTORIES``)."""
    from dashcam.alerts import pins
    if name == "jetson" or (name == "auto" and (board or read_board()).is_jetson):
        return pins.JetsonGPIOFactory()
    if name == "auto":
        return None
    module, cls = GPIOZERO_FACTORIES[name]
    return getattr(__import__(module, fromlist=[cls]), cls)()


def build_led_sink(section, factory=None, clock=time.monotonic, wall_clock=time.time, board=None):
    """The ``[led]`` sink: gpiozero ``LED`` (``PWMLED`` with ``pwm``) on ``pin`` through
    ``factory`` (else ``[led] pin-factory``'s on ``board``); without GPIO, a sink that says
    so once."""
    kwargs = dict(heartbeat=section.heartbeat, clock=clock, wall_clock=wall_clock)
    try:
        from gpiozero import LED, PWMLED
        with warnings.catch_warnings():
            # gpiozero warns about each default factory it cannot load; the one line
            # below says what matters
            warnings.simplefilter("ignore")
            if factory is None:
                factory = build_factory(section.pin_factory, board)
            device = PWMLED if section.pwm else LED
            led = device(section.pin, active_high=section.active_high, initial_value=False,
                         pin_factory=factory)
    except Exception as error:  # no GPIO here, whatever the library says: the run goes on
        return LedSink(None, reason=no_gpio_reason(section, error), **kwargs)
    return LedSink(led, **kwargs)


def no_gpio_reason(section, error):
    """One line on why the LED cannot be driven, with the fix where one is known."""
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    # Jetson.GPIO says RuntimeError("... does not have permissions ..."), the kernel EACCES
    if getattr(error, "errno", None) == 13 or "permission" in str(error).lower():
        return ("no permission for GPIO ({}): add the user to group gpio and install "
                "Jetson.GPIO's udev rule, 99-gpio.rules (the service install does both)".format(
                    text))
    if type(error).__name__ == "BadPinFactory":
        return ("no GPIO for pin {}: gpiozero has no pin factory for this machine (neither a "
                "Raspberry Pi nor a Jetson?)".format(section.pin))
    if isinstance(error, ImportError):
        return f"no GPIO library ({text}): on a Jetson `pip install Jetson.GPIO`"
    return "no GPIO for pin {} with pin factory {} ({})".format(
        section.pin, section.pin_factory, text)
