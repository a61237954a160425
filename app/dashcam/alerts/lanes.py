"""An alert sink's queue: alerts in a lane of their own, taken before anything else.

A sink is fed alerts by the engine and, far less urgently, signals (an export
finished) and camera states by the events the store commits. In one bounded
queue a burst of the latter (anything that commits events fast: a flood on
the control socket, a flapping camera) would fill it, and an alert would be
dropped or wait behind them: a warning that comes late is no warning. Here
each kind has its own bound, and an alert waits at most for the item the sink
has in hand, however much other traffic is queued.
"""

import queue
import threading
import time
from collections import deque


class Lanes:
    """A bounded queue for one consumer, in two lanes: items for which ``urgent(item)`` is
    true (``urgent_size`` of them at most) are always taken before the others
    (``other_size`` at most). A full lane refuses with ``queue.Full``; the other lane
    still takes items. The methods ``QueueWorker`` uses of a ``queue.Queue``."""

    def __init__(self, urgent_size, other_size, urgent):
        self.sizes = (urgent_size, other_size)
        self.maxsize = urgent_size   # what the worker's messages call its queue
        self.urgent = urgent
        self._lanes = (deque(), deque())
        self._ready = threading.Condition(threading.Lock())

    def put_nowait(self, item):
        lane = 0 if self.urgent(item) else 1
        with self._ready:
            if len(self._lanes[lane]) >= self.sizes[lane]:
                raise queue.Full()
            self._lanes[lane].append(item)
            self._ready.notify()

    def get(self, timeout=None):
        """The next item, urgent first, waiting up to ``timeout`` seconds (None: for ever);
        ``queue.Empty`` if none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not (self._lanes[0] or self._lanes[1]):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise queue.Empty()
                self._ready.wait(left)
            return (self._lanes[0] or self._lanes[1]).popleft()

    def get_nowait(self):
        return self.get(0)

    def qsize(self):
        with self._ready:
            return len(self._lanes[0]) + len(self._lanes[1])

    def empty(self):
        return self.qsize() == 0
