"""One run of the parts ``build_pipeline`` made: start them, watch them, stop them by the plan.

::

    source --capture--> LatestFrame --inference--> event logger --> SQLite --> event subscribers
       \\--> recording            |\\--> frame subscribers (alert rules: no fsync wait)
                                  \\--> preview (its own newest-wins slot)

Workers start consumers first, in the reverse of the stop plan (``runtime.stop``),
and stop by it: the capture stops, the inference worker finishes the frame in
hand, the tracker's open objects are closed (``object_left``), the alert rules
judge the last frames, recording closes its segment, the last stats interval
and ``run_stopped`` are queued, the logger commits everything queued, and
``runs.ended_at`` is set. The run's row is not written at the start but
queued as the logger's first record (``store.runs``): a run whose store
volume is full starts and records all the same, and its row lands, with
everything queued behind it, once the store takes writes again.

A worker that dies is seen within a tick: capture, inference or the event
logger ends the run (there is nothing to record without them); any other part
(snapshots, retention, the preview, a subscriber) is reported once, as a
``worker_failed`` event, in the summary and by ``doctor``, and the run goes on.
"""

import logging
import sys
import threading
import time

from dashcam import __version__
from dashcam import events as ev
from dashcam.inference.models import model_file, standin_warning
from dashcam.records import StatsRecord
from dashcam.runtime.status import stats_row, status_line, summary_figures, take_snapshot
from dashcam.runtime.stop import STOP_PLAN, stop_stages

log = logging.getLogger(__name__)

ESSENTIAL = ("capture", "inference", "event-logger")   # stages a run cannot go on without


