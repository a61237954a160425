"""The one base for every thread in the application, and the queue-fed kind of it.

A worker owns one named thread and one stop Event. Its loop blocks on
``stop_event.wait(t)`` or on a queue/slot with a timeout, never on a bare
``sleep``, so ``stop()`` takes effect within one wait. ``stop()`` joins with a
timeout and reports a thread that will not die instead of hanging the process
(the threads are daemons, so such a thread cannot keep the process alive).
A ``QueueWorker`` is fed through a bounded queue that never blocks its
producers: what does not fit is dropped, counted and logged once a minute.
"""

import logging
import queue
import threading
import time

from dashcam.errors import DashcamError

log = logging.getLogger(__name__)


class Worker:
    """Subclasses implement ``run()`` (the loop) and may override ``wake()``.

    ``error`` holds the exception that ended ``run()``, if any; ``done`` is set
    when the thread has finished, however it finished.
    """

    name = "worker"

    def __init__(self, name=None):
        if name:
            self.name = name
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self.error = None
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._main, name=self.name)
        self._thread.daemon = True
        self._thread.start()
        return self

    def _main(self):
        try:
            self.run()
        except DashcamError as error:   # expected (a full disk, a dead ffmpeg): one line
            self.error = error
            log.error("%s stopped: %s", self.name, error)
        except Exception as error:  # reported, and the pipeline sees it in .error
            self.error = error
            log.exception("%s stopped on an error", self.name)
        finally:
            self.done.set()

    @property
    def error_line(self):
        """Why the thread ended on an error, in one line; None while it has not."""
        if self.error is None:
            return None
        if isinstance(self.error, DashcamError):
            return str(self.error)
        return f"{type(self.error).__name__}: {self.error}"

    def run(self):
        raise NotImplementedError

    def wake(self):
        """Unblock ``run()`` where it waits on something other than the stop Event."""

    @property
    def stopping(self):
        return self.stop_event.is_set()

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout):
        """Wait for the thread to end by itself; True if it did."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive

    def request_stop(self):
        """Ask the loop to end; do not wait."""
        self.stop_event.set()
        self.wake()

    def stop(self, timeout=1.0):
        """Ask the loop to end, wait up to ``timeout`` seconds; False (and logged) if it did not."""
        self.request_stop()
        if self.join(timeout):
            return True
        log.error("thread %s did not stop within %.1f s; leaving it (daemon) behind",
                  self.name, timeout)
        return False


class Throttled:
    """Logs a recurring problem at most once per ``interval`` seconds (60 by default)."""

    def __init__(self, logger, interval=60.0, clock=time.monotonic):
        self.logger, self.interval, self.clock = logger, interval, clock
        self._last = {}

    def __call__(self, key, level, message, *args, **kwargs):
        now = self.clock()
        last = self._last.get(key)
        if last is None or now - last >= self.interval:
            self._last[key] = now
            self.logger.log(level, message, *args, **kwargs)


_WAKE = object()  # put by wake() so that a stop is seen without waiting out a timeout


class QueueWorker(Worker):
    """A worker whose thread takes items from a bounded queue of ``queue_size``.

    ``offer(item)`` never blocks: on a full queue the item is dropped and
    counted in ``dropped``. The one run loop of every queue-fed worker (the
    store's writer, the recorder, alert sinks, subscribers): ``begin()`` once,
    then each item to ``consume(item)`` and, after every item or wait,
    ``tick(now)`` (periodic work: a retry, a pattern, a heartbeat);
    ``next_tick(now)`` says how soon that is due (None: only ``POLL_S``).
    It ends only when stopped *and* drained, so what was offered before a
    stop is still consumed (within ``stop``'s timeout), then ``finish()``.
    """

    POLL_S = 0.2   # the longest wait for an item, so a stop is seen without a wake too

    def __init__(self, queue_size, name=None, clock=time.monotonic):
        Worker.__init__(self, name)
        self.queue = queue.Queue(queue_size)
        self.dropped = 0
        self.clock = clock
        self.report = Throttled(log, clock=clock)

    def offer(self, item):
        """Queue ``item`` without blocking; False (and ``drop(item)``) when the queue is full."""
        try:
            self.queue.put_nowait(item)
            return True
        except queue.Full:
            self.drop(item)
            return False

    def drop(self, item):
        """An item that did not fit: counted in ``dropped``, logged once a minute."""
        self.dropped += 1
        self.report("dropped", logging.WARNING,
                    "%s is behind: its queue of %d is full, %d items dropped so far",
                    self.name, self.queue.maxsize, self.dropped)

    def wake(self):
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # it is busy: it sees the stop when the queue is empty

    def take(self, timeout):
        """The next item, waiting up to ``timeout`` s (0: not at all); ``queue.Empty`` if none
        came, or if ``wake()`` cut the wait short (the caller then looks at ``stopping``)."""
        item = self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait()
        if item is _WAKE:
            raise queue.Empty()
        return item

    def run(self):
        self.begin()
        while not (self.stopping and self.queue.empty()):
            due = self.next_tick(self.clock())
            try:
                item = self.take(self.POLL_S if due is None else max(0.0, min(due, self.POLL_S)))
            except queue.Empty:
                pass
            else:
                self.consume(item)
            self.tick(self.clock())
        self.finish()

    def begin(self):
        """Once, on the worker's thread, before the first item."""

    def consume(self, item):
        raise NotImplementedError

    def next_tick(self, now):
        """Seconds until ``tick`` is due; None: no periodic work beyond the poll."""
        return None

    def tick(self, now):
        """Periodic work, after every item and every wait."""

    def finish(self):
        """Once, on the worker's thread, after the queue is drained at the stop."""
