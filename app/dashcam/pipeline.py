"""The composition root of ``dashcam run``: builds every part, runs them, stops them in order.

::

    source --capture--> LatestFrame --inference--> event logger --> SQLite
                                          \\--> preview (its own newest-wins slot)

Workers start consumers first (logger, preview, inference, capture) and stop
in the reverse order, so nothing is produced for a part that is gone: the
capture stops, the inference worker finishes the frame in hand, the tracker's
open objects are closed (``object_left``), ``run_stopped`` is queued, the
logger commits everything queued, and ``runs.ended_at`` is set.
"""

import functools
import logging
import sys
import threading
import time

from dashcam import __version__
from dashcam import events as ev
from dashcam.capture import CaptureWorker, LatestFrame
from dashcam.event_logger import EventLoggerWorker, StatsRecord
from dashcam.inference import InferenceWorker, PreprocessAhead
from dashcam.preprocess import Preprocessor
from dashcam.status import Snapshot, percentile, stats_row, status_line
from dashcam.tracking import IouTracker

log = logging.getLogger(__name__)

DEMO_URI = "synthetic://?seed=7"

# Seconds each worker gets to stop. The final commit lands within 2.3 s (worst
# case), inside systemd's stop timeout, before a SIGKILL or the power goes.
# The preview is asked to stop with inference but waited for last: closing a
# video file (ffmpeg flushing its encoder) may take a while on a busy machine
# and must neither delay the commit nor be cut off (4.3 s in all).
STOP_TIMEOUTS = {"capture": 0.5, "inference": 0.8, "event-logger": 1.0, "preview": 2.0}


