"""A device's fleet link on real parts, as ``build_pipeline`` wires it, without a camera: a
store file, its event logger (the single writer), ``build_fleet`` with paho-mqtt, and
helpers that raise events and alerts the way the pipeline's stages do."""

import functools
import itertools
import threading
import time

from dashcam import events as ev
from dashcam.alerts.records import Alert
from dashcam.config.mqtt import Mqtt
from dashcam.fleet import build_fleet
from dashcam.store import EventLoggerWorker, EventStore, StoreReader

DEVICE = "truck-07"


def section(url, **values):
    """An enabled ``[mqtt]`` for ``url``: device ``truck-07``, no heartbeat unless given."""
    values.setdefault("heartbeat_interval", 0.0)
    return Mqtt(enabled=True, url=url, device_id=DEVICE, **values)


class Device:
    """One start of the dashcam's fleet part on the store at ``db``."""

    def __init__(self, db, mqtt, lock=None, make_uploader=None, describe=dict):
        self.db = db
        self.store = EventStore(db)
        self.logger = EventLoggerWorker(self.store, publish=self._committed)
        self.marks = set()
        self.commit = threading.Condition()
        self.fleet = build_fleet(mqtt, self.store, self.logger.submit,
                                 functools.partial(StoreReader, db), describe,
                                 lambda: self.logger.run_id, lock=lock,
                                 make_uploader=make_uploader)
        run = self.store.new_run(time.time(), "test")
        self.logger.run_id = run.run_id
        self.logger.submit(run)
        self.tracks = itertools.count(1)
        self.alerts = itertools.count(1)
        self.offered = 0   # alerts offered to the fleet's sink

    def _committed(self, pair):
        event = pair[1]
        if event.type == ev.EXPORT_FINISHED and "mark" in event.data:
            with self.commit:
                self.marks.add(event.data["mark"])
                self.commit.notify_all()

    def settle(self, timeout=30.0):
        """Wait until the writer has committed everything submitted so far (and so the
        outbox's rows): a marker event, submitted last, is committed."""
        # the sink hands each alert to the writer on its own thread: those first (FIFO after)
        offered, deadline = self.offered, time.monotonic() + timeout
        while self.fleet.sink.delivered + self.fleet.sink.failed < offered:
            assert time.monotonic() < deadline, "the fleet sink did not take its alerts"
            time.sleep(0.01)
        mark = len(self.marks) + 1
        self.logger.submit(ev.Event(ev.EXPORT_FINISHED, 0.0, 0.0, None, None, ev.INFO,
                                    {"ok": True, "mark": mark}))
        with self.commit:
            assert self.commit.wait_for(lambda: mark in self.marks, timeout)

    def start(self):
        for worker in (self.logger, self.fleet.sink, self.fleet.link):
            worker.start()
        return self

    def stop(self):
        """Stop as the stop plan does: sink, link, then the writer; the store closed."""
        self.fleet.sink.stop(2.0)
        assert self.fleet.link.stop(5.0)
        assert self.logger.stop(10.0)
        self.store.close()

    def event(self, kind=ev.CAMERA_LOST, t=None):
        """An event of a moment (a camera state, a run state) through the writer."""
        t = time.time() if t is None else t
        self.logger.submit(ev.Event(kind, t, t, None, None, ev.WARNING, {"note": "test"}))

    def object_appeared(self, label="car"):
        track = next(self.tracks)
        t = time.time()
        self.logger.submit(ev.Event(ev.OBJECT_APPEARED, t, None, label, track, ev.INFO,
                                    {"confidence": 0.9}))
        return track

    def object_left(self, track, label="car"):
        t = time.time()
        self.logger.submit(ev.Event(ev.OBJECT_LEFT, t, t, label, track, ev.INFO, {"frames": 9}))

    def alert(self, track=None, rule="forward-collision", severity="critical"):
        """An alert as the engine raises it: to the fleet's sink at once, then (as the engine
        does once the sinks reported) its event to the store."""
        number, t = next(self.alerts), time.time()
        track = next(self.tracks) if track is None else track
        alert = Alert(number, rule, severity, track, "car", 0.87, (10.0, 20.0, 110.0, 220.0),
                      1.9, 42, time.monotonic(), t, 0.01, time.monotonic())
        assert self.fleet.sink.offer(alert)
        self.offered += 1
        self.logger.submit(ev.alert(t, "car", track, severity, {"rule": rule,
                                                                "alert_id": number}))
        return alert

    def outbox(self):
        with StoreReader(self.db) as reader:
            return reader.outbox_summary()
