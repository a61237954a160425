"""The alert engine on frame records from the real tracker: which tracks fire, cooldowns,
deliveries per sink, failure isolation, and the rows that reach a real SQLite store."""

import json
import threading

from dashcam import events as ev
from dashcam.alerts.engine import AlertEngine, EventWatch, RunStatus, TrackHistories
from dashcam.alerts.records import (DELIVERED, DROPPED, FAILED, PENDING, AlertRecord,
                                    write_alerts)
from dashcam.alerts.rules import AlertRule, Height, Polygon
from dashcam.alerts.sinks import EXPORT_DONE, EXPORT_FAILED, LogSink, Sink, Signal
from dashcam.cli import main
from dashcam.records import Detection, FrameRecord
from dashcam.store import EventStore, StoreReader, read_alerts
from dashcam.tracking import IouTracker

T0 = 1700000000.0
FRAME = (1920, 1080)


def rule(name="any-car", cooldown=10.0, **values):
    base = dict(name=name, labels=("car",), min_confidence=0.5, min_height=Height(0.0, False),
                roi=Polygon(), ttc_below=0.0, severity="warning", cooldown=cooldown)
    base.update(values)
    return AlertRule(**base)


def records(boxes_per_frame, fps=10.0, tracker=None):
    """FrameRecords as the inference worker makes them, from lists of car boxes per frame."""
    tracker = tracker or IouTracker(min_hits=3)
    out = []
    for index, boxes in enumerate(boxes_per_frame):
        t = index / fps
        detections = [Detection(0, "car", 0.9, *box) for box in boxes]
        update = tracker.update(detections, t, T0 + t)
        out.append(FrameRecord(index, t, T0 + t, detections, update.track_ids, 0.03,
                               ev.events_from_tracks(update), [], FRAME))
    return out


def steady(frames, x=800.0):
    return [[(x, 500.0, x + 200.0, 650.0)] for _ in range(frames)]


def test_rules_fire_for_confirmed_tracks_once_per_cooldown():
    got = []
    engine = AlertEngine([rule(cooldown=1.0)], [], lambda r: got.append(r.alert))
    for record in records(steady(30)):          # 3 s at 10 fps
        engine.on_frame(record)
    # confirmed at its third frame (0.2 s), then again once per second
    assert [round(a.t_mono, 1) for a in got] == [0.2, 1.2, 2.2]
    assert {(a.rule, a.track_id, a.label, a.severity) for a in got} == {("any-car", 1, "car", "warning")}
    assert got[0].frame_index == 2 and got[0].t_utc == T0 + got[0].t_mono and got[0].detect_s == 0.03


def test_a_flicker_that_never_becomes_an_object_never_fires():
    got = []
    engine = AlertEngine([rule(cooldown=0.0)], [], lambda r: got.append(r.alert))
    flicker = [[(800.0, 500.0, 1000.0, 650.0)] if i % 4 == 0 else [] for i in range(20)]
    for record in records(flicker):
        engine.on_frame(record)
    assert got == [] and engine.histories.confirmed == set()


def test_histories_forget_tracks_that_left_and_unconfirmed_ones_after_a_while():
    histories = TrackHistories(keep_s=1.0)
    frames = records(steady(5) + [[]] * 15)     # seen 0.5 s, then gone for 1.5 s (max_age 1 s)
    left = []
    for record in frames:
        seen, gone = histories.update(record)
        left.extend(gone)
    assert left == [1] and histories.samples == {} and histories.confirmed == set()


class Failing(Sink):
    def deliver(self, alert):
        raise OSError("the wire is cut")


class Blocking(Sink):
    """Holds its first delivery until ``release`` is set: a wedged sink with a queue of one."""

    def __init__(self, name):
        Sink.__init__(self, name, queue_size=1)
        self.release, self.holding = threading.Event(), threading.Event()

    def deliver(self, alert):
        self.holding.set()
        assert self.release.wait(10.0)
        return "late"


