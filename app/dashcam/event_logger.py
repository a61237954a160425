"""The event logger: the only thread that writes to the store.

Every other part hands it records through ``submit`` (a bounded queue, never
blocking the caller). It writes them in batches, one transaction each, as a
group commit: whatever is queued when it wakes goes into one batch, so under
light load a frame's detections are on disk milliseconds after inference,
and under heavy load batches grow instead of commits piling up. A batch is
committed at least once a second (``max_batch_s``) even when the queue never
empties, and at most every ``min_commit_interval`` seconds (0 by default) to
spare the flash of a small SD card if one wants fewer, larger commits.
"""

import logging
import queue
import sqlite3
import time

from dashcam.inference import FrameRecord
from dashcam.events import Event
from dashcam.status import Window
from dashcam.timestamps import iso_utc
from dashcam.workers import Worker

log = logging.getLogger(__name__)

DETECTIONS_MODES = ("all", "sampled", "none")


_WAKE = object()  # put by wake() so that a stop is seen without waiting out a timeout


class StatsRecord(dict):
    """A ``stats`` row (see ``status.stats_row``) on its way to the store."""


class _Batch(object):
    __slots__ = ("detections", "events", "tracks", "stats", "frames")

    def __init__(self):
        self.detections, self.events, self.tracks, self.stats, self.frames = [], [], [], [], []


class EventLoggerWorker(Worker):
    """Writes ``FrameRecord``, ``Event`` and ``StatsRecord`` items to ``store`` for run ``run_id``.

    ``detections``: ``"all"`` rows, ``"sampled"`` (one frame's rows per
    ``sample_interval`` seconds) or ``"none"``. ``listeners`` are called as
    ``listener(event_id, event)`` after each commit (alert rules, recording);
    one that raises is logged and the rest go on. ``latency`` and ``added``
    keep recent frame-to-commit latencies (seconds), the latter without the
    detector's own time.
    """

    name = "event-logger"

    def __init__(self, store, run_id, detections="all", sample_interval=1.0, queue_size=1024,
                 max_batch_s=1.0, min_commit_interval=0.0, listeners=(), clock=time.monotonic):
        Worker.__init__(self)
        if detections not in DETECTIONS_MODES:
            raise ValueError("detections must be one of {}".format(DETECTIONS_MODES))
        self.store = store
        self.run_id = run_id
        self.detections = detections
        self.sample_interval = sample_interval
        self.max_batch_s = max_batch_s
        self.min_commit_interval = min_commit_interval
        self.listeners = list(listeners)
        self.clock = clock
        self.queue = queue.Queue(queue_size)
        self.latency, self.added = Window(), Window()
        self.rejected = 0          # items refused because the queue was full
        self.commits = 0
        self.rows = 0              # detection rows written
        self.events = 0            # events written
        self.frames = 0            # frame records written
        self.failed_batches = 0    # batches the store refused (disk full, I/O error)
        self._last_sample = None
        self._last_commit = clock()

    def submit(self, item):
        """Queue ``item`` without blocking; False (and counted) when the queue is full."""
        try:
            self.queue.put_nowait(item)
            return True
        except queue.Full:
            self.rejected += 1
            if self.rejected == 1 or self.rejected % 100 == 0:
                log.error("event logger queue full (%d items): %d records dropped; the store is "
                          "too slow for this frame rate", self.queue.maxsize, self.rejected)
            return False

    @property
    def queue_depth(self):
        return self.queue.qsize()

    def wake(self):
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # busy draining anyway: it will see the stop when the queue is empty

    def run(self):
        while not (self.stopping and self.queue.empty()):
            # leaves only when stopped and drained: everything submitted is committed
            try:
                item = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _WAKE:
                continue
            batch = _Batch()
            self._add(batch, item)
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
                item = self.queue.get_nowait()
            except queue.Empty:
                wait = self._last_commit + self.min_commit_interval - now
                if wait <= 0 or self.stopping:
                    return
                try:
                    item = self.queue.get(timeout=min(wait, self.max_batch_s - (now - started)))
                except queue.Empty:
                    return
            self._add(batch, item)

    def _add(self, batch, item):
        if item is _WAKE:
            return
        if isinstance(item, FrameRecord):
            batch.events.extend(item.events)
            batch.tracks.extend(item.tracks)
            if item.frame_index is None:
                return  # the tracker's final flush: events only
            batch.frames.append(item)
            if item.detections and self._keep_detections(item.t_mono):
                ts = iso_utc(item.t_utc)
                batch.detections.extend(
                    (item.frame_index, ts, track_id, d.label, float(d.confidence),
                     float(d.x1), float(d.y1), float(d.x2), float(d.y2))
                    for d, track_id in zip(item.detections, item.track_ids))
        elif isinstance(item, Event):
            batch.events.append(item)
        elif isinstance(item, StatsRecord):
            batch.stats.append(item)
        else:
            raise TypeError("the event logger cannot store {!r}".format(type(item)))

    def _keep_detections(self, t_mono):
        if self.detections == "all":
            return True
        if self.detections == "none":
            return False
        if self._last_sample is None or t_mono - self._last_sample >= self.sample_interval:
            self._last_sample = t_mono
            return True
        return False

    def _commit(self, batch):
        try:
            written = self.store.write(self.run_id, detections=batch.detections,
                                       events=batch.events, tracks=batch.tracks, stats=batch.stats)
        except sqlite3.Error as error:
            # Disk full or an I/O error: the batch is lost (rolled back, the file
            # stays consistent) but the run goes on and later batches may land.
            self.failed_batches += 1
            log.error("store write failed (%s): batch of %d frames, %d events lost (%d so far)",
                      error, len(batch.frames), len(batch.events), self.failed_batches)
            return
        committed = self._last_commit = self.clock()
        self.commits += 1
        self.rows += len(batch.detections)
        self.events += len(written)
        self.frames += len(batch.frames)
        self.latency.extend(committed - f.t_mono for f in batch.frames)
        self.added.extend(committed - f.t_mono - f.detect_s for f in batch.frames)
        for event_id, event in written:
            for listener in self.listeners:
                try:
                    listener(event_id, event)
                except Exception:  # a broken listener must not stop the store
                    log.exception("event listener %r failed on event %d", listener, event_id)
