"""The GPS as every other stage reads it: the latest fix, the fix at a past moment, the speed.

The GPS worker ``update``s it from its own thread; readers (the event logger's stamps, alert
rules' min-speed, parking mode, fleet payloads, the status line) call ``latest()``,
``at(t)`` and ``speed_kmh()`` from theirs. Fixes are kept by the wall-clock time they were
received (the run's own clock, the one events are stamped with), not by the receiver's
time: a receiver's clock may be off from the system's (or a replay's), and what an event
needs is where the car was when the event happened here. A fix older than ``max_age``
(``[gps] lost-after``) is no fix: none is invented from a stale one.
"""

import bisect
import threading
import time

KEEP_S = 600.0   # fixes kept for ``at``: a segment's start, or a batch the store held, looks back


class GpsState:
    """The fixes of the last ``keep_s`` seconds (600 by default), thread-safe.

    ``source``: what feeds it, for the status line ("none" when no receiver is configured).
    ``max_age``: seconds after which a fix no longer counts (3 by default).
    """

    def __init__(self, source="none", max_age=3.0, keep_s=KEEP_S, wall_clock=time.time):
        self.source, self.max_age, self.keep_s = source, max_age, keep_s
        self.wall_clock = wall_clock
        self.lost = False          # set by the worker: the device is gone or no fix came
        self._lock = threading.Lock()
        self._times, self._fixes = [], []

    def update(self, fix):
        """Record ``fix`` as received now; returns when (UTC epoch seconds, the run's clock).
        The time is taken under the lock, so a reader stamping a moment after it has the fix
        (a time taken before it, then a thread switch, would let a stamp miss it)."""
        with self._lock:
            received = self.wall_clock()
            if self._times and received < self._times[-1]:
                received = self._times[-1]   # a clock stepped back: keep the list sorted
            self._times.append(received)
            self._fixes.append(fix)
            if received - self._times[0] > 2 * self.keep_s:   # trim in bulk, not per fix
                cut = bisect.bisect_left(self._times, received - self.keep_s)
                del self._times[:cut], self._fixes[:cut]
        return received

    def at(self, t):
        """``(Fix, age_s)``: the last fix received at or before ``t`` (UTC epoch seconds),
        ``age_s`` seconds before it, if within ``max_age``; else None."""
        with self._lock:
            i = bisect.bisect_right(self._times, t) - 1
            if i < 0 or t - self._times[i] > self.max_age:
                return None
            return self._fixes[i], t - self._times[i]

    def latest(self):
        """``(Fix, age_s)`` of the newest fix, now; None when there is none within ``max_age``."""
        return self.at(self.wall_clock())

    def speed_kmh(self):
        """The speed over ground now, km/h; None without a current fix (or a speed)."""
        found = self.latest()
        return None if found is None else found[0].speed_kmh

    def describe(self):
        """The fix state in a few words, for the status line: ``52 km/h 3D``, ``lost``..."""
        if self.source == "none":
            return "off"
        found = self.latest()
        if found is None:
            return "lost" if self.lost else "no fix"
        speed = found[0].speed_kmh
        return "{} {}D".format("-" if speed is None else f"{speed:.0f} km/h", found[0].mode)
