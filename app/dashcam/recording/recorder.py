"""The recorder thread: every captured frame, through its own bounded queue, into segments.

The capture thread offers each frame it reads (``CaptureWorker(publish=...)``)
to this worker's queue, never waiting: a recorder that falls behind drops
frames from its own queue (counted in ``dropped``) and never slows capture or
inference, which read the newest-frame slot, not this queue. Encoding happens
here (PyAV and OpenCV release the GIL while they work); an encoder that needs
no frames from Python (the CSI tee branch) is only polled for the segments it
closed.

Each closed segment is indexed through the store's single writer. A full or
failing recordings volume pauses recording with a ``recording_paused`` event
(the partial segment is recovered as after a crash); inference and logging go
on, frames are counted as ``missed``, and recording resumes, with
``recording_resumed``, once there is room for two segments again.
"""

import errno
import logging
import os
import time

from dashcam import events as ev
from dashcam.recording.segments import SegmentClosed, recover_file
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)

RESUME_CHECK_S = 2.0   # seconds between free-space checks while paused
FULL = (errno.ENOSPC, errno.EDQUOT)   # the volume is full: expected, no traceback


def free_bytes(folder):
    """Bytes an unprivileged writer can still use on ``folder``'s volume."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def can_resume(free, segment_bytes, paused_for, retry_after):
    """Whether a paused recorder may try again: room for two segments of
    ``segment_bytes`` and at least ``retry_after`` seconds since the pause."""
    return free >= 2 * segment_bytes and paused_for >= retry_after


class RecorderWorker(QueueWorker):
    """Feeds frames to ``encoder`` and indexes the segments it closes through ``submit``.

    ``folder``: the recordings folder; ``run_id`` is set before ``start``.
    ``recovery(run_id)`` returns ``(records, events)`` for what the earlier runs left
    (``segments.recover``, missing clip requests), run first in this thread. ``segment_bytes``: the
    expected size of one segment (from the bitrate), for the resume rule.
    ``check_room()`` is called when a segment closes and when the volume is found
    full (retention's wake: it checks its bounds then, not only every 10 s).
    ``queue_size``: frames waiting (15, half a second at 30 fps: about 90 MB at
    1080p, as each waiting frame is a BGR image).
    """

    name = "recorder"

    def __init__(self, encoder, folder, submit, recovery=None, segment_bytes=2500000,
                 check_room=None, queue_size=15, free=free_bytes, clock=time.monotonic,
                 wall_clock=time.time):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.encoder, self.folder, self.submit = encoder, folder, submit
        self.recovery, self.check_room = recovery, check_room
        self.segment_bytes = segment_bytes
        self.free, self.clock, self.wall_clock = free, clock, wall_clock
        self.run_id = None
        self.frames = self.missed = self.segments = self.bytes = 0
        self.recovered = self.pauses = 0
        self.paused_at = None        # (monotonic, UTC) while paused
        self.retry_after = RESUME_CHECK_S
        self._unsent = []            # records the logger's full queue refused: sent again
        self._aborted = []           # segments given up on a failed write, not yet recovered
        self._checked = None

    def begin(self):
        self.encoder.run_id = self.run_id
        if self.recovery is not None:
            try:
                records, events = self.recovery(self.run_id)
            except Exception:   # what the last run left waits for the next start; video goes on
                log.exception("recording: recovery of the last run's segments failed")
                records, events = [], []
            self.recovered += sum(1 for r in records if isinstance(r, SegmentClosed))
            self._send(records + events)

    def consume(self, frame):
        if self.paused_at is not None:
            self.missed += 1
            return
        try:
            closed = self.encoder.write(frame)
        except Exception as error:
            self._pause(error)
            return
        self.frames += 1
        self._index(closed)

    def tick(self, now):
        if self._unsent:
            self._send([])
        if self.paused_at is not None:
            if self._checked is None or now - self._checked >= RESUME_CHECK_S:
                self._checked = now
                self._try_resume(now)
        else:
            try:
                self._index(self.encoder.poll(now))
            except Exception as error:   # a GStreamer pipeline that failed
                self._pause(error)

    def _index(self, closed):
        for segment in closed:
            self.segments += 1
            self.bytes += segment.bytes
            log.debug("recording: segment %s closed (%d frames, %.1f s)", segment.path,
                      segment.frames, segment.seconds)
        self._send(list(closed))
        if closed and self.check_room is not None:
            self.check_room()

    def _send(self, records):
        pending, self._unsent = self._unsent + records, []
        for index, record in enumerate(pending):
            if not self.submit(record):
                self._unsent = pending[index:]
                return

    def _pause(self, error):
        """A write failed: give up the open segment (recovered like a crash's) and wait."""
        now_utc = self.wall_clock()
        path = self.encoder.abort()
        if path is not None:
            self._aborted.append(path)
        self._recover_aborted(now_utc)
        reason = _reason(error)
        free = self._free()
        self.pauses += 1
        self.paused_at = (self.clock(), now_utc)
        self._checked = self.clock()
        log.error("recording paused: %s (%s bytes free); inference and logging go on",
                  reason, free)
        if getattr(error, "errno", None) not in FULL:
            log.error("recording: the encoder failed", exc_info=error)
        self._send([ev.recording_paused(now_utc, reason, free)])
        if self.check_room is not None:
            self.check_room()

    def _try_resume(self, now):
        free = self._free()
        paused_mono, paused_utc = self.paused_at
        if free is None or not can_resume(free, self.segment_bytes, now - paused_mono,
                                          self.retry_after):
            return
        self.paused_at = None
        self._recover_aborted(self.wall_clock())
        log.warning("recording resumed: %d bytes free, %d frames missed", free, self.missed)
        self._send([ev.recording_resumed(self.wall_clock(), paused_utc, self.missed, free)])

    def _recover_aborted(self, now_utc):
        """Index the segments given up so far, up to their last whole frame (as after a crash);
        one whose cut bytes cannot be kept yet (a full volume) waits for the resume."""
        waiting = []
        for path in self._aborted:
            if not os.path.exists(os.path.join(self.folder, path)):
                continue
            try:
                record, event = recover_file(self.folder, path, {self.run_id}, now_utc)
            except OSError as error:
                log.warning("recording: %s is recovered later (%s)", path,
                            error.strerror or error)
                waiting.append(path)
            else:
                self._send(([record] if record else []) + [event])
        self._aborted = waiting

    def _free(self):
        try:
            return self.free(self.folder)
        except OSError:
            return None

    def finish(self):
        if self.paused_at is None:
            try:
                self._index(self.encoder.close())
            except Exception as error:
                self._pause(error)
        self._send([])
        if self._unsent:
            log.error("recording: %d records could not be queued for the store; their "
                      "segments are indexed at the next start", len(self._unsent))

    def summary(self):
        """The run summary's ``recording`` figures."""
        return {"encoder": self.encoder.name, "frames": self.frames, "dropped": self.dropped,
                "missed_paused": self.missed, "segments": self.segments, "bytes": self.bytes,
                "recovered": self.recovered, "pauses": self.pauses}


def _reason(error):
    if isinstance(error, (IOError, OSError)) and getattr(error, "errno", None):
        return f"{os.strerror(error.errno)} ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"
