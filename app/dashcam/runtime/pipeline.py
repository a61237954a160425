"""The composition root of ``dashcam run``: builds every part, runs them, stops them in order.

::

    source --capture--> LatestFrame --inference--> event logger --> SQLite --> event subscribers
                                          |\\--> frame subscribers (alert rules: no fsync wait)
                                          \\--> preview (its own newest-wins slot)

``build_pipeline`` is the only place that constructs parts; every part it
builds can be passed in instead (tests inject a slow backend, a fake
clock, a blocking subscriber). Workers start consumers first (subscribers,
logger, preview, inference, capture) and stop in the reverse order, so
nothing is produced for a part that is gone: the capture stops, the
inference worker finishes the frame in hand, the tracker's open objects are
closed (``object_left``), the last stats interval and ``run_stopped`` are
queued, the logger commits everything queued, and ``runs.ended_at`` is set.
"""

import functools
import logging
import sys
import threading
import time

from dashcam import __version__
from dashcam import events as ev
from dashcam.fanout import FanOut
from dashcam.inference.models import model_file, standin_warning
from dashcam.records import StatsRecord
from dashcam.runtime.status import Snapshot, stats_row, status_line, summary_figures

log = logging.getLogger(__name__)

DEMO_URI = "synthetic://?seed=7"

# Seconds each worker gets to stop. The final commit lands within 3.8 s (worst
# case), inside systemd's stop timeout, before a SIGKILL or the power goes.
# The preview is asked to stop with inference but waited for last: closing a
# video file (ffmpeg flushing its encoder) may take a while on a busy machine
# and must neither delay the commit nor be cut off. Subscribers get what is
# queued for them once the producers are done.
# Recording's workers are asked to stop with inference and waited for before the
# logger (up to 1.5 s more: the recorder encodes what is queued and closes its
# segment), so the last segment's row is in the final commit.
STOP_TIMEOUTS = {"capture": 0.5, "inference": 0.8, "event-logger": 1.0, "preview": 2.0,
                 "subscriber": 0.5, "recording": 1.5}


