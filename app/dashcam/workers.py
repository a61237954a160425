"""The one base for every thread in the application.

A worker owns one named thread and one stop Event. Its loop blocks on
``stop_event.wait(t)`` or on a queue/slot with a timeout, never on a bare
``sleep``, so ``stop()`` takes effect within one wait. ``stop()`` joins with a
timeout and reports a thread that will not die instead of hanging the process
(the threads are daemons, so such a thread cannot keep the process alive).
"""

import logging
import threading

log = logging.getLogger(__name__)


class Worker(object):
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
        except Exception as error:  # reported, and the pipeline sees it in .error
            self.error = error
            log.exception("%s stopped on an error", self.name)
        finally:
            self.done.set()

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
