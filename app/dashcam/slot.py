"""The one-frame slot between a producer and a consumer thread: the newest frame wins.

The capture thread puts every frame here, overwriting (and counting) one the
inference worker has not taken yet, so latency never builds up behind a slow
model; the preview has a slot of its own, so a slow encoder skips frames
instead of slowing inference. Sources that lose nothing by waiting (files,
synthetic at full speed) wait for the slot to be free instead.
"""

import threading


class SlotClosed(Exception):
    """The slot was closed and is empty: no frame will come any more."""


class LatestFrame:
    """A one-frame slot between the capture and inference threads.

    Counters: ``puts`` (frames offered), ``overwritten`` (frames replaced before
    anyone took them: the dropped frames), ``taken``.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._frame = None
        self._taken = None       # the frame the consumer took last: it may still be using it
        self._closed = False
        self.puts = 0
        self.overwritten = 0
        self.taken = 0

    def put(self, frame):
        """Store ``frame``, replacing (and counting) an untaken one."""
        with self._cond:
            if self._frame is not None:
                self.overwritten += 1
            self._frame = frame
            self.puts += 1
            self._cond.notify_all()

    def wait_free(self, cancel, poll=0.1):
        """Wait until the last frame was taken (or the slot closed); False if ``cancel`` was set."""
        with self._cond:
            while self._frame is not None and not self._closed:
                if cancel.is_set():
                    return False
                self._cond.wait(poll)
            return not cancel.is_set()

    def get(self, timeout):
        """The newest frame, waiting up to ``timeout`` s; None on timeout; ``SlotClosed`` when done."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self._taken = frame
                self.taken += 1
                self._cond.notify_all()
                return frame
            if self._closed:
                raise SlotClosed()
            return None

    def held(self):
        """Frames whose buffers may be in use: the one waiting here and the one last taken."""
        with self._cond:
            return [f for f in (self._frame, self._taken) if f is not None]

    def close(self):
        """No more frames: a waiting ``get`` returns the last frame, then raises ``SlotClosed``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wake(self):
        with self._cond:
            self._cond.notify_all()
