"""The parking worker: looks at the car's senses twice a second, sets the frame rates, and
watches the frames and the events while the car is parked (``mode`` decides).

It is a frame subscriber (each ``FrameRecord`` as it leaves inference) and is handed the
committed events by a forwarder (``impact`` from the IMU stage ends parking, after a
``parking_event``); ``impact(t_utc)`` is the same signal for a caller that has no event.
Parked, the capture passes on ``recording_fps`` frames a second (the recording keeps those
only, in real time) and inference takes ``fps`` of them; an approaching car or an impact
brings both back to full rate for ``event_seconds``, with a ``parking_event`` whose clip
(pre-roll included, from the segments already on disk) is protected as any event's.
"""

import logging
import time

from dashcam import events as ev
from dashcam.parking.mode import APPROACH, IMPACT, START, Senses, approaching, step
from dashcam.records import FrameRecord
from dashcam.worker import QueueWorker

log = logging.getLogger(__name__)

LOOK_S = 0.5      # seconds between looks at the senses


class _Impact:
    """An impact handed in by ``ParkingWorker.impact``."""

    def __init__(self, t_utc, data):
        self.t_utc, self.data = t_utc, data


class ParkingWorker(QueueWorker):
    """Parking mode for one run; see the module. ``section``: ``[parking]``;
    ``submit``: the event logger's; ``capture_rate``, ``inference_rate``: the workers'
    ``FrameRate``s; ``ignition``: a gpiozero input device (``is_active`` while the engine
    runs) or None; ``speed_kmh()``, ``still()``: the GPS and IMU stages' (None: no such
    stage), each returning None when it does not know."""

    name = "parking"

    def __init__(self, section, submit, capture_rate, inference_rate, ignition=None,
                 speed_kmh=None, still=None, clock=time.monotonic, wall_clock=time.time,
                 queue_size=64):
        QueueWorker.__init__(self, queue_size, clock=clock)
        self.section, self.submit = section, submit
        self.capture_rate, self.inference_rate = capture_rate, inference_rate
        self.ignition, self.speed_kmh, self.still = ignition, speed_kmh, still
        self.wall_clock = wall_clock
        self.state = START
        self.full_until = None        # monotonic: full rate after a parking event until then
        self.entered = self.events = 0
        self.parked_s = 0.0
        self._looked = None
        self._previous = None         # the last FrameRecord with detections, while parked
        self._parked_utc = 0.0        # when parking began: frames captured before are not judged

    @property
    def parked(self):
        return self.state.parked

    def impact(self, t_utc, data=None):
        """An impact at ``t_utc`` (an injected signal); never blocks."""
        self.offer(_Impact(t_utc, dict(data or {})))

    def senses(self):
        """What the ignition line, the GPS and the IMU say now (``mode.Senses``)."""
        return Senses(self._read("ignition", lambda: bool(self.ignition.is_active))
                      if self.ignition is not None else None,
                      self._read("speed", self.speed_kmh) if self.speed_kmh else None,
                      self._read("still", self.still) if self.still else None)

    def _read(self, what, read):
        try:
            return read()
        except Exception as error:   # a sense that fails says nothing; parking goes on
            self.report(what, logging.WARNING, "parking: cannot read %s: %s", what, error)
            return None

    def next_tick(self, now):
        return 0.0 if self._looked is None else max(0.0, self._looked + LOOK_S - now)

    def tick(self, now):
        if self._looked is None or now - self._looked >= LOOK_S:
            self._looked = now
            self._look(now, impact=None)
        if self.full_until is not None and now >= self.full_until:
            self.full_until = None
            self._set_rates()

    def consume(self, item):
        if isinstance(item, FrameRecord):
            self._frame(item)
        elif isinstance(item, _Impact):
            self._look(self.clock(), impact=item)
        elif isinstance(item, tuple) and len(item) == 2 and item[1].type == ev.IMPACT:
            event = item[1]
            self._look(self.clock(), impact=_Impact(event.ts_start, dict(event.data or {})))

    def _look(self, now, impact):
        if impact is not None and self.parked:
            self._event(impact.t_utc, IMPACT, None, None, impact.data)
        state, change = step(self.state, self.senses(), now, self.section.still_minutes * 60.0,
                             self.section.still_kmh, impact=impact is not None)
        if change is not None:
            self._change(state, change, now)
        self.state = state

    def _change(self, state, change, now):
        parked, reason = change
        t_utc = self.wall_clock()
        if parked:
            self.entered += 1
            self._parked_utc, self._previous = t_utc, None
            log.info("parking mode: %s", reason)
            self.submit(ev.parking_started(t_utc, reason))
        else:
            stayed = now - self.state.since
            self.parked_s += stayed
            log.info("parking mode ended: %s after %.0f s", reason, stayed)
            self.submit(ev.parking_ended(t_utc, reason, stayed))
            self.full_until = self._previous = None
        self.state = state
        self._set_rates()

    def _frame(self, record):
        if not self.parked or record.frame_index is None or record.frame_size is None:
            return
        if record.t_utc < self._parked_utc:
            return   # captured before parking began (judged late on a busy machine)
        if self.full_until is None and self._previous is not None:
            found = approaching(self._previous, record, record.frame_size[1],
                                self.section.near_height, self.section.ttc_below)
            if found is not None:
                index, ttc = found
                detection = record.detections[index]
                self._event(record.t_utc, APPROACH, detection.label,
                            record.track_ids[index],
                            {"ttc_s": round(ttc, 2), "confidence": round(detection.confidence, 3),
                             "box": [round(v, 1) for v in detection.box]})
        if record.detections:
            self._previous = record

    def _event(self, t_utc, cause, label, track_id, data):
        """A parking event: stored (its clip protected), and full rate for event-seconds."""
        self.events += 1
        log.warning("parking event: %s", cause)
        self.submit(ev.parking_event(t_utc, cause, label, track_id, data))
        self.full_until = self.clock() + self.section.event_seconds
        self._set_rates()

    def _set_rates(self):
        """Full rate while driving and after a parking event; parked, the low rates."""
        low = self.parked and self.full_until is None
        section = self.section
        self.capture_rate.fps = max(section.fps, section.recording_fps) if low else None
        self.inference_rate.fps = section.fps if low else None

    def finish(self):
        """At the stop: a parked run's parking ends with it; the ignition line is let go."""
        now = self.clock()
        if self.parked:
            self._change(self.state._replace(parked=False, since=now), (False, "run_stopped"), now)
        if self.ignition is not None:
            self.ignition.close()

    def summary(self):
        """The run summary's ``parking`` figures."""
        return {"parked": self.parked, "entered": self.entered, "events": self.events,
                "parked_s": round(self.parked_s, 1), "ignition": self.ignition is not None}