class Pipeline:
    """One run of parts built by ``build_pipeline``.

    Stop with ``request_stop()`` or by setting ``stop_requested`` (an Event,
    which a signal handler may own), or let ``run(duration)`` end by itself.
    """

    def __init__(self, config, source_uri, store, detector, slot, capture, inference, logger,
                 preview=None, frame_subscribers=(), event_subscribers=(), model_path=None,
                 status_stream=sys.stderr, stop_requested=None, clock=time.monotonic,
                 wall_clock=time.time, watchdog=None, producers=(), alerts=None, recording=None):
        self.config = config
        self.source_uri = source_uri
        self.store = store
        self.detector = detector
        self.slot = slot
        self.capture, self.inference, self.logger, self.preview = capture, inference, logger, preview
        self.frame_subscribers = list(frame_subscribers)
        self.event_subscribers = list(event_subscribers)
        self.watchdog = watchdog                # service.Watchdog under systemd, else None
        self.producers = list(producers)        # workers that submit records of their own
        self.alerts = alerts                    # dashcam.alerts.Alerts (its engine is a frame subscriber)
        self.recording = recording              # dashcam.recording's parts, or None
        self.model_path = model_path
        self.status_stream = status_stream
        self.clock = clock
        self.wall_clock = wall_clock
        self.stop_requested = stop_requested or threading.Event()
        self.run_id = None
        self.started = None
        self.failed = None     # name of a worker that died, if any
        self.summary = None
        self.warnings = []
        self._last_stats = None

    def request_stop(self, *_):
        self.stop_requested.set()

    def start(self):
        backend = self.detector.backend
        self.started = self.clock()
        self.store.close_interrupted_runs()
        self.run_id = self.logger.run_id = self.store.begin_run(
            self.wall_clock(), __version__, config=self.config.to_ini(),
            model=self.model_path or getattr(backend, "path", None),
            backend=getattr(backend, "name", None),
            precision=getattr(backend, "precision", None), source=self.source_uri,
            backend_reason=getattr(backend, "reason", None))
        self.logger.submit(ev.run_started(self.wall_clock(), {
            "run_id": self.run_id, "source": self.source_uri, "version": __version__,
            "backend": getattr(backend, "name", None)}))
        warning = standin_warning(model_file(self.config, self.model_path), self.source_uri)
        self.warnings = [warning] if warning else []
        for text in self.warnings:
            log.warning(text)
        if self.recording:
            self.recording.begin(self.run_id, self.logger.submit, self.wall_clock())
        for worker in self._workers():
            worker.start()
        log.info("run %d started: %s -> %s", self.run_id, self.source_uri, self.store.path)
        return self

    def _workers(self):
        """In start order: consumers before producers."""
        workers = self.event_subscribers + self.frame_subscribers + [self.logger]
        workers += self.recording.workers if self.recording else []
        return (workers + [w for w in (self.preview, self.inference, self.capture) if w]
                + self.producers)

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
        last_status = self._last_stats = self.snapshot()
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
            if now - self._last_stats.t >= stats_every:
                self._submit_stats()
            if self.watchdog is not None and self.watchdog.due(now):
                self.watchdog.check(now, self.snapshot(), self.logger.commits,
                                    self.capture.failures > 0)

    def _submit_stats(self):
        current = self.snapshot()
        self.logger.submit(StatsRecord(stats_row(self._last_stats, current, self.wall_clock())))
        self._last_stats = current

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
        if self.watchdog is not None:
            self.watchdog.stopping()
        stop_started = self.clock()
        stuck = []
        if not self.capture.stop(STOP_TIMEOUTS["capture"]):
            stuck.append("capture")
        self.slot.close()
        if self.recording:
            self.recording.request_stop()
        if self.inference.stop(STOP_TIMEOUTS["inference"]):
            self.inference.finish()   # open objects have now left
        else:
            stuck.append("inference")
        if self.preview:
            self.preview.request_stop()
        stuck += self._stop_all(self.frame_subscribers + self.producers)
        if self.recording:
            stuck += self.recording.stop(STOP_TIMEOUTS["recording"])
        if self._last_stats is not None and self.clock() > self._last_stats.t:
            self._submit_stats()   # the last, partial interval
        ended = self.wall_clock()
        summary = self._summary(stuck)
        self.logger.submit(ev.run_stopped(ended, summary))
        logger_stopped = self.logger.stop(STOP_TIMEOUTS["event-logger"])
        summary.update(events=self.logger.events, detection_rows=self.logger.rows,
                       commits=self.logger.commits, failed_batches=self.logger.failed_batches,
                       records_lost=self.logger.records_lost,
                       stop_s=round(self.clock() - stop_started, 3))
        if logger_stopped:
            self.store.end_run(self.run_id, ended, summary)
            self.store.close()
        else:
            # Writing (or closing) from here while the logger may still write would
            # break the one-writer rule; the next start closes the run as interrupted.
            summary["stuck"] = stuck + ["event-logger"]
            log.error("event logger did not stop: run %d left without ended_at", self.run_id)
        if "inference" not in stuck:
            self.detector.close()
        late = self._stop_all(self.event_subscribers)
        if self.preview and not self.preview.stop(STOP_TIMEOUTS["preview"]):
            late.append("preview")
        if late:
            summary["stuck"] = summary.get("stuck", []) + late
        self.summary = summary
        return summary

    @staticmethod
    def _stop_all(workers):
        """Stop ``workers`` (each gets its own timeout); the names of those that did not stop."""
        for worker in workers:
            worker.request_stop()
        return [w.name for w in workers if not w.stop(STOP_TIMEOUTS["subscriber"])]

    def _summary(self, stuck):
        elapsed = max(1e-9, self.clock() - self.started)
        summary = {
            "run_id": self.run_id, "source": self.source_uri, "db": self.store.path,
            "duration_s": round(elapsed, 3), "frames_in": self.capture.frames,
            "frames_processed": self.inference.processed,
            "frames_dropped": self.slot.overwritten,
            "fps_processed": round(self.inference.processed / elapsed, 2),
            "source_reopened": self.capture.reopened, "records_dropped": self.logger.dropped,
        }
        summary.update(summary_figures(self.snapshot()))
        if self.alerts is not None:
            summary["alerts"] = self.alerts.engine.alerts
            summary["alert_sinks"] = {s.name: {"delivered": s.delivered, "failed": s.failed,
                                                    "dropped": s.dropped}
                                          for s in self.alerts.sinks}
        dropped = {s.name: s.dropped for s in self.frame_subscribers + self.event_subscribers
                       if s.dropped}
        if dropped:
            summary["subscriber_drops"] = dropped
        if self.recording:
            summary["recording"] = self.recording.summary()
        if self.warnings:
            summary["warnings"] = self.warnings
        if stuck:
            summary["stuck"] = stuck
        if self.failed:
            summary["failed"] = self.failed
        return summary


