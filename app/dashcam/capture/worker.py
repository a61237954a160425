"""The capture thread: reads the source, stamps each frame, keeps only the newest.

Newest frame wins: the capture worker puts every frame in a ``LatestFrame``
slot (``dashcam.slot``), so latency never builds up behind a slow model.
Sources that lose nothing by waiting (files, synthetic at full speed) instead
wait until the slot is free, so every frame is processed.

A source that fails or vanishes is closed and reopened with exponential
backoff capped at 10 s; ``camera_lost`` and ``camera_restored`` events are
emitted and the application never exits for it.
"""

import logging
import threading
import time

from dashcam import events as ev
from dashcam.capture.argus import diagnose_for
from dashcam.errors import SourceError
from dashcam.records import Frame
from dashcam.worker import Worker

log = logging.getLogger(__name__)

# The longest wait between reopen tries: a camera plugged back in is in use within this.
BACKOFF_CAP_S = 10.0


def backoff_delay(failures, base=0.5, cap=BACKOFF_CAP_S):
    """Seconds to wait after the ``failures``-th failure in a row: base, 2 base, 4 base... up to ``cap``."""
    return min(cap, base * (2.0 ** max(0, failures - 1)))


def pacing_delay(started, frames_done, fps, now):
    """Seconds until frame ``frames_done`` is due at ``fps`` after ``started`` (>= 0).

    Returns ``None`` when more than one frame late: the caller restarts its
    schedule, so a stall is not followed by a burst of catch-up frames.
    """
    delay = started + frames_done / float(fps) - now
    if delay < -1.0 / fps:
        return None
    return max(0.0, delay)


def _reason(error, first):
    """A failure's one-line reason. Anything but a SourceError is caught too (a camera
    driver's surprise must cost a reconnect, never the run) and, the first time in a
    row, logged with its traceback."""
    if isinstance(error, SourceError):
        return str(error)
    if first:
        log.exception("source error")
    return f"{type(error).__name__}: {error}"


