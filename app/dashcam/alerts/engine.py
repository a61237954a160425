"""The alert engine: rules on every frame as it leaves inference, sinks at once, the store after.

``AlertEngine`` is a frame subscriber (``fanout.Subscriber``): for each
``FrameRecord`` it adds the boxes of confirmed tracks to their histories
(``TrackHistories``), checks every rule on every such track (``rules.check``,
``rules.cooled_down``), or, for a rule with ``target = lead``, on the lead object
(``alerts.lead``), while the vehicle's speed allows the rule (``speed()``, km/h or
None), and offers each alert to every sink's queue without waiting. Each sink
reports its ``Delivery``; once all have (or ``DELIVERY_TIMEOUT_S`` passed, or the
run stops), ``Deliveries`` submits one ``AlertRecord`` to the event logger. So a warning waits for no fsync, and a
sink that is slow or broken costs only its own deliveries.

The sinks are workers of their own, started before the engine and stopped
after its queue is drained (the stop plan's ``alert-sinks`` stage), so every
alert it took is offered to them; ``Deliveries.sweep(0)`` then records what
a sink never reported. Committed
events reach ``EventWatch`` (an event subscriber): ``camera_lost`` /
``camera_restored`` switch the sinks' camera state and the heartbeat's status,
``export_finished`` (from USB export) signals ``export_done`` or
``export_failed`` on every sink, ``impact`` and ``manual_lock`` their own signals.
"""

import logging
import threading
import time
from collections import deque

from dashcam import events as ev
from dashcam.alerts import nmea
from dashcam.alerts.records import DROPPED, PENDING, Alert, AlertRecord, Delivery
from dashcam.alerts.lead import LeadHistory, Part, merge, select_lead
from dashcam.alerts.rules import LEAD, Sample, check, cooled_down, speed_allows
from dashcam.alerts.sinks import EXPORT_DONE, EXPORT_FAILED, IMPACT, MANUAL_LOCK
from dashcam.fanout import Subscriber
from dashcam.metrics import Window

log = logging.getLogger(__name__)

HISTORY_S = 2.0            # seconds of boxes kept per track (TTC needs 0.5)
DELIVERY_TIMEOUT_S = 5.0   # a sink silent this long is recorded as pending
STALLED_S = 2.0            # no frame for this long: the heartbeat says STALLED


class TrackHistories:
    """The last ``keep_s`` seconds of boxes of each track, and which tracks are objects.

    Pure bookkeeping over ``FrameRecord``s: a track is confirmed by its
    ``object_appeared`` event and forgotten at its ``object_left`` (or when
    unseen for ``keep_s``, for tentative tracks that never became objects).
    """

    def __init__(self, keep_s=HISTORY_S):
        self.keep_s = keep_s
        self.samples = {}          # track id -> deque of Sample
        self.labels = {}
        self.confirmed = set()

    def update(self, record):
        """``(seen, left)``: (track id, label, samples) of confirmed tracks in this frame,
        and the ids of tracks that left."""
        left = []
        for event in record.events:
            if event.type == ev.OBJECT_APPEARED:
                self.confirmed.add(event.track_id)
            elif event.type == ev.OBJECT_LEFT:
                left.append(event.track_id)
        now = record.t_mono
        seen = []
        for detection, track_id in zip(record.detections, record.track_ids):
            if track_id is None:
                continue
            history = self.samples.get(track_id)
            if history is None:
                history = self.samples[track_id] = deque()
                self.labels[track_id] = detection.label
            history.append(Sample(now, record.t_utc, detection.box, float(detection.confidence)))
            while now - history[0].t_mono > self.keep_s:
                history.popleft()
            if track_id in self.confirmed:
                seen.append((track_id, detection.label, list(history)))
        for track_id in left:
            self._forget(track_id)
        for track_id in [t for t, h in self.samples.items() if now - h[-1].t_mono > self.keep_s]:
            self._forget(track_id)
        return seen, left

    def _forget(self, track_id):
        self.samples.pop(track_id, None)
        self.labels.pop(track_id, None)
        self.confirmed.discard(track_id)


