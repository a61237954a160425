"""The lock button: a press keeps the clip around it (a ``manual_lock`` event).

A gpiozero ``Button`` on ``[button] pin``, through the pin factory the LED uses. Its
press is handled on gpiozero's own thread and only queues the event with the event
logger (which never blocks); the committed event protects the clip (``[recording]
clips``) and is acknowledged on the LED and the serial line (``alerts.engine.EventWatch``),
as ``dashcam lock`` is through the control socket. A press within ``hold_off`` seconds
of the last lock makes none: one moment, one clip.
"""

import logging
import time
import warnings
from collections import namedtuple

from dashcam import events as ev

log = logging.getLogger(__name__)
Pins = namedtuple("Pins", "pin pin_factory")   # what no_gpio_reason reads of a section


class LockButton:
    """Calls ``submit(manual_lock event)`` when ``button`` (a gpiozero ``Button``) is pressed.
    Counters: ``presses``, ``locks``."""

    def __init__(self, button, submit, hold_off=2.0, clock=time.monotonic, wall_clock=time.time):
        self.button, self.submit, self.hold_off = button, submit, hold_off
        self.clock, self.wall_clock = clock, wall_clock
        self.presses = self.locks = 0
        self._last = None
        button.when_pressed = self.pressed

    def pressed(self, device=None):
        self.presses += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.hold_off:
            return
        self._last = now
        self.locks += 1
        self.submit(ev.manual_lock(self.wall_clock(), "button"))
        log.info("lock button pressed: this moment's clip is kept")

    def close(self):
        """Release the pin; idempotent."""
        button, self.button = self.button, None
        if button is not None:
            button.when_pressed = None
            button.close()


def build_button(section, led_section, submit, factory=None, board=None, clock=time.monotonic,
                 wall_clock=time.time):
    """The ``[button]`` of ``section`` on ``factory`` (else ``[led] pin-factory``'s, on
    ``board``), or None when no pin is set or there is no GPIO (said once; the run goes on)."""
    if not section.pin:
        return None
    from dashcam.alerts.led import build_factory, no_gpio_reason
    try:
        from gpiozero import Button
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # gpiozero's per-factory fallbacks; one line below
            if factory is None:
                factory = build_factory(led_section.pin_factory, board)
            pull_up = {"up": True, "down": False, "external": None}[section.pull]
            button = Button(section.pin, pull_up=pull_up,
                            active_state=None if pull_up is not None else not section.active_low,
                            bounce_time=section.bounce or None, pin_factory=factory)
    except Exception as error:  # no GPIO here, whatever the library says: the run goes on
        log.warning("lock button: %s; the run goes on without it (dashcam lock still works)",
                    no_gpio_reason(Pins(section.pin, led_section.pin_factory), error))
        return None
    return LockButton(button, submit, section.hold_off, clock, wall_clock)
