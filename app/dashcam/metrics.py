"""Rolling windows of measurements, which workers fill and the main thread reads.

Every stage times itself into ``Window`` objects from its own thread; the
status line, the stats rows and the run summary read them as snapshots.
"""

import threading
from collections import deque


class Window:
    """The last ``size`` values of a measurement (seconds), safe to add and read across threads."""

    def __init__(self, size=512):
        self._values = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, value):
        with self._lock:
            self._values.append(value)

    def extend(self, values):
        with self._lock:
            self._values.extend(values)

    def values(self):
        with self._lock:
            return list(self._values)

    def percentile(self, q):
        return percentile(self.values(), q)


def percentile(values, q):
    """The ``q``-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = int(round(q / 100.0 * (len(ordered) - 1)))
    return ordered[min(len(ordered) - 1, max(0, rank))]