class Pipeline:
    """The run of ``parts`` (a ``build.Parts``). Stop with ``request_stop()`` or by setting
    ``stop_requested`` (an Event a signal handler may own), or let ``run(duration)`` end."""

    def __init__(self, parts, status_stream=sys.stderr, stop_requested=None,
                 clock=time.monotonic, wall_clock=time.time):
        self.parts = parts
        self.config, self.source_uri = parts.config, parts.uri
        self.store, self.detector, self.slot = parts.store, parts.detector, parts.slot
        self.capture, self.inference, self.logger = parts.capture, parts.inference, parts.logger
        self.preview, self.alerts, self.recording = parts.preview, parts.alerts, parts.recording
        self.watchdog = parts.watchdog          # service.Watchdog under systemd, else None
        self.imu = parts.imu                    # imu.ImuWorker (``still()``), or None
        self.status_stream = status_stream
        self.clock, self.wall_clock = clock, wall_clock
        self.stop_requested = stop_requested or threading.Event()
        self.run_id = self.started = self.summary = self._last_stats = None
        self.failed = None          # the essential worker that died, if any
        self.failures = {}          # worker name -> its error, for every worker that died
        self.warnings = []          # said at the start and in the summary

    def request_stop(self, *_):
        self.stop_requested.set()

    def stages(self):
        """``{stage: [workers]}``, the stages of ``runtime.stop.STOP_PLAN``."""
        parts = self.parts
        parking = [parts.parking.worker] if parts.parking else []
        return {
            "capture": [parts.capture], "control": list(parts.control),
            "gps": [parts.gps.worker] if parts.gps.worker else [],
            "imu": [parts.imu] if parts.imu else [],
            "inference": [parts.inference],
            "alerts": [s for s in parts.frames.subscribers if s not in parking],
            "alert-sinks": list(parts.alerts.sinks), "parking": parking,
            "fleet": parts.fleet.workers if parts.fleet else [],
            "recording": parts.recording.workers if parts.recording else [],
            "uploads": [parts.uploads] if parts.uploads else [],
            "event-logger": [parts.logger], "subscribers": list(parts.events.subscribers),
            "preview": [parts.preview] if parts.preview else [],
        }

    def workers(self):
        """Every worker, in start order: consumers before their producers."""
        stages = self.stages()
        return [w for step in reversed(STOP_PLAN) for w in stages[step.stage]]

    def start(self):
        backend = self.detector.backend
        self.started = self.clock()
        # The run's row is the logger's first record, not a write here: on a full store
        # volume it is held with what follows it, and the run records all the same.
        run = self.store.new_run(
            self.wall_clock(), __version__, config=self.config.to_ini(),
            model=self.parts.model_path or getattr(backend, "path", None),
            backend=getattr(backend, "name", None),
            precision=getattr(backend, "precision", None), source=self.source_uri,
            backend_reason=getattr(backend, "reason", None),
            after=self.recording.last_run() if self.recording else 0)
        self.run_id = self.logger.run_id = run.run_id
        self.logger.submit(run)
        self.logger.submit(ev.run_started(self.wall_clock(), {
            "run_id": self.run_id, "source": self.source_uri, "version": __version__,
            "backend": getattr(backend, "name", None)}))
        warning = standin_warning(model_file(self.config, self.parts.model_path),
                                  self.source_uri)
        self.warnings = [warning] if warning else []
        for text in self.warnings:
            log.warning(text)
        if self.recording:
            self.recording.begin(self.run_id, self.logger.submit, self.wall_clock())
        for worker in self.workers():
            worker.start()
        log.info("run %d started: %s -> %s", self.run_id, self.source_uri, self.store.path)
        return self

    def run(self, duration=None):
        """Start, run until stopped, for ``duration`` seconds, or to the end of a file; stop.

        Returns the summary dict (also kept in ``self.summary``).
        """
        try:
            self.start()
        except BaseException:
            for worker in self.workers():
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
            if self._check_workers():
                break
            if status_every and now - last_status.t >= status_every:
                current = self.snapshot()
                self._show_status(status_line(last_status, current))
                last_status = current
            if now - self._last_stats.t >= stats_every:
                self._submit_stats()
            if self.watchdog is not None and self.watchdog.due(now):
                self.watchdog.check(now, self.snapshot(), self.logger.commits,
                                    self.capture.failures > 0)

    def _check_workers(self):
        """Record workers that died on an error; True when an essential one did."""
        stages = self.stages()
        for stage, workers in stages.items():
            for worker in workers:
                if not (worker.done.is_set() and worker.error) or worker.name in self.failures:
                    continue
                error = self.failures[worker.name] = worker.error_line
                if stage in ESSENTIAL:
                    self.failed = worker.name
                    log.error("worker %s failed (%s); stopping the run", worker.name, error)
                    return True
                log.error("worker %s failed (%s); the run goes on without it", worker.name, error)
                self.logger.submit(ev.worker_failed(self.wall_clock(), worker.name, error))
        return False

    def _show_status(self, line):
        if self.preview:
            self.preview.status_text = line
        if self.status_stream is not None:
            self.status_stream.write(line + "\n")
            self.status_stream.flush()

    def _submit_stats(self):
        current = self.snapshot()
        self.logger.submit(StatsRecord(stats_row(self._last_stats, current, self.wall_clock())))
        self._last_stats = current

    def snapshot(self):
        return take_snapshot(self.parts, self.clock)

    def stop(self):
        """Stop by the plan, commit everything, end the run row; idempotent."""
        if self.summary is not None or self.run_id is None:
            return self.summary
        self.stop_requested.set()
        if self.watchdog is not None:
            self.watchdog.stopping()
        stop_started = time.monotonic()
        self._check_workers()   # a part that died just now is named too
        summary = {}

        def before_ask(stage):
            if stage == "event-logger":
                if self._last_stats is not None and self.clock() > self._last_stats.t:
                    self._submit_stats()   # the last, partial interval
                summary.update(self._summary())
                self.logger.submit(ev.run_stopped(self.wall_clock(), summary))

        def after_stop(stage, late):
            if late:
                summary.setdefault("stuck", []).extend(late)
            if stage == "capture":
                self.slot.close()
            elif stage == "control" and self.parts.button is not None:
                self.parts.button.close()   # no new locks from outside either
            elif stage == "inference" and not late:
                self.inference.finish()   # open objects have now left
                self.detector.close()
            elif stage == "alert-sinks":
                self.alerts.flush()
            elif stage == "event-logger":
                self._end_run(summary, not late, stop_started)

        stop_stages(self.stages(), before_ask, after_stop)
        self.summary = summary
        return summary

    def _end_run(self, summary, stopped, stop_started):
        summary.update(events=self.logger.events, detection_rows=self.logger.rows,
                       commits=self.logger.commits, failed_batches=self.logger.failed_batches,
                       records_lost=self.logger.records_lost,
                       detections_lost=self.logger.detections_lost,
                       events_lost=self.logger.events_lost,
                       stop_s=round(time.monotonic() - stop_started, 3))
        if stopped:
            self.store.end_run(self.run_id, self.wall_clock(), summary)
            self.store.close()
        else:
            # Writing (or closing) from here while the logger may still write would
            # break the one-writer rule; the next start closes the run as interrupted.
            log.error("event logger did not stop: run %d left without ended_at", self.run_id)

    def _summary(self):
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
            summary["alert_sinks"] = self.alerts.summary()
        stages = self.stages()
        dropped = {s.name: s.dropped for s in stages["alerts"] + stages["subscribers"] if s.dropped}
        if dropped:
            summary["subscriber_drops"] = dropped
        if self.recording:
            summary["recording"] = self.recording.summary()
        if self.parts.gps.worker:
            summary["gps"] = self.parts.gps.worker.summary()
        if self.imu:
            summary["imu"] = self.imu.summary()
        if self.parts.button is not None:
            summary["button_locks"] = self.parts.button.locks
        if self.parts.parking:
            summary["parking"] = dict(self.parts.parking.summary(),
                                      frames_skipped=self.capture.skipped,
                                      inferences_skipped=self.inference.skipped)
        if self.parts.uploads:
            summary["uploads"] = self.parts.uploads.summary()
        if self.parts.fleet:
            summary["fleet"] = self.parts.fleet.link.summary()
        if self.preview:
            summary["preview"] = self.preview.sink.description
        if self.warnings:
            summary["warnings"] = self.warnings
        if self.failures:
            summary["failed_workers"] = dict(self.failures)
        if self.failed:
            summary["failed"] = self.failed
        return summary