class RunStatus:
    """What the heartbeat says: frames per second processed lately, and the camera's state.

    The engine records each frame's time, the event watch the camera; the
    serial sink reads ``heartbeat(now)`` from its own thread.
    """

    def __init__(self, window_s=STALLED_S):
        self.window_s = window_s
        self.frames = Window(64)
        self.camera_lost = False

    def heartbeat(self, now):
        """``(fps, status)``: see ``nmea``'s statuses."""
        times = [t for t in self.frames.values() if now - t <= self.window_s]
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        if self.camera_lost:
            return fps, nmea.CAMERA_LOST
        if not self.frames.values():
            return 0.0, nmea.STARTING
        return fps, nmea.OK if times else nmea.STALLED


class Deliveries:
    """Alerts waiting for their sinks' reports; each complete one goes to ``submit`` as an
    ``AlertRecord``. Called from the engine's and the sinks' threads; ``sweep`` runs on
    every frame and at the stop."""

    def __init__(self, sink_names, submit, clock=time.monotonic, wall_clock=time.time):
        self.sink_names = list(sink_names)
        self.submit = submit
        self.clock, self.wall_clock = clock, wall_clock
        self._open = {}            # alert id -> (alert, {sink: Delivery}, opened at)
        self._lock = threading.Lock()

    def open(self, alert):
        if not self.sink_names:
            self._submit(alert, {})   # no sinks: recorded at once
            return
        with self._lock:
            self._open[alert.alert_id] = (alert, {}, self.clock())

    def report(self, alert, delivery):
        with self._lock:
            entry = self._open.get(alert.alert_id)
            if entry is None:
                log.debug("late delivery of alert %d by %s", alert.alert_id, delivery.sink)
                return
            entry[1][delivery.sink] = delivery
            done = len(entry[1]) == len(self.sink_names)
            if done:
                del self._open[alert.alert_id]
        if done:
            self._submit(entry[0], entry[1])

    def sweep(self, timeout=DELIVERY_TIMEOUT_S):
        """Record alerts whose sinks have not all reported within ``timeout`` seconds
        (0: every open one, at the stop), the silent sinks as ``pending``."""
        now = self.clock()
        with self._lock:
            stale = [k for k, (_, _, opened) in self._open.items() if now - opened >= timeout]
            entries = [self._open.pop(k) for k in stale]
        for alert, got, _ in entries:
            for sink in self.sink_names:
                if sink not in got:
                    got[sink] = Delivery(sink, PENDING, now, self.wall_clock(), None,
                                         "no report from the sink")
            self._submit(alert, got)

    def _submit(self, alert, got):
        self.submit(AlertRecord(alert, [got[s] for s in self.sink_names]))


