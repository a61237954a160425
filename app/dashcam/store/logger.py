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
failing (``OperationalError``: disk full, I/O error, locked) the store gives
back its room (``EventStore.reclaim``: its reserve, the WAL cut to zero) and
the batch is tried again at once. Failing that, what fits is written, in
priority (``held``): records that make room (pruning), then the evidence
(runs, events, alerts, tracks, segments, clips), then detection rows; the
rest is held and retried, first after ``retry_interval`` seconds, then twice
as long each time up to 30 s (``retry_interval`` again once the store took
a part), with everything queued meanwhile appended behind it (order kept,
each record under its run's id). What is held is bounded by ``max_held``
records: past it detection rows go first, then track rows that a later held
frame rewrites, then the oldest records of any kind; every loss is counted
(records, detection rows, events) and logged. A batch refused for its
content (a record the schema rejects: a bug, not the disk) is split until the
bad record is found; that one is dropped and logged, the rest written.
"""

import logging
import queue
import sqlite3
import time

from dashcam.metrics import Window
from dashcam.records import FrameRecord
from dashcam.store.held import shed
from dashcam.store.room import is_full
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
    ``position`` (``gps.GpsState.at``) stamps each event and segment with the GPS fix at
    its time, as it is written (None: no GPS, the stamps are NULL).
    """

    name = "event-logger"

    def __init__(self, store, run_id=None, queue_size=1024, max_batch_s=1.0,
                 min_commit_interval=0.0, publish=None, clock=time.monotonic,
                 retry_interval=1.0, max_held=4096, position=None):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.store = store
        self.position = position
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
        self.detections_lost = 0   # detection rows dropped (held past max_held, or with them)
        self.events_lost = 0       # events (alerts included) among the records lost
        self.retry_interval, self.max_held = retry_interval, max_held
        self.held = []             # refused records waiting for a retry, oldest first
        self._retry_at = self._backoff = None
        self._last_commit = clock()

    def _write(self, records):
        return self.store.write(self.run_id, records, self.position)

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
            tries = 3   # a full volume: old detection rows give way to the evidence held
            while tries and self._evidence_held() and self.store.make_room():
                tries -= 1
                self._commit([])
            if self.held:
                self._lose(self.held, "the store still refused them at the stop")
                self.held = []

    def _evidence_held(self):
        return bool(self.store.by_priority(self.held)[1])

    def consume(self, item):
        batch = [item]
        self._collect(batch)
        if self._backoff and self.clock() < self._retry_at and not self.stopping:
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
        waiting = []
        if self.store.short_of_room():   # detection rows wait: what room is left is the evidence's
            room, evidence, waiting = self.store.by_priority(records)
            records = room + evidence
        try:
            written = self._write(records) if records else None
        except sqlite3.OperationalError as error:
            self._refused(records, error)
        except sqlite3.Error as error:
            self.failed_batches += 1
            self._isolate(records, error)
        else:
            if retrying and self._backoff:
                log.warning("store write succeeded again: held records written")
            self.retried += min(retrying, len(records))
            self._backoff = None
            if written is not None:
                self._written(records, written)
        if waiting:
            self._hold(waiting)
            self._retry_at = self.clock() + (self._backoff or self.retry_interval)
            self.report("room", logging.WARNING, "store volume short of room: detection rows "
                        "wait for room (%d records held)", len(self.held))

    def _refused(self, records, error):
        """Disk full or an I/O error: rolled back (the file stays consistent). The store gives
        back its room and the batch is tried again at once; failing that, what fits of what
        makes room (a request that does not fit is dropped: retention makes it again) and
        then of the evidence is written, and the rest held for a retry with the detection
        rows (they wait for room), while the run goes on."""
        self.failed_batches += 1
        if is_full(error) and self.store.reclaim():
            try:
                self._written(records, self._write(records))
            except sqlite3.OperationalError:
                pass
            else:
                self.retried += len(records)
                self._backoff = None
                return
        room, evidence, bulk = self.store.by_priority(records)
        refused = self._fit(room)
        if refused:   # too large for what is left; retention asks again while short of room
            self.report("room-refused", logging.WARNING, "store volume full: %d requests to "
                        "make room do not fit either and are dropped (%r)", len(refused),
                        refused[0])
        left = self._fit(evidence)
        if len(refused) < len(room) or len(left) < len(evidence):
            self._backoff = None   # the store takes some: try the rest again soon
            self._retry_at = self.clock() + self.retry_interval
        else:
            self._backoff = min(30.0, 2 * self._backoff) if self._backoff else self.retry_interval
            self._retry_at = self.clock() + self._backoff
        self._hold(left + bulk)
        self.report("held", logging.ERROR, "store write failed (%s): %d records held, retry in "
                    "%.0f s (%d failed writes so far)", error, len(self.held),
                    self._retry_at - self.clock(), self.failed_batches)

    def _fit(self, records):
        """Write the longest leading runs of ``records`` that the store takes, halving a run
        it refuses; returns what is left (from the first record that does not fit)."""
        size = len(records)
        while records and size:
            part = records[:size]
            try:
                written = self._write(part)
            except sqlite3.OperationalError:
                size //= 2
                continue
            except sqlite3.Error as error:
                self._isolate(part, error)
            else:
                self.retried += len(part)
                self._written(part, written)
            records = records[size:]
        return records

    def _isolate(self, records, error):
        """A batch refused for its content: halve it until the bad record is alone."""
        if len(records) == 1:
            self._lose(records, f"refused by the store ({error}): {records[0]!r}")
            return
        half = len(records) // 2
        for part in (records[:half], records[half:]):
            if self.held:
                self._hold(part)
                continue
            try:
                self._written(part, self._write(part))
            except sqlite3.OperationalError:
                self._commit(part)  # the disk, after all: held like any batch
            except sqlite3.Error as inner:
                self._isolate(part, inner)

    def _hold(self, records):
        """Keep ``records`` for the retry, within ``max_held`` (``held.shed``: detection rows
        go first, then track rows a later frame rewrites, then the oldest records)."""
        cut = shed(self.held + records, self.max_held)
        self.held = cut.kept
        if cut.records or cut.rows or cut.events:
            self._count(cut.records, cut.rows, cut.events)
            self.report("overflow", logging.ERROR, "store unavailable: held records past %d "
                        "are dropped, detection rows first (%d records, %d detection rows, "
                        "%d events lost so far)", self.max_held, self.records_lost,
                        self.detections_lost, self.events_lost)

    def _lose(self, records, why):
        cut = shed(records, 0)
        self._count(cut.records, cut.rows, cut.events)
        log.error("%d records lost (%s); %d lost so far", len(records), why, self.records_lost)

    def _count(self, records, rows, events):
        self.records_lost += records
        self.detections_lost += rows
        self.events_lost += events

    def _written(self, records, written):
        committed = self._last_commit = self.clock()
        frames = [r for r in records if type(r) is FrameRecord and r.frame_index is not None]
        self.commits += 1
        self.rows += written.rows["detections"]
        self.events += len(written.events)
        self.frames += len(frames)
        self.latency.extend(committed - f.t_mono for f in frames)
        self.added.extend(committed - f.t_mono - f.detect_s for f in frames)
        if self.publish is not None:
            for pair in written.events:
                self.publish(pair)
