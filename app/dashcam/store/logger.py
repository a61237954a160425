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

A batch the store refuses is not lost. When SQLite says the volume is full or
failing (``OperationalError``: disk full, I/O error, locked) the batch is held
and retried, first after ``retry_interval`` seconds, then twice as long each
time up to 30 s, with everything queued meanwhile appended behind it (order
kept); it is written as soon as the store takes it again. What is held is
bounded by ``max_held`` records: past it the oldest frames that carry only
detection rows go first (events and tracks are kept), then the oldest records
of any kind; every loss is counted and logged. A batch refused for its
content (a record the schema rejects: a bug, not the disk) is split until the
bad record is found; that one is dropped and logged, the rest written.
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
                 min_commit_interval=0.0, publish=None, clock=time.monotonic,
                 retry_interval=1.0, max_held=4096):
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
        self.failed_batches = 0    # writes the store refused (disk full, I/O error, a bad record)
        self.retried = 0           # records written late, after the store refused them
        self.records_lost = 0      # records dropped for good: held past max_held, or rejected
        self.detections_lost = 0   # detection rows among them
        self.retry_interval, self.max_held = retry_interval, max_held
        self.held = []             # refused records waiting for a retry, oldest first
        self._retry_at = self._backoff = None
        self._last_commit = clock()

    def submit(self, item):
        """``offer`` for records the store can write; anything else is a programming
        error, refused at once with TypeError."""
        if not self.store.accepts(item):
            raise TypeError(f"the event logger cannot store {type(item)!r}")
        return self.offer(item)

    @property
    def queue_depth(self):
        return self.queue.qsize()

    def tick(self, now):
        if self.held and now >= self._retry_at:
            self._commit([])

    def finish(self):
        if self.held:   # one last try at the stop; what still fails is lost, and said so
            self._commit([])
            if self.held:
                self._lose(len(self.held), "the store still refused them at the stop")
                self.held = []

    def consume(self, item):
        batch = [item]
        self._collect(batch)
        if self.held and self.clock() < self._retry_at and not self.stopping:
            self._hold(batch)   # the store refused the last write: wait for the retry time
        else:
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
        """Write what is held and then ``records``, in order (see the module docstring)."""
        records, retrying, self.held = self.held + records, len(self.held), []
        try:
            written = self.store.write(self.run_id, records)
        except sqlite3.OperationalError as error:
            # Disk full or an I/O error: rolled back (the file stays consistent); held
            # and tried again, while the run goes on.
            self.failed_batches += 1
            self._backoff = min(30.0, 2 * self._backoff) if self._backoff else self.retry_interval
            self._retry_at = self.clock() + self._backoff
            self._hold(records)
            self.report("held", logging.ERROR, "store write failed (%s): %d records held, "
                        "retry in %.0f s (%d failed writes so far)", error, len(self.held),
                        self._backoff, self.failed_batches)
            return
        except sqlite3.Error as error:
            self.failed_batches += 1
            self._isolate(records, error)
            return
        if retrying:
            self.retried += retrying
            log.warning("store write succeeded again: %d held records written", retrying)
        self._backoff = None
        self._written(records, written)

    def _isolate(self, records, error):
        """A batch refused for its content: halve it until the bad record is alone."""
        if len(records) == 1:
            self._lose(1, f"refused by the store ({error}): {records[0]!r}")
            return
        half = len(records) // 2
        for part in (records[:half], records[half:]):
            if self.held:
                self._hold(part)
                continue
            try:
                self._written(part, self.store.write(self.run_id, part))
            except sqlite3.OperationalError:
                self._commit(part)  # the disk, after all: held like any batch
            except sqlite3.Error as inner:
                self._isolate(part, inner)

    def _hold(self, records):
        """Keep ``records`` for the retry, within ``max_held``: past it the oldest frames
        that carry only detections go first, then the oldest records of any kind."""
        self.held.extend(records)
        excess = len(self.held) - self.max_held
        if excess <= 0:
            return
        kept, dropped, rows = [], 0, 0
        for record in self.held:
            if dropped < excess and isinstance(record, FrameRecord) and not (
                    record.events or record.tracks):
                dropped += 1
                rows += len(record.detections)
            else:
                kept.append(record)
        self.held = kept[excess - dropped:]
        self.records_lost += excess
        self.detections_lost += rows
        self.report("overflow", logging.ERROR, "store unavailable: held records past %d are "
                    "dropped (%d records, %d of them detection rows, lost so far)",
                    self.max_held, self.records_lost, self.detections_lost)

    def _lose(self, count, why):
        self.records_lost += count
        log.error("%d records lost (%s); %d lost so far", count, why, self.records_lost)

    def _written(self, records, written):
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