class AlertEngine(Subscriber):
    """Checks ``rules`` (``AlertRule``s) on each ``FrameRecord`` and hands alerts to ``sinks``.

    ``submit(record)`` takes the finished ``AlertRecord``s (the event
    logger's). ``status`` is the ``RunStatus`` the heartbeat reads. ``speed()``
    gives the vehicle's speed in km/h, None when not known (default: never known).
    ``queue_size`` 64 frames. Counters: ``alerts`` raised.
    """

    def __init__(self, rules, sinks, submit, status=None, queue_size=64,
                 clock=time.monotonic, wall_clock=time.time, speed=None):
        Subscriber.__init__(self, "alert-rules", self.on_frame, queue_size, clock)
        self.rules = list(rules)
        self.sinks = list(sinks)
        self.status = status or RunStatus()
        self.histories = TrackHistories()
        self.deliveries = Deliveries([s.name for s in self.sinks], submit, clock, wall_clock)
        for sink in self.sinks:
            sink.on_delivery = self.deliveries.report
        self.clock, self.wall_clock = clock, wall_clock
        self.speed = speed or (lambda: None)
        self.speed_failed = False
        self.leads = {r.name: LeadHistory(HISTORY_S) for r in self.rules if r.target == LEAD}
        self.last_fired = {}       # track id -> {rule name: t_mono}
        self.rule_fired = {}       # rule name -> t_mono of its last alert
        self.alerts = 0

    def on_frame(self, record):
        if record.frame_index is not None:
            self.status.frames.add(record.t_mono)
        seen, left = self.histories.update(record)
        for track_id in left:
            self.last_fired.pop(track_id, None)
        if record.frame_index is not None and record.frame_size:
            speed = self._speed()
            allowed = [r for r in self.rules if speed_allows(r, speed)]
            for rule in self.rules:
                if rule.target == LEAD:
                    self._judge_lead(rule, record, rule in allowed)
            for track_id, label, samples in seen:
                marks = [self.last_fired.setdefault(track_id, {})]
                for rule in allowed:
                    if rule.target != LEAD:
                        finding = check(rule, track_id, label, samples, record.frame_size)
                        self._fire(rule, finding, marks, record)
        self.deliveries.sweep()

    def _speed(self):
        """The speed getter's km/h; a getter that fails is no fix (said once), never the end
        of every warning."""
        try:
            return self.speed()
        except Exception:  # the GPS stage's fault must not silence the rules
            if not self.speed_failed:
                log.exception("the vehicle's speed could not be read; rules act as without a fix")
            self.speed_failed = True
            return None

    def _judge_lead(self, rule, record, allowed):
        """Follow ``rule``'s lead object on this frame; judge it if ``allowed``."""
        confirmed = self.histories.confirmed
        parts = [Part(d.box, float(d.confidence), d.label, t, t in confirmed)
                 for d, t in zip(record.detections, record.track_ids)
                 if d.label in rule.labels and d.confidence >= rule.min_confidence]
        lead = self.leads[rule.name]
        blob = select_lead(merge(parts), rule.roi, record.frame_size)
        samples = lead.update(blob, record.t_mono, record.t_utc)
        if blob is None or not allowed or not cooled_down(lead.fired, record.t_mono,
                                                           rule.cooldown):
            return
        tracks = [t for t in blob.track_ids if t in confirmed]
        # the alert names the lead's longest-seen track: the one its driver saw first
        oldest = min(tracks, key=lambda t: (self.histories.samples[t][0].t_mono, t))
        finding = check(rule, oldest, blob.label, samples, record.frame_size)
        if self._fire(rule, finding, [self.last_fired.setdefault(t, {}) for t in tracks], record):
            lead.fired = record.t_mono

    def _fire(self, rule, finding, marks, record):
        """Raise ``finding`` (None: nothing) unless the rule fired within its cooldown for a
        track in ``marks`` ({rule name: t_mono} each) or within its rule-wide cooldown."""
        now = record.t_mono
        if finding is None or not cooled_down(self.rule_fired.get(rule.name), now,
                                              rule.rule_cooldown):
            return False
        if not all(cooled_down(m.get(rule.name), now, rule.cooldown) for m in marks):
            return False
        for mark in marks:
            mark[rule.name] = now
        self.rule_fired[rule.name] = now
        self.raise_alert(rule, finding, record)
        return True

    def raise_alert(self, rule, finding, record):
        self.alerts += 1
        alert = Alert(self.alerts, rule.name, rule.severity, finding.track_id, finding.label,
                      finding.confidence, finding.box, finding.ttc, record.frame_index,
                      record.t_mono, record.t_utc, record.detect_s, self.clock())
        self.deliveries.open(alert)
        for sink in self.sinks:
            if not sink.offer(alert):
                self.deliveries.report(alert, Delivery(sink.name, DROPPED, self.clock(),
                                                       self.wall_clock(), None,
                                                       "its queue was full"))
        return alert



class EventWatch:
    """Committed events that the sinks show: the camera's state, USB export's outcome, an
    impact (``$PDCAM,SIG,...,impact``, the critical pattern) and a lock (acknowledged)."""

    def __init__(self, sinks, status):
        self.sinks = list(sinks)
        self.status = status

    def __call__(self, pair):
        _, event = pair
        if event.type in (ev.CAMERA_LOST, ev.CAMERA_RESTORED):
            lost = event.type == ev.CAMERA_LOST
            self.status.camera_lost = lost
            for sink in self.sinks:
                sink.camera(lost)
        elif event.type == ev.EXPORT_FINISHED:
            failed = event.severity != ev.INFO or (event.data or {}).get("ok") is False
            for sink in self.sinks:
                sink.signal(EXPORT_FAILED if failed else EXPORT_DONE)
        elif event.type in (ev.IMPACT, ev.MANUAL_LOCK):
            kind = IMPACT if event.type == ev.IMPACT else MANUAL_LOCK
            for sink in self.sinks:
                sink.signal(kind, event.ts_start)
