"""A gpiozero pin factory for Jetson boards, driving Jetson.GPIO.

gpiozero's own local factories identify a Raspberry Pi by its revision code
and refuse any other board, so on a Jetson the LED needs this one. It drives
``Jetson.GPIO`` (NVIDIA's library, on PyPI and in JetPack), imported by that
name: the ``RPi.GPIO`` alias it also installs is shadowed when the real
``RPi.GPIO`` is installed too, and gpiozero's ``rpigpio`` factory would then
load the wrong library. Pins are numbered on the 40-pin header (``BOARD12``);
``GPIO18`` / ``BCM18`` / ``18`` name the same header pins as on a Raspberry Pi
(the Jetson header follows its layout). PWM exists only on some pins, and only
after they are set to PWM with ``jetson-io`` (Nano: 32 and 33). An input (the lock
button) gets its edges from Jetson.GPIO's ``add_event_detect`` with its debounce;
Jetson.GPIO sets no pull-up or pull-down, so such a pin is ``floating`` and needs a
resistor on the board.

Written for both pin APIs: gpiozero 1.6.2 (the last for Python 3.6, which
releases a pin by ``pin.number``) and 2.x (which finds reservations through
``board_info`` and releases by ``pin.info.name``): the factory keeps its own
reservations by header pin, and a pin answers to both with its name,
``BOARD12`` (a bare 12 would read as BCM 12, another pin).
"""

import time
from collections import defaultdict, namedtuple
from threading import Lock
from weakref import ref

from gpiozero.exc import (GPIOPinInUse, PinFixedPull, PinInvalidEdges, PinInvalidFunction,
                          PinInvalidPin, PinInvalidState, PinPWMUnsupported)
from gpiozero.pins import Factory, Pin

# BCM GPIO number -> header pin, for the Raspberry Pi layout that Jetson headers follow.
BCM_TO_BOARD = {2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 0: 27, 5: 29,
                6: 31, 13: 33, 19: 35, 26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22,
                8: 24, 7: 26, 1: 28, 12: 32, 16: 36, 20: 38, 21: 40}
PinInfo = namedtuple("PinInfo", "name number")   # gpiozero 2.x's pin.info, the part it reads
EDGES = ("both", "rising", "falling", "none")


def header_pin(name):
    """The 40-pin header number of ``BOARD12``, ``GPIO18``, ``BCM18``, ``18`` (BCM, as gpiozero
    reads a bare number); PinInvalidPin naming the forms for anything else."""
    text = str(name).strip().upper()
    try:
        if text.startswith("BOARD"):
            board = int(text[5:])
            if 1 <= board <= 40:
                return board
        else:
            bcm = int(text[4:] if text.startswith("GPIO") else text[3:] if text.startswith("BCM")
                      else text)
            if bcm in BCM_TO_BOARD:
                return BCM_TO_BOARD[bcm]
    except ValueError:
        pass
    raise PinInvalidPin("{!r} is not a header GPIO: use BOARD1..BOARD40 (header pins) or "
                        "GPIO0..GPIO27 (Raspberry Pi numbering)".format(name))


