"""The event logger: the only thread that writes to the store.

Every other part hands it records through ``submit`` (a bounded queue, never
blocking the caller). It writes them in batches, one transaction each, as a
group commit: whatever is queued when it wakes goes into one batch, so under
light load a frame's detections are on disk milliseconds after inference,
and under heavy load batches grow instead of commits piling up. A batch is
committed at least once a second (``max_batch_s``) even when the queue never
empties, and at most every ``min_commit_interval`` seconds (0 by default) to
spare the flash of a small SD card if one wants fewer, larger commits.

After each commit the committed events go to ``publish`` (a ``FanOut`` of
subscribers, each on its own thread), so nothing that listens can delay the
next commit.
"""

import logging
import queue
import sqlite3
import time

from dashcam.metrics import Window
from dashcam.records import FrameRecord
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)


class EventLoggerWorker(QueueWorker):
    """Writes submitted records to ``store`` for run ``run_id`` (set before ``start``).

    Records are of any type the store has a writer for. ``publish``, if
    given, receives ``(event_id, event)`` for each committed event and must
    not block. ``latency`` and ``added`` keep recent frame-to-commit
    latencies (seconds), the latter without the detector's own time.
    ``dropped`` counts records refused because the queue (``queue_size``,
    1024 by default) was full: the store too slow for the frame rate.
    """

    name = "event-logger"

    def __init__(self, store, run_id=None, queue_size=1024, max_batch_s=1.0,
                 min_commit_interval=0.0, publish=None, clock=time.monotonic):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.store = store
        self.run_id = run_id
        self.max_batch_s = max_batch_s
        self.min_commit_interval = min_commit_interval
        self.publish = publish
        self.clock = clock
        self.latency, self.added = Window(), Window()
        self.commits = 0
        self.rows = 0              # detection rows written
        self.events = 0            # events written
        self.frames = 0            # frame records written
        self.failed_batches = 0    # batches the store refused (disk full, I/O error)
        self._last_commit = clock()

    def submit(self, item):
        """``offer`` for records the store can write; anything else is a programming
        error, refused at once with TypeError."""
        if not self.store.accepts(item):
            raise TypeError("the event logger cannot store {!r}".format(type(item)))
        return self.offer(item)

    @property
    def queue_depth(self):
        return self.queue.qsize()

    def consume(self, item):
        batch = [item]
        self._collect(batch)
        self._commit(batch)

    def _collect(self, batch):
        """Add queued items until the queue is empty and a commit is allowed, or max_batch_s."""
        started = self.clock()
        while True:
            now = self.clock()
            if now - started >= self.max_batch_s:
                return
            try:
                batch.append(self.take(0))
                continue
            except queue.Empty:
                wait = self._last_commit + self.min_commit_interval - now
                if wait <= 0 or self.stopping:
                    return
            try:
                batch.append(self.take(min(wait, self.max_batch_s - (now - started))))
            except queue.Empty:
                return
    def _commit(self, records):
        try:
            written = self.store.write(self.run_id, records)
        except sqlite3.Error as error:
            # Disk full or an I/O error: the batch is lost (rolled back, the file
            # stays consistent) but the run goes on and later batches may land.
            self.failed_batches += 1
            log.error("store write failed (%s): batch of %d records lost (%d batches so far)",
                      error, len(records), self.failed_batches)
            return
        committed = self._last_commit = self.clock()
        frames = [r for r in records if isinstance(r, FrameRecord) and r.frame_index is not None]
        self.commits += 1
        self.rows += written.rows["detections"]
        self.events += len(written.events)
        self.frames += len(frames)
        self.latency.extend(committed - f.t_mono for f in frames)
        self.added.extend(committed - f.t_mono - f.detect_s for f in frames)
        if self.publish is not None:
            for pair in written.events:
                self.publish(pair)