def test_a_failing_or_wedged_sink_costs_only_its_own_deliveries(tmp_path):
    submitted = []
    log_sink, failing, blocking = LogSink(), Failing("broken"), Blocking("wedged")
    engine = AlertEngine([rule(cooldown=0.0)], [log_sink, failing, blocking], submitted.append)
    reported, done = [], threading.Condition()

    def report(alert, delivery):     # the engine's, and a note of it for the test to wait on
        engine.deliveries.report(alert, delivery)
        with done:
            reported.append(delivery.sink)
            done.notify_all()
    for sink in engine.sinks:
        sink.on_delivery = report
        sink.start()
    engine.start()
    frames = records(steady(6))                 # alerts on frames 2, 3, 4, 5
    engine.offer(frames[0])
    engine.offer(frames[1])
    engine.offer(frames[2])
    assert blocking.holding.wait(10.0)          # the wedged sink holds alert 1
    for record in frames[3:]:
        engine.offer(record)
    # the engine is not held up: the other sinks deliver alerts 2..4 meanwhile
    with done:
        assert done.wait_for(lambda: reported.count("log") == reported.count("broken") == 4, 10.0)
    assert (log_sink.delivered, failing.failed, blocking.delivered) == (4, 4, 0)
    blocking.release.set()
    assert engine.stop(5.0) and all(sink.stop(5.0) for sink in engine.sinks)
    engine.deliveries.sweep(0.0)
    assert [r.alert.alert_id for r in sorted(submitted, key=lambda r: r.alert.alert_id)] == [1, 2, 3, 4]
    by_alert = {r.alert.alert_id: {d.sink: d.status for d in r.deliveries}
                    for r in submitted}
    assert [by_alert[i]["log"] for i in (1, 2, 3, 4)] == [DELIVERED] * 4
    assert [by_alert[i]["broken"] for i in (1, 2, 3, 4)] == [FAILED] * 4
    # alert 2 waited in the wedged sink's queue of one; 3 and 4 did not fit
    assert [by_alert[i]["wedged"] for i in (1, 2, 3, 4)] == [DELIVERED, DELIVERED, DROPPED, DROPPED]
    assert blocking.dropped == 2
    failed = next(d for d in submitted[0].deliveries if d.sink == "broken")
    assert failed.error == "OSError: the wire is cut" and failed.message is None

    # the store gets one alert event per alert and a row per sink, linked to it
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        store.register(AlertRecord, write_alerts)
        run = store.begin_run(T0, "test")
        batch = store.write(run, submitted)
        assert batch.rows["alerts"] == 12 and [e.type for _, e in batch.events] == ["alert"] * 4
    with StoreReader(path) as reader:
        rows = read_alerts(reader.conn)
        assert [r["rule"] for r in rows] == ["any-car"] * 4
        assert [d["status"] for d in rows[0]["deliveries"]] == [DELIVERED, FAILED, DELIVERED]
        assert rows[0]["deliveries"][0]["latency_ms"] > 0
        assert rows[0]["data"]["sinks"] == {"log": DELIVERED, "broken": FAILED, "wedged": DELIVERED}
        delivered = reader.db.execute("SELECT sum(delivered) FROM alerts").fetchone()[0]
        assert delivered == 4 + 2


def test_an_alert_a_sink_never_reports_is_recorded_as_pending_at_the_stop():
    submitted = []
    silent = Sink("silent")                      # never started: nothing reports
    silent.consume = lambda item: None
    engine = AlertEngine([rule()], [silent], submitted.append)
    for record in records(steady(4)):
        engine.on_frame(record)
    assert submitted == []
    engine.deliveries.sweep(0.0)
    [record] = submitted
    assert [(d.sink, d.status) for d in record.deliveries] == [("silent", PENDING)]


def test_committed_events_switch_the_camera_state_and_signal_export():
    sink = Sink("rec")   # not started: what it is given stays in its queue
    status = RunStatus()
    watch = EventWatch([sink], status)
    watch((1, ev.camera_lost(T0, "csi://0", "gone")))
    assert status.camera_lost and status.heartbeat(0.0)[1] == "CAMLOST"
    watch((2, ev.camera_restored(T0 + 5, "csi://0", T0, 3)))
    watch((3, ev.Event("export_finished", T0, T0, None, None, ev.INFO, {"files": 3})))
    watch((4, ev.Event("export_finished", T0, T0, None, None, ev.WARNING, {"ok": False})))
    watch((5, ev.run_started(T0, {})))
    items = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    assert [getattr(i, "lost", None) for i in items[:2]] == [True, False]
    assert [i.kind for i in items[2:]] == [EXPORT_DONE, EXPORT_FAILED]
    assert all(isinstance(i, Signal) for i in items[2:])
    assert not status.camera_lost


def test_heartbeat_status_from_frame_times():
    status = RunStatus(window_s=2.0)
    assert status.heartbeat(0.0) == (0.0, "STARTING")
    for i in range(21):
        status.frames.add(i / 10.0)
    fps, word = status.heartbeat(2.0)
    assert word == "OK" and abs(fps - 10.0) < 1e-6
    assert status.heartbeat(10.0) == (0.0, "STALLED")


def test_cli_lists_alerts_with_their_deliveries(tmp_path, capsys):
    submitted = []
    engine = AlertEngine([rule(ttc_below=0.0)], [], submitted.append)
    for record in records(steady(4)):
        engine.on_frame(record)
    path = str(tmp_path / "dashcam.db")
    with EventStore(path) as store:
        store.register(AlertRecord, write_alerts)
        store.write(store.begin_run(T0, "test"), submitted)
    assert main(["alerts", "--db", path, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["rule"], row["label"], row["track_id"], row["severity"]) == ("any-car", "car", 1, "warning")
    assert main(["alerts", "--db", path, "--rule", "person-ahead"]) == 0   # configured, no alert
    assert capsys.readouterr().err == "no alerts match\n"
    assert main(["events", "--db", path, "--type", "alert", "--json"]) == 0
    [event] = json.loads(capsys.readouterr().out)
    assert event["id"] == row["id"] and event["data"]["rule"] == "any-car"