class CaptureWorker(Worker):
    """Reads frames from ``open_source()`` into ``slot``; events go to ``emit(event)``.

    ``open_source`` is a callable returning a source (see ``capture.sources``)
    or raising ``SourceError``; it is called again after each failure, after
    ``backoff_delay(failures, reconnect_min, reconnect_max)`` seconds.
    ``finished`` is set when a file source reaches its end.

    ``prepare(image, held_frames, size)``, if given, makes the network input here, ahead of the
    inference worker, so that it overlaps the inference of the previous frame:
    for lossless sources always (no frame is dropped, nothing is wasted), for
    live ones only with ``prepare_live`` (frames that get overwritten were
    prepared for nothing, but a GPU backend leaves the CPU free for it).

    ``publish(frame)``, if given, gets every frame read, before the slot (the
    recorder's own bounded queue: a ``FanOut`` or a worker's ``offer``); it
    must not block.

    ``diagnose()``, if given, adds one line to the reason of the first failure
    of each loss (None: nothing to add); it defaults to the Argus daemon's socket
    check for ``csi://`` (``capture.argus``), whose daemon can vanish under a
    camera that is fine.

    ``rate`` (a ``rate.FrameRate``), if given, passes on only the frames it wants (parking
    mode's low rate); the others are grabbed, not decoded (``source.skip()``), and dropped.
    """

    name = "capture"

    def __init__(self, uri, open_source, slot, emit, reconnect_min=0.5,
                 reconnect_max=BACKOFF_CAP_S, prepare=None, prepare_live=False,
                 clock=time.monotonic, wall_clock=time.time, publish=None, diagnose=None,
                 rate=None):
        Worker.__init__(self)
        self.diagnose = diagnose if diagnose is not None else diagnose_for(uri)
        self.uri = uri
        self.open_source = open_source
        self.slot = slot
        self.emit = emit
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.prepare = prepare
        self.prepare_live = prepare_live
        self.publish = publish
        self.rate = rate
        self.clock = clock
        self.wall_clock = wall_clock
        self.finished = threading.Event()
        self.source = None
        self.frames = 0          # frames passed on (the run-wide frame index)
        self.skipped = 0         # frames grabbed and let go: ``rate`` did not want them
        self.failures = 0        # failures since the source last worked
        self.reopened = 0        # successful reopenings after a loss
        self._lost_at = None     # UTC time the source was lost, while it is
        self.fps = None
        self.description = None

    def wake(self):
        self.slot.wake()

    def run(self):
        try:
            while not self.stopping:
                if self.source is None and not self._open():
                    continue
                if not self._read_until_failure():
                    break
        finally:
            self._close_source()

    def _open(self):
        try:
            self.source = self.open_source()
        except Exception as error:
            self._failed("cannot open: " + _reason(error, self.failures == 0))
            return False
        self.fps, self.description = self.source.fps, self.source.description
        log.info("source %s open: %s", self.uri, self.description)
        return True

    def _read_until_failure(self):
        """Read frames until the source fails (True: reopen) or ends or we stop (False).

        The source counts as restored at its first frame, not when it opens: a
        camera that opens and then gives nothing keeps backing off instead of
        flapping between camera_restored and camera_lost.
        """
        source = self.source
        started, done = self.clock(), 0
        while not self.stopping:
            wanted = self.rate is None or self.rate.take(self.clock())
            try:
                # a frame not wanted is only grabbed (not decoded, not drawn), so the
                # camera's queue stays fresh at little cost
                image = source.read() if wanted else getattr(source, "skip", source.read)()
            except Exception as error:
                self._close_source()
                self._failed(_reason(error, self.failures == 0))
                return True
            if image is None:
                log.info("source %s: end of stream after %d frames", self.uri, self.frames)
                self.finished.set()
                return False
            if self._lost_at is not None:
                self.reopened += 1
                self.emit(ev.camera_restored(self.wall_clock(), self.uri, self._lost_at,
                                             self.failures))
                self._lost_at = None
            self.failures = 0
            if not wanted:
                self.skipped += 1
            elif not self._pass_on(image, source):
                return False
            if source.paced and source.fps:
                done += 1
                delay = pacing_delay(started, done, source.fps, self.clock())
                if delay is None:
                    started, done = self.clock(), 0
                elif delay > 0 and self.stop_event.wait(delay):
                    return False
        return False

    def _pass_on(self, image, source):
        """Stamp the frame, offer it to recording, put it in the slot; False if stopped
        while waiting for a lossless source's slot to be free."""
        prepared, size = None, source.frame_size
        if self.prepare is not None and (source.lossless or self.prepare_live):
            prepared = self.prepare(image, self.slot.held(), size)
        # A lossless source's frame is stamped when the pipeline is ready for
        # it: until then it waited in the file, not in the pipeline.
        if source.lossless and not self.slot.wait_free(self.stop_event):
            return False
        frame = Frame(self.frames, image, self.clock(), self.wall_clock(), prepared, size)
        if self.publish is not None:
            self.publish(frame)
        self.slot.put(frame)
        self.frames += 1
        return True

    def _failed(self, reason):
        """Count a failure, emit camera_lost on the first in a row, wait out the backoff."""
        self.failures += 1
        if self._lost_at is None:
            extra = self.diagnose() if self.diagnose else None
            reason = f"{reason}; {extra}" if extra else reason
            self._lost_at = self.wall_clock()
            self.emit(ev.camera_lost(self._lost_at, self.uri, reason))
        delay = backoff_delay(self.failures, self.reconnect_min, self.reconnect_max)
        log.warning("source %s: %s; retry %d in %.1f s", self.uri, reason, self.failures, delay)
        self.stop_event.wait(delay)

    def _close_source(self):
        if self.source is not None:
            try:
                self.source.close()
            finally:
                self.source = None
