"""Clips to the office: uploads asked by the fleet link's ``upload`` command, or made by
themselves for the events of ``[upload] auto`` types.

The ``Uploader`` is a worker with a bounded queue of requests. Each request
is first a row in the store (``store.uploads``, written by the single writer
through the kind writers ``register`` adds), so one that a stop, a crash or a
power cut interrupts is taken up again at the next start, and one that does
not fit in the queue (a burst of alerts) is taken from the store once the
worker is idle: the store is the backlog, the queue only the hand-off. For each one the
worker waits until the event's clip is complete (``clip_ready``), joins it as
``dashcam clip`` does (``recording.write_clip``, into ``uploads/`` beside the
store), PUTs it to the request's presigned URL (or to one that ``[upload]
endpoint`` issues at each try) within the bandwidth cap, retries with backoff
what may work later, and hands the outcome, with the clip's size and SHA-256
or the error, to ``publish_result`` (the fleet link publishes it on
``<prefix>/cmd/result``). One upload at a time: the cap is the link's, not a
clip's.
"""

import hashlib
import logging
import os
import socket
import time
from collections import namedtuple

from dashcam.errors import DashcamError
from dashcam.fleet.transfer import (Stopped, TransferError, connection, post_json, put_file,
                                    redact, retry_delay)
from dashcam.recording import write_clip
from dashcam.store import clip_segments, event_by_id
from dashcam.store.uploads import (DONE, FAILED, QUEUED, events_without_upload, insert_upload,
                                   pending_uploads, update_upload)
from dashcam.timestamps import parse_iso
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)

GRACE_S = 60.0       # after its window, a clip is taken as it is (recording stopped, video lost)
READY_POLL_S = 2.0   # how often a clip still being recorded is looked at again
REFILL_S = 5.0       # how often the store's queued rows are looked at while the worker is idle
WORK_FOLDER = "uploads"


class UploadRequested(namedtuple("UploadRequested", "request_id event_id url source t_utc")):
    """An upload asked for: ``url`` a presigned PUT URL, or None (ask the endpoint);
    ``source`` ``"cmd"`` or ``"auto"``; ``t_utc`` UTC epoch seconds."""

    __slots__ = ()


class UploadUpdated(namedtuple("UploadUpdated",
                               "request_id state attempts size sha256 error t_utc")):
    """Where request ``request_id`` stands: ``store.uploads`` ``QUEUED`` (a retry is due),
    ``DONE`` or ``FAILED``."""

    __slots__ = ()


def register(store):
    """The kind writers of the uploads' records, on the store's single writer."""
    store.register(UploadRequested, write_requests)
    store.register(UploadUpdated, write_updates)


def write_requests(batch, run_id, records):
    for r in records:
        insert_upload(batch.conn, r.request_id, r.event_id, r.url, r.source, r.t_utc)
        batch.rows["uploads"] += 1


def write_updates(batch, run_id, records):
    for r in records:
        update_upload(batch.conn, r.request_id, r.state, r.attempts, r.size, r.sha256, r.error,
                      r.t_utc)


def clip_ready(window_end, covered_until, event_time, now, grace_s=GRACE_S):
    """Whether an event's clip can be joined now (UTC epoch seconds throughout).

    ``window_end``: the clip's end (None: no clip rows yet, or the event is open);
    ``covered_until``: the end of the newest segment linked to it (None: none);
    ``event_time``: the event's end, else its start. Ready once the segments reach the
    window's end, or ``grace_s`` after it (or after the event, without a window): the
    recording has stopped, and what there is (or the reason there is none) is the answer.
    """
    if window_end is not None and covered_until is not None and covered_until >= window_end:
        return True
    return now >= (window_end if window_end is not None else event_time) + grace_s


class Job:
    """One request as the worker holds it; ``due``: monotonic time of its next look."""

    def __init__(self, request_id, event_id, url, source, attempts=0, due=0.0):
        self.request_id, self.event_id, self.url, self.source = request_id, event_id, url, source
        self.attempts, self.due, self.kind = attempts, due, None

    @property
    def file_name(self):
        """The joined clip's file: named by a hash of the request id (which comes from outside)."""
        return "upload-{}.mp4".format(hashlib.sha1(self.request_id.encode()).hexdigest()[:16])