class Pipeline(object):
    """One run: ``source_uri`` read with ``open_source()``, ``detector``, ``store``.

    ``preview`` is an optional ``PreviewWorker``; ``listeners`` are called with
    ``(event_id, event)`` after each event is committed (alert rules, recording).
    Stop with ``request_stop()``
    or by setting ``stop_requested`` (an Event, which a signal handler may own),
    or let ``run(duration)`` end by itself.
    """

    def __init__(self, config, source_uri, open_source, detector, store, preview=None,
                 model_path=None, status_stream=sys.stderr, stop_requested=None,
                 listeners=(), clock=time.monotonic, wall_clock=time.time):
        self.config = config
        self.source_uri = source_uri
        self.open_source = open_source
        self.detector = detector
        self.store = store
        self.preview = preview
        self.listeners = list(listeners)
        self.model_path = model_path
        self.status_stream = status_stream
        self.clock = clock
        self.wall_clock = wall_clock
        self.stop_requested = stop_requested or threading.Event()
        self.run_id = None
        self.started = None
        self.failed = None     # name of a worker that died, if any
        self.summary = None
        self.capture = self.inference = self.logger = self.slot = None

    def request_stop(self, *_):
        self.stop_requested.set()

    def start(self):
        cfg = self.config
        backend = self.detector.backend
        self.started = self.clock()
        self.run_id = self.store.begin_run(
            self.wall_clock(), __version__, config=cfg.to_ini(),
            model=self.model_path or getattr(backend, "path", None),
            backend=getattr(backend, "name", None),
            precision=getattr(backend, "precision", None), source=self.source_uri)
        self.logger = EventLoggerWorker(
            self.store, self.run_id, detections=cfg.store.detections,
            sample_interval=cfg.store.sample_interval, queue_size=cfg.store.queue_size,
            min_commit_interval=cfg.store.min_commit_interval, listeners=self.listeners,
            clock=self.clock)
        self.slot = LatestFrame()
        tracker = IouTracker(cfg.tracking.iou_threshold, cfg.tracking.min_hits,
                             cfg.tracking.max_age, cfg.tracking.history_size)
        self.inference = InferenceWorker(
            self.slot, self.detector, tracker, self.logger.submit,
            on_frame=self.preview.offer if self.preview else None, clock=self.clock)
        self.capture = CaptureWorker(
            self.source_uri, self.open_source, self.slot, self.logger.submit,
            cfg.source.reconnect_min, cfg.source.reconnect_max,
            prepare=self._preprocess_ahead(), prepare_live=cfg.run.preprocess_ahead == "always",
            clock=self.clock, wall_clock=self.wall_clock)
        self.logger.submit(ev.run_started(self.wall_clock(), {
            "run_id": self.run_id, "source": self.source_uri, "version": __version__,
            "backend": getattr(backend, "name", None)}))
        for worker in self._workers():
            worker.start()
        log.info("run %d started: %s -> %s", self.run_id, self.source_uri, self.store.path)
        return self

    def _preprocess_ahead(self):
        if self.config.run.preprocess_ahead == "never":
            return None
        own = self.detector.preprocessor
        return PreprocessAhead([Preprocessor(own.height, own.width, own.scale)
                                for _ in range(3)], clock=self.clock)

    def _workers(self):
        """In start order: consumers before producers (those built so far)."""
        return [w for w in (self.logger, self.preview, self.inference, self.capture) if w]

    def run(self, duration=None):
        """Start, run until stopped, for ``duration`` seconds, or to the end of a file; stop.

        Returns the summary dict (also kept in ``self.summary``).
        """
        try:
            self.start()
        except BaseException:
            for worker in self._workers():
                worker.stop(0.5)
            self.store.close()
            self.detector.close()
            raise
        try:
            self.wait(duration)
        finally:
            self.stop()
        return self.summary

    def wait(self, duration=None, tick=0.1):
        """Report status and stats until a stop is due (see ``run``)."""
        status_every = self.config.run.status_interval
        stats_every = self.config.run.stats_interval
        last_status = last_stats = self.snapshot()
        while not self.stop_requested.wait(tick):
            now = self.clock()
            if duration is not None and now - self.started >= duration:
                break
            if self.capture.finished.is_set():
                self.slot.close()   # the file ended: process what is left, then stop
                if self.inference.done.is_set():
                    break
            dead = [w.name for w in self._workers() if w.done.is_set() and w.error]
            if dead:
                self.failed = dead[0]
                log.error("worker %s failed; stopping the run", self.failed)
                break
            if status_every and now - last_status.t >= status_every:
                current = self.snapshot()
                line = status_line(last_status, current)
                if self.preview:
                    self.preview.status_text = line
                if self.status_stream is not None:
                    self.status_stream.write(line + "\n")
                    self.status_stream.flush()
                last_status = current
            if now - last_stats.t >= stats_every:
                current = self.snapshot()
                self.logger.submit(StatsRecord(stats_row(last_stats, current, self.wall_clock())))
                last_stats = current

    def snapshot(self):
        inference, logger = self.inference, self.logger
        return Snapshot(
            self.clock(), self.capture.frames, inference.processed, self.slot.overwritten,
            logger.events, logger.latency.values(), logger.added.values(),
            inference.preprocess.values(), inference.infer.values(),
            inference.postprocess.values(), inference.tracking.values(),
            logger.queue_depth, inference.active_tracks)

    def stop(self):
        """Stop in reverse order, commit everything, end the run row; idempotent."""
        if self.summary is not None or self.run_id is None:
            return self.summary
        self.stop_requested.set()
        stop_started = self.clock()
        stuck = []
        if not self.capture.stop(STOP_TIMEOUTS["capture"]):
            stuck.append("capture")
        self.slot.close()
        if self.inference.stop(STOP_TIMEOUTS["inference"]):
            self.inference.finish()   # open objects have now left
        else:
            stuck.append("inference")
        if self.preview:
            self.preview.request_stop()
        ended = self.wall_clock()
        summary = self._summary(stuck)
        self.logger.submit(ev.run_stopped(ended, summary))
        logger_stopped = self.logger.stop(STOP_TIMEOUTS["event-logger"])
        summary.update(events=self.logger.events, detection_rows=self.logger.rows,
                       commits=self.logger.commits, failed_batches=self.logger.failed_batches,
                       stop_s=round(self.clock() - stop_started, 3))
        if logger_stopped:
            self.store.end_run(self.run_id, ended, summary)
            self.store.close()
        else:
            # Writing (or closing) from here while the logger may still write would
            # break the one-writer rule; the row keeps ended_at NULL: "cut short".
            summary["stuck"] = stuck + ["event-logger"]
            log.error("event logger did not stop: run %d left without ended_at", self.run_id)
        if "inference" not in stuck:
            self.detector.close()
        if self.preview and not self.preview.stop(STOP_TIMEOUTS["preview"]):
            summary["stuck"] = summary.get("stuck", []) + ["preview"]
        self.summary = summary
        return summary

    def _summary(self, stuck):
        elapsed = max(1e-9, self.clock() - self.started)
        latency, added = self.logger.latency.values(), self.logger.added.values()

        def ms(values, q):
            value = percentile(values, q)
            return None if value is None else round(value * 1000.0, 2)

        summary = {
            "run_id": self.run_id, "source": self.source_uri, "db": self.store.path,
            "duration_s": round(elapsed, 3), "frames_in": self.capture.frames,
            "frames_processed": self.inference.processed,
            "frames_dropped": self.slot.overwritten,
            "fps_processed": round(self.inference.processed / elapsed, 2),
            "latency_p50_ms": ms(latency, 50), "latency_p95_ms": ms(latency, 95),
            "added_latency_p50_ms": ms(added, 50), "added_latency_p95_ms": ms(added, 95),
            "preprocess_p50_ms": ms(self.inference.preprocess.values(), 50),
            "infer_p50_ms": ms(self.inference.infer.values(), 50),
            "postprocess_p50_ms": ms(self.inference.postprocess.values(), 50),
            "tracking_p50_ms": ms(self.inference.tracking.values(), 50),
            "source_reopened": self.capture.reopened, "records_dropped": self.logger.rejected,
        }
        if stuck:
            summary["stuck"] = stuck
        if self.failed:
            summary["failed"] = self.failed
        return summary


def build_pipeline(config, source=None, db_path=None, preview=None, model_path=None,
                   status_stream=sys.stderr, stop_requested=None):
    """A ``Pipeline`` from the configuration; arguments given here win over it.

    ``source``: a URI, else ``[source] uri``, else the synthetic demo road.
    ``db_path``: else ``[store] path``, else ``paths.default_db_path()``.
    ``preview``: ``"window"`` or a video file path. Static mistakes (unknown
    scheme, missing file, CSI without GStreamer) fail here, before anything
    runs; a camera that is merely absent is retried by the capture worker.
    """
    from dashcam.detector import build_detector
    from dashcam.paths import default_db_path
    from dashcam.preview import build_preview
    from dashcam.sources import check_source, open_source
    from dashcam.store import EventStore

    uri = source or config.source.uri or DEMO_URI
    check_source(uri)
    opener = functools.partial(open_source, uri, config.source.width, config.source.height,
                               config.source.fps, config.source.flip_method)
    detector = build_detector(config, model_path)
    try:
        store = EventStore(db_path or config.path(config.store.path) or default_db_path(),
                           synchronous=config.store.synchronous)
    except Exception:
        detector.close()
        raise
    worker = build_preview(preview, config.run.preview_width) if preview else None
    return Pipeline(config, uri, opener, detector, store, preview=worker, model_path=model_path,
                    status_stream=status_stream, stop_requested=stop_requested)
