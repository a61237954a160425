"""Hand-offs to consumers that must never hold up the thread that produces for them.

A ``Subscriber`` runs one consumer, ``handle(item)``, on its own named thread
behind a bounded queue. ``offer`` never blocks: when the queue is full the item
is dropped and counted, and a handler that raises is counted too; both are
logged at most once a minute, so a wedged serial port neither delays its
producer nor floods the journal. ``FanOut`` offers each item to every
subscriber.

The store's writer publishes each committed event this way (clip protection,
export), and the inference worker each frame's ``FrameRecord`` as it leaves
(alert rules: a warning must not wait for an fsync).
"""

import logging
import time

from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)


class Subscriber(QueueWorker):
    """Calls ``handle(item)`` on its own thread for every item offered and not dropped.

    ``queue_size`` (256 by default) bounds what waits. Counters: ``handled``,
    ``dropped`` (refused: the queue was full), ``failed`` (the handler raised).
    """

    def __init__(self, name, handle, queue_size=256, clock=time.monotonic):
        QueueWorker.__init__(self, queue_size, name, clock)
        self.handle = handle
        self.handled = self.failed = 0

    def consume(self, item):
        try:
            self.handle(item)
        except Exception:  # a broken consumer costs its own items, nothing else
            self.failed += 1
            self.report("failed", logging.ERROR, "%s failed on an item (%d so far)",
                        self.name, self.failed, exc_info=True)
        else:
            self.handled += 1


class FanOut:
    """Offers each published item to every subscriber; never blocks, never raises.

    Made empty by the producer's build step; consumers built later ``add`` themselves,
    before the run starts.
    """

    def __init__(self, subscribers=()):
        self.subscribers = list(subscribers)

    def add(self, *subscribers):
        """Subscribe workers with an ``offer(item)`` (``Subscriber``s, a preview)."""
        self.subscribers.extend(subscribers)

    def __call__(self, item):
        for subscriber in self.subscribers:
            subscriber.offer(item)

    def __bool__(self):
        return bool(self.subscribers)