class JetsonGPIOPin(Pin):
    """One header pin, as gpiozero's devices use it: function, state, PWM frequency."""

    def __init__(self, factory, board):
        self.factory = factory
        self.board = board
        self.number = f"BOARD{board}"   # what gpiozero 1.6 releases the pin by
        self._function = "input"
        self._pwm = None
        self._frequency = None
        self._duty = 0.0
        self._bounce = None
        self._edges = "both"
        self._when_changed = None   # gpiozero's callback(ticks, state) while edges are detected
        self._detecting = False

    def __repr__(self):
        return self.number

    def _get_info(self):
        return PinInfo(self.number, self.board)

    info = property(_get_info)

    @property
    def _gpio(self):
        return self.factory.gpio

    def close(self):
        self.frequency = None
        self.when_changed = None
        if self._function == "output":
            self._gpio.cleanup(self.board)
        self._function = "input"

    def output_with_state(self, state):
        gpio = self._gpio
        gpio.setup(self.board, gpio.OUT, initial=gpio.HIGH if state else gpio.LOW)
        self._function = "output"

    def _get_function(self):
        return self._function

    def _set_function(self, value):
        gpio = self._gpio
        if value not in ("input", "output"):
            raise PinInvalidFunction(f"invalid function {value!r} for pin {self!r}")
        gpio.setup(self.board, gpio.OUT if value == "output" else gpio.IN)
        self._function = value

    def _get_state(self):
        if self._pwm is not None:
            return self._duty
        return self._gpio.input(self.board)

    def _set_state(self, value):
        if self._pwm is not None:
            if not 0.0 <= value <= 1.0:
                raise PinInvalidState(f"invalid state {value!r} for pin {self!r}")
            self._pwm.ChangeDutyCycle(value * 100.0)
            self._duty = value
            return
        gpio = self._gpio
        gpio.output(self.board, gpio.HIGH if value else gpio.LOW)

    def _get_pull(self):
        return "floating"

    def _set_pull(self, value):
        if value != "floating":   # Jetson.GPIO ignores setup()'s pull_up_down (it warns)
            raise PinFixedPull("{!r} has no pull-{} that software can set on a Jetson: wire a "
                               "resistor (10 kOhm to 3.3 V for a button to ground) and set "
                               "[button] pull = external".format(self, value))

    def _get_bounce(self):
        return self._bounce

    def _set_bounce(self, value):
        self._bounce = value
        self._detect()

    def _get_edges(self):
        return self._edges

    def _set_edges(self, value):
        if value not in EDGES:
            raise PinInvalidEdges(f"invalid edges {value!r} for pin {self!r}")
        self._edges = value
        self._detect()

    def _get_when_changed(self):
        return self._when_changed

    def _set_when_changed(self, value):
        self._when_changed = value
        self._detect()

    def _detect(self):
        """(Re)arm Jetson.GPIO's edge detection as edges, bounce and the callback say."""
        gpio = self._gpio
        if self._detecting:
            gpio.remove_event_detect(self.board)
            self._detecting = False
        if self._when_changed is None or self._edges == "none":
            return
        edge = {"both": gpio.BOTH, "rising": gpio.RISING, "falling": gpio.FALLING}[self._edges]
        bounce = int(round(self._bounce * 1000)) if self._bounce else None
        gpio.add_event_detect(self.board, edge, callback=self._changed, bouncetime=bounce)
        self._detecting = True

    def _changed(self, channel):
        callback = self._when_changed
        if callback is not None:
            callback(self.factory.ticks(), self._gpio.input(self.board))

    def _get_frequency(self):
        return self._frequency

    def _set_frequency(self, value):
        if value is None:
            if self._pwm is not None:
                self._pwm.stop()
                self._pwm = None
            self._frequency = None
        elif self._pwm is None:
            try:
                self._pwm = self._gpio.PWM(self.board, value)
            except ValueError as error:
                raise PinPWMUnsupported(
                    "no PWM on {!r} ({}): only some header pins have it (Nano: 32, 33), after "
                    "`sudo /opt/nvidia/jetson-io/jetson-io.py` enables it; or set "
                    "[led] pwm = false".format(self, error))
            self._pwm.start(0.0)
            self._duty = 0.0
            self._frequency = value
        else:
            self._pwm.ChangeFrequency(value)
            self._frequency = value


class JetsonGPIOFactory(Factory):
    """gpiozero's ``pin_factory`` on a Jetson; ``gpio`` is the ``Jetson.GPIO`` module
    (imported when None: tests pass a stand-in, as no Jetson GPIO exists off a Jetson)."""

    def __init__(self, gpio=None):
        Factory.__init__(self)
        if gpio is None:
            from Jetson import GPIO as gpio  # only on a Jetson, or when configured
        self.gpio = gpio
        gpio.setwarnings(False)
        gpio.setmode(gpio.BOARD)
        self._pins = {}
        self._reserved = defaultdict(list)
        self._lock = Lock()

    def pin(self, spec):
        board = header_pin(spec)
        with self._lock:
            if board not in self._pins:
                self._pins[board] = JetsonGPIOPin(self, board)
            return self._pins[board]

    def reserve_pins(self, requester, *names):
        with self._lock:
            for board in map(header_pin, names):
                for holder_ref in self._reserved[board]:
                    holder = holder_ref()
                    if holder is not None and requester._conflicts_with(holder):
                        raise GPIOPinInUse("pin BOARD{} is already in use by {!r}".format(
                            board, holder))
                self._reserved[board].append(ref(requester))

    def release_pins(self, reserver, *names):
        with self._lock:
            for board in map(header_pin, names):
                self._reserved[board] = [r for r in self._reserved[board]
                                         if r() not in (reserver, None)]

    def release_all(self, reserver):
        self.release_pins(reserver, *[f"BOARD{b}" for b in list(self._reserved)])

    def close(self):
        with self._lock:
            pins, self._pins = list(self._pins.values()), {}
        for pin in pins:
            pin.close()

    def ticks(self):
        return time.monotonic()

    def ticks_diff(self, later, earlier):
        return later - earlier

    def _get_board_info(self):
        return None   # no gpiozero board description of Jetson boards exists

    def _get_pi_info(self):
        return None