def build_pipeline(config, source=None, db_path=None, preview=None, model_path=None,
                   status_stream=sys.stderr, stop_requested=None, detector=None, store=None,
                   open_source=None, tracker=None, frame_subscribers=(), event_subscribers=(),
                   alerts=None, clock=time.monotonic, wall_clock=time.time, watchdog=None,
                   producers=None, recordings=None):
    """A ``Pipeline`` from the configuration; arguments given here win over it.

    ``source``: a URI, else ``[source] uri``, else the synthetic demo road.
    ``db_path``: else ``[store] path``, else ``paths.default_db_path()``.
    ``preview``: ``"window"`` or a video file path. ``detector``, ``store``,
    ``open_source`` (a callable returning a source), ``tracker`` and the
    subscribers (``fanout.Subscriber`` workers for each ``FrameRecord`` as it
    leaves inference, and for each committed ``(event_id, event)``) replace
    what would be built; ``alerts`` (``dashcam.alerts.Alerts``) replaces the alert
    stage built from ``[rule:*]``, ``[led]`` and ``[serial]``. Static mistakes (unknown
    scheme, missing or undecodable file, CSI without GStreamer) fail here, before anything runs;
    a camera that is merely absent is retried by the capture worker.
    Under systemd (``$NOTIFY_SOCKET``) a ``service.Watchdog`` reports to it, and
    ``[service] control-socket`` adds the ``producers`` that hear other
    processes (``service.ControlSocketWorker``); both can be given instead.
    ``recordings``: the recordings folder (else ``[recording] path``, else beside
    the store); recording's parts come from ``recording.build_recording``.
    """
    from dashcam.alerts import build_alerts
    from dashcam.capture import CaptureWorker, check_source
    from dashcam.capture import open_source as open_uri
    from dashcam.inference import InferenceWorker, PreprocessAhead, build_detector
    from dashcam.paths import default_db_path
    from dashcam.preview import build_preview
    from dashcam.recording import build_recording
    from dashcam.service import build_control, build_watchdog
    from dashcam.slot import LatestFrame
    from dashcam.store import EventLoggerWorker, EventStore, StoreReader
    from dashcam.tracking import IouTracker

    uri = source or config.source.uri or DEMO_URI
    if open_source is None:
        check_source(uri)
    detector = detector or build_detector(config, model_path)
    built = []
    try:
        if store is None:
            store = EventStore(db_path or config.path(config.store.path) or default_db_path(),
                               synchronous=config.store.synchronous,
                               detections=config.store.detections,
                               sample_interval=config.store.sample_interval)
            built.append(store)
        worker = build_preview(preview, config.run.preview_width) if preview else None
        if recordings:
            config.recording.path = recordings
        recording = build_recording(config, store, lambda record: logger.submit(record),
                                    store.path, uri, config.source.fps,
                                    functools.partial(StoreReader, store.path), clock, wall_clock)
    except Exception:
        for part in built + [detector]:
            part.close()
        raise
    tracking = config.tracking
    tracker = tracker or IouTracker(
        tracking.iou_threshold, tracking.min_hits, tracking.max_age, tracking.history_size,
        tentative_misses=tracking.tentative_misses, motion=tracking.motion,
        confident=tracking.confident, duplicate_iou=tracking.duplicate_iou)
    alerts = alerts or build_alerts(config, clock=clock, wall_clock=wall_clock)
    frame_subscribers = list(frame_subscribers) + [alerts.engine]
    event_subscribers = list(event_subscribers) + [alerts.watch]
    if recording:
        event_subscribers += recording.subscribers
    logger = EventLoggerWorker(store, queue_size=config.store.queue_size,
                               min_commit_interval=config.store.min_commit_interval,
                               publish=FanOut(event_subscribers) or None, clock=clock)
    alerts.attach(store, logger.submit)
    if open_source is None:
        src, net = config.source, detector.backend.spec
        # CSI frames come scaled to the network's input on the VIC, unless recorded from Python
        open_source = functools.partial(open_uri, uri, src.width, src.height, src.fps,
                                        src.flip_method, tee=recording and recording.tee,
                                        scale_to=None if recording and recording.publish
                                        else (net.width, net.height))
    slot = LatestFrame()
    inference = InferenceWorker(slot, detector, tracker, logger.submit,
                                publish=FanOut(frame_subscribers) or None,
                                on_frame=worker.offer if worker else None, clock=clock)
    ahead = None
    if config.run.preprocess_ahead != "never":
        ahead = PreprocessAhead(detector.new_preprocessor, clock=clock)
    capture = CaptureWorker(uri, open_source, slot, logger.submit, config.source.reconnect_min,
                            config.source.reconnect_max, prepare=ahead,
                            prepare_live=config.run.preprocess_ahead == "always",
                            clock=clock, wall_clock=wall_clock,
                            publish=recording and recording.publish)
    if watchdog is None:
        watchdog = build_watchdog(config, describe=status_line)
    if producers is None:
        producers = build_control(config, logger.submit, wall_clock)
    return Pipeline(config, uri, store, detector, slot, capture, inference, logger, preview=worker,
                    frame_subscribers=frame_subscribers, event_subscribers=event_subscribers,
                    model_path=model_path, status_stream=status_stream,
                    stop_requested=stop_requested, clock=clock, wall_clock=wall_clock,
                    watchdog=watchdog, producers=producers, alerts=alerts, recording=recording)