class Uploader(QueueWorker):
    """Uploads event clips, one at a time, in the order asked (a retry waits its turn).

    ``submit``: the event logger's; ``open_reader()``: a new ``StoreReader``;
    ``recordings``: the recordings folder; ``work_dir``: where clips are joined (created);
    ``publish_result(dict)``: each outcome (not blocking). ``endpoint`` and ``token``:
    ``[upload]``'s, with ``device`` sent to it; ``auto``: event types uploaded by themselves
    when an endpoint is set; ``bandwidth``: bytes/s (0: no cap); ``retries``: tries after
    the first that failed on something that may pass (the network, a 5xx), the first after
    ``retry_interval`` seconds, doubling. ``queue_size``: requests waiting to be taken in.
    """

    name = "uploader"

    def __init__(self, submit, open_reader, recordings, work_dir, publish_result=None,
                 endpoint="", token="", device="", auto=(), bandwidth=0, retries=5,
                 retry_interval=10.0, queue_size=64, clock=time.monotonic,
                 wall_clock=time.time):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.submit, self.open_reader, self.publish_result = submit, open_reader, publish_result
        self.recordings, self.work_dir = recordings, work_dir
        self.endpoint, self.token, self.device = endpoint, token, device
        self.auto = frozenset(auto) if endpoint else frozenset()
        self.bandwidth, self.retries, self.retry_interval = bandwidth, retries, retry_interval
        self.wall_clock = wall_clock
        self.pending = []          # Jobs taken in, oldest first
        self.finished = set()      # request ids ended in this run whose row may still be queued
        self._refill_at = 0.0
        self.uploaded = self.failed = self.bytes_sent = 0
        self.reader = self._conn = None

    # -- asked from other threads

    def request(self, event_id, url, request_id):
        """Upload event ``event_id``'s clip to ``url`` (a presigned PUT URL), for the fleet
        link's ``upload`` command ``request_id``. False, and a failed result published at
        once, when the request is malformed."""
        job = Job(str(request_id), event_id, url, "cmd")
        try:
            job.event_id = int(event_id)
            connection(url)
        except (TypeError, ValueError, TransferError) as error:
            self._publish(job, error=f"refused: {error}")
            return False
        return self._ask(job)

    def on_event(self, item):
        """A committed ``(event_id, event)``: an event of an ``auto`` type is uploaded."""
        event_id, event = item
        if event.type in self.auto:
            self._ask(Job(f"auto-{event_id}", event_id, None, "auto"))

    def _ask(self, job):
        """The row first, then the hand-off; what the full queue drops (``offer`` counts it)
        stays queued in the store, and ``_refill`` takes it from there."""
        self.submit(UploadRequested(job.request_id, job.event_id, job.url, job.source,
                                    self.wall_clock()))
        self.offer(job)
        return True

    def drop(self, job):
        """A request the full queue did not take: its row waits in the store (``_refill``)."""
        self.dropped += 1
        self.report("deferred", logging.INFO, "uploader: %d requests left in the store for "
                    "later (a full queue of %d)", self.dropped, self.queue.maxsize)

    def wake(self):
        QueueWorker.wake(self)
        conn = self._conn
        if conn is not None and conn.sock is not None:
            try:   # a PUT waiting on the server's answer ends now, not after its timeout
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- the worker's thread

    def begin(self):
        """Open the store, take up the requests still queued, and ask for the automatic ones
        that a stop cut off; remove joined clips that no request needs any more."""
        self.reader = self.open_reader()
        os.makedirs(self.work_dir, exist_ok=True)
        for request_id, event_id, url, source, attempts in pending_uploads(self.reader.conn):
            self._take(Job(request_id, event_id, url, source, attempts))
        for event_id, _ in events_without_upload(self.reader.conn, self.auto):
            job = Job(f"auto-{event_id}", event_id, None, "auto")
            self.submit(UploadRequested(job.request_id, event_id, None, "auto",
                                        self.wall_clock()))
            self._take(job)
        wanted = {job.file_name for job in self.pending}
        for name in os.listdir(self.work_dir):
            if name.startswith("upload-") and name not in wanted:
                os.remove(os.path.join(self.work_dir, name))
        if self.pending:
            log.info("uploads: %d requests taken up from the store", len(self.pending))

    def consume(self, job):
        self._take(job)

    def _take(self, job):
        if job.request_id not in self.finished and \
                all(j.request_id != job.request_id for j in self.pending):
            self.pending.append(job)

    def _refill(self):
        """Take the store's queued rows that this worker does not hold (the queue was full);
        forget the finished ids that the store no longer has queued."""
        rows = pending_uploads(self.reader.conn)
        self.finished &= {row[0] for row in rows}
        for request_id, event_id, url, source, attempts in rows[:self.queue.maxsize]:
            self._take(Job(request_id, event_id, url, source, attempts))

    def next_tick(self, now):
        return min(j.due for j in self.pending) - now if self.pending else self._refill_at - now

    def tick(self, now):
        if self.stopping:
            return   # what is queued stays in the store for the next start
        due = [j for j in self.pending if j.due <= now]
        if due:
            self._work(due[0])
        elif now >= self._refill_at:
            self._refill_at = now + REFILL_S
            self._refill()

    def finish(self):
        if self.reader is not None:
            self.reader.close()

    def _work(self, job):
        try:
            path = self._joined(job)
        except DashcamError as error:   # no such event, no clip, its video gone, no PyAV
            self._finish(job, error=str(error))
            return
        if path is None:
            job.due = self.clock() + READY_POLL_S
            return
        job.attempts += 1
        started = self.clock()
        try:
            url, headers = (job.url, None) if job.url else self._presign(job)
            size, sha256 = put_file(path, url, self.bandwidth, self.stop_event, self.clock,
                                    headers, opened=self._opened)
        except Stopped:
            job.attempts -= 1
            log.info("upload %s interrupted by the stop: the next start sends it again",
                     job.request_id)
            return
        except TransferError as error:
            if error.retry and job.attempts <= self.retries:
                wait = retry_delay(job.attempts, self.retry_interval)
                job.due = self.clock() + wait
                log.warning("upload %s (event %d), try %d: %s; again in %.0f s", job.request_id,
                            job.event_id, job.attempts, error, wait)
                self.submit(UploadUpdated(job.request_id, QUEUED, job.attempts, None, None,
                                          str(error), self.wall_clock()))
                return
            self._finish(job, error=str(error))
            return
        finally:
            self._conn = None
        self._finish(job, size=size, sha256=sha256, seconds=self.clock() - started)

    def _opened(self, conn):
        self._conn = conn
        if self.stopping:
            self.wake()

    def _joined(self, job):
        """The clip's MP4 in ``work_dir`` (joined now, or by an earlier try), or None while
        the clip is still being recorded."""
        path = os.path.join(self.work_dir, job.file_name)
        if os.path.exists(path):
            return path
        event = event_by_id(self.reader.db, job.event_id)
        if event is None:
            raise DashcamError(f"no event {job.event_id} in {self.reader.path}")
        job.kind = event["type"]
        rows = clip_segments(self.reader.db, job.event_id)
        end = rows[0]["window_end"] if rows else None
        covered = max(parse_iso(r["ended_at"]) for r in rows) if rows else None
        event_time = parse_iso(event["ts_end"] or event["ts_start"])
        if not clip_ready(parse_iso(end) if end else None, covered, event_time,
                          self.wall_clock()):
            return None
        return write_clip(self.reader, job.event_id, path, self.recordings)

    def _presign(self, job):
        """``(url, headers)`` from the endpoint (module docstring of ``config.upload``)."""
        answer = post_json(self.endpoint, {"device": self.device, "event_id": job.event_id,
                                           "kind": job.kind}, self.token)
        url, headers = answer.get("url"), answer.get("headers") or {}
        if not isinstance(url, str) or not isinstance(headers, dict):
            raise TransferError("upload endpoint {} answered no url: {}".format(
                redact(self.endpoint), sorted(answer)), retry=False)
        return url, {str(k): str(v) for k, v in headers.items()}

    def _finish(self, job, size=None, sha256=None, seconds=None, error=None):
        """The request's end: its row, its result, its joined clip removed."""
        if job in self.pending:
            self.pending.remove(job)
        self.finished.add(job.request_id)
        path = os.path.join(self.work_dir, job.file_name)
        if os.path.exists(path):
            os.remove(path)
        self.submit(UploadUpdated(job.request_id, FAILED if error else DONE, job.attempts, size,
                                  sha256, error, self.wall_clock()))
        if error:
            self.failed += 1
            log.error("upload %s (event %s) failed: %s", job.request_id, job.event_id, error)
        else:
            self.uploaded += 1
            self.bytes_sent += size
            log.info("upload %s: event %d's clip, %d bytes in %.1f s, sha256 %s",
                     job.request_id, job.event_id, size, seconds, sha256)
        self._publish(job, size, sha256, seconds, error)

    def _publish(self, job, size=None, sha256=None, seconds=None, error=None):
        result = {"cmd": "upload", "request_id": job.request_id, "event_id": job.event_id,
                  "source": job.source, "ok": error is None, "attempts": job.attempts}
        if error is None:
            result.update(size=size, sha256=sha256, seconds=round(seconds, 3))
        else:
            result["error"] = error
        if self.publish_result is not None:
            self.publish_result(result)

    def summary(self):
        return {"uploaded": self.uploaded, "failed": self.failed, "bytes": self.bytes_sent,
                "waiting": len(self.pending) + self.queued(), "deferred": self.dropped}

    def queued(self):
        """Requests in the queue not yet taken in (not the stop's wake-up)."""
        with self.queue.mutex:
            return sum(1 for item in self.queue.queue if isinstance(item, Job))


def build_uploader(config, store, submit, paths, open_reader, publish_result, clock,
                   wall_clock):
    """The ``Uploader`` for ``config`` (``[upload]``), its kind writers registered on
    ``store``; None when nothing can ask for an upload (no ``[mqtt] url``, no ``[upload]
    endpoint``). ``paths``: the store's and recordings' (``paths.data_paths``): clips are
    joined in ``uploads/`` beside the store."""
    from dashcam.config.upload import auto_types, fleet_device, mqtt_url

    section = config.upload
    if not (mqtt_url(config) or section.endpoint):
        return None
    register(store)
    return Uploader(submit, open_reader, paths.recordings,
                    os.path.join(os.path.dirname(os.path.abspath(paths.db)), WORK_FOLDER),
                    publish_result, endpoint=section.endpoint, token=section.token,
                    device=fleet_device(config), auto=auto_types(section.auto),
                    bandwidth=section.bandwidth, retries=section.retries,
                    retry_interval=section.retry_interval, clock=clock, wall_clock=wall_clock)
