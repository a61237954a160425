"""The fleet link against a real Mosquitto broker (``tests/broker.py``): what is published, the
outbox through broker outages, device restarts, a refused network and a day offline.

Outages are time-compressed (seconds, not the issue's 60 s and 24 h): what they test is the
order of things (rows kept until PUBACK, a backlog drained behind live alerts, the bound),
which does not depend on how long the broker is away.
"""

import json

from broker import Broker, Collector, broker_fixture  # noqa: F401 (the fixture)
from dashcam import events as ev
from dashcam.fleet import messages as msg
from dashcam.store import StoreReader
from fleet_device import DEVICE, Device, section

PREFIX = "dashcam/" + DEVICE


def payloads(collector, suffix):
    """``{id: payload}`` of the first arrival of each message on ``suffix``."""
    found = {}
    for payload in collector.json(suffix):
        found.setdefault(payload["id"], payload)
    return found


def first_arrivals(collector):
    """Each message's payload at its first arrival (duplicates dropped by id), in order."""
    seen, order = set(), []
    for topic, raw, _ in list(collector.messages):
        if topic.endswith("/status"):
            continue
        payload = json.loads(raw)
        if payload["id"] not in seen:
            seen.add(payload["id"])
            order.append((topic[len(PREFIX) + 1:], payload))
    return order


def accounted(collector):
    """``(n, dropped seqs, dropped counts)``: seqs 1..n all received or listed as dropped by a
    ``gap`` message (a row dropped while in flight may be both: the consumer keeps it)."""
    arrivals = first_arrivals(collector)
    gaps = [p for t, p in arrivals if t == "gap"]
    dropped = {s for g in gaps for first, last in g["seqs"] for s in range(first, last + 1)}
    known = dropped | {p["seq"] for _, p in arrivals}
    n = 0
    while n + 1 in known:
        n += 1
    counts = {k: sum(g["dropped"][k] for g in gaps) for k in ("alerts", "events", "heartbeats")}
    return n, dropped, counts


def stopped_broker(tmp_path):
    """A broker that already knows the test's subscriber (its persistent session, saved at the
    stop), stopped: what the device publishes once it is started again is kept for the
    subscriber, however soon the device reconnects."""
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Broker(folder).start()
    collector = Collector(broker)
    broker.stop()
    return broker, collector


def count_on(suffix, n):
    return lambda messages: sum(1 for t, _, _ in messages if t.endswith(suffix)) >= n


def test_alerts_and_event_lifecycles_arrive_with_status_seq_and_ids(broker, tmp_path):
    collector = Collector(broker)
    device = Device(str(tmp_path / "dashcam.db"), section(broker.url)).start()
    track = device.object_appeared()
    alert = device.alert(track)
    device.object_left(track)
    device.event(ev.CAMERA_LOST)
    collector.wait_for(count_on("/events", 4))
    device.stop()
    collector.wait_for(lambda m: m[-1][0].endswith("/status") and m[-1][1] == b"offline")

    arrivals = first_arrivals(collector)
    assert [p["seq"] for _, p in arrivals] == list(range(1, 6))
    assert len({p["id"] for _, p in arrivals}) == 5
    (sent_alert,) = [p for t, p in arrivals if t == "alerts"]
    assert sent_alert["rule"] == alert.rule and sent_alert["track"] == track
    assert sent_alert["device"] == DEVICE and sent_alert["ttc"] == 1.9
    assert sent_alert["lat"] is None and sent_alert["speed"] is None   # until the GPS stage
    events = [p for t, p in arrivals if t == "events"]
    assert [e["type"] for e in events] == ["new", "update", "end", "end"]
    new, update, end, moment = events
    assert new["after"]["type"] == "object_appeared" and new["after"]["end_time"] is None
    assert update["before"]["alerts"] == [] and update["after"]["severity"] == "critical"
    assert update["after"]["alerts"][0]["alert_id"] == sent_alert["alert_id"]
    assert end["after"]["end_time"] is not None and end["after"]["ended_by"]["type"] == "object_left"
    assert moment["before"] is None and moment["after"]["type"] == "camera_lost"
    statuses = [(p, r) for t, p, r in collector.messages if t == PREFIX + "/status"]
    assert statuses[0][0] == b"online" and statuses[-1][0] == b"offline"
    summary = device.outbox()
    assert summary["rows"] == 0 and summary["last_seq"] == 5 and summary["last_ack"]
    assert summary["link"]["state"] == "stopped"
    collector.close()


def test_broker_down_mid_run_every_message_arrives_and_outage_alerts_jump_the_backlog(
        broker, tmp_path):
    collector = Collector(broker)
    device = Device(str(tmp_path / "dashcam.db"), section(broker.url, drain_rate=40.0)).start()
    for _ in range(5):
        device.event()
    collector.wait_for(count_on("/events", 5))
    broker.stop()                                   # the broker goes away mid-run
    for _ in range(60):
        device.event(ev.CAMERA_RESTORED)            # the backlog: events during the outage
    outage_alerts = [device.alert(rule="person-ahead") for _ in range(3)]
    device.logger.submit(ev.Event(ev.RUN_STOPPED, 0.0, 0.0, None, None, ev.INFO, {}))
    broker.start()
    collector.wait_for(count_on("/alerts", 3))
    collector.wait_for(lambda m: len(first_arrivals(collector)) >= 5 + 60 + 3 + 3 + 1, 60)
    device.stop()

    arrivals = first_arrivals(collector)
    seqs = sorted(p["seq"] for _, p in arrivals)
    assert seqs == list(range(1, len(seqs) + 1))       # contiguous, none twice after dedup
    assert device.outbox()["rows"] == 0
    order = [p["id"] for _, p in arrivals]
    backlog = [p["id"] for t, p in arrivals if t == "events" and p["after"]["type"] == "camera_restored"]
    alerts = [p for t, p in arrivals if t == "alerts"]
    assert [a["alert_id"] for a in alerts] == [a.alert_id for a in outage_alerts]
    assert max(order.index(a["id"]) for a in alerts) < min(order.index(i) for i in backlog[1:])
    collector.close()


def test_a_device_restarted_while_the_broker_is_down_sends_its_rows_on_the_next_start(tmp_path):
    db = str(tmp_path / "dashcam.db")
    broker, collector = stopped_broker(tmp_path)
    url = broker.url
    first = Device(db, section(url)).start()        # nothing listens: connection refused
    first.alert()
    for _ in range(4):
        first.event()
    first.stop()
    assert first.outbox()["rows"] == 5 + 1          # the alert, its event, four events

    broker.start()
    try:
        second = Device(db, section(url)).start()
        # the first run's six, and the second start's run_interrupted (no orderly stop of
        # the first: Device.stop does not end the run row)
        collector.wait_for(lambda m: len(first_arrivals(collector)) >= 7)
        second.stop()
        arrivals = first_arrivals(collector)
        assert sorted(p["seq"] for _, p in arrivals) == list(range(1, 8))
        assert arrivals[0][0] == "alerts"              # the stored alert went first
        assert arrivals[-1][1]["after"]["type"] == "run_interrupted"
        assert second.outbox()["rows"] == 0
        collector.close()
    finally:
        broker.stop()


def test_network_refused_at_start_then_the_broker_comes(tmp_path):
    broker, collector = stopped_broker(tmp_path)
    device = Device(str(tmp_path / "dashcam.db"), section(broker.url)).start()
    device.alert()
    broker.start()
    try:
        collector.wait_for(count_on("/alerts", 1), 60)   # paho retries within 30 s
        device.stop()
        with StoreReader(device.db) as reader:
            assert reader.outbox_summary()["link"]["state"] == "stopped"
        collector.close()
    finally:
        broker.stop()


def test_a_simulated_day_offline_stays_in_bound_keeps_every_alert_and_reports_the_gap(tmp_path):
    """24 'hours' of driving with no broker: 100 events, 2 alerts and 120 heartbeats an hour,
    into an outbox bounded to 300 rows. Then the broker comes back."""
    broker, collector = stopped_broker(tmp_path)
    mqtt = section(broker.url, outbox_max_rows=300, outbox_max_bytes=400000)
    device = Device(str(tmp_path / "dashcam.db"), mqtt).start()
    sent_alerts = []
    for hour in range(24):
        for minute in range(120):
            if minute < 100:
                device.event()
            device.logger.submit(msg.heartbeat_message(DEVICE, hour * 3600.0 + minute, {"fps": 30}))
        sent_alerts += [device.alert(), device.alert()]
        device.settle()
        summary = device.outbox()
        assert summary["rows"] <= 300 and summary["bytes"] <= 400000
    submitted = device.outbox()["last_seq"]
    broker.start()
    try:
        # the first gap at the reconnection; its own row may push one more event out, which
        # a second gap reports. Done once every seq up to the last stored offline is
        # accounted for: received, or listed as dropped by a gap.
        collector.wait_for(lambda m: accounted(collector)[0] >= submitted, 60)
        device.stop()
        arrivals = first_arrivals(collector)
        alerts = [p for t, p in arrivals if t == "alerts"]
        assert sorted(a["alert_id"] for a in alerts) == [a.alert_id for a in sent_alerts]
        _, dropped, counts = accounted(collector)
        assert counts["alerts"] == 0
        assert counts["heartbeats"] == 24 * 120 - 1       # the latest one is kept
        assert counts["events"] + counts["heartbeats"] == len(dropped)
        heartbeats = [p for t, p in arrivals if t == "heartbeat"]
        assert len(heartbeats) == 1 and heartbeats[0]["@timestamp"] == "1970-01-01T23:01:59.000Z"
        collector.close()
    finally:
        broker.stop()


def test_a_dashcam_run_publishes_its_events_and_heartbeats_through_the_composition_root(
        broker, tmp_path, tiny_model_path):
    """``build_pipeline`` with ``[mqtt] enabled``: a real run on a recorded clip (ONNX Runtime,
    no recording) sends its lifecycle events and heartbeats; the stop says ``offline``."""
    from dashcam.runtime import build_pipeline
    from test_pipeline import make_config
    from videos import write_video

    collector = Collector(broker)
    video = write_video(tmp_path / "clip.mp4", frames=25)
    config = make_config(tmp_path, run={"status_interval": 0}, recording={"enabled": "false"},
                         led={"enabled": "false"},
                         mqtt={"enabled": "true", "url": broker.url, "device-id": DEVICE,
                               "heartbeat-interval": "0.2"})
    pipeline = build_pipeline(config, source=video + "?realtime=0",
                              db_path=str(tmp_path / "dashcam.db"), model_path=tiny_model_path,
                              status_stream=None)
    pipeline.start()
    collector.wait_for(count_on("/heartbeat", 1))
    pipeline.wait()
    summary = pipeline.stop()
    assert summary["fleet"]["acked"] >= 2 and summary["fleet"]["connects"] == 1
    collector.wait_for(lambda m: m[-1][1] == b"offline")
    arrivals = first_arrivals(collector)
    started = [p for t, p in arrivals if t == "events" and p["after"]["type"] == "run_started"]
    assert started and started[0]["after"]["run_id"] == summary["run_id"]
    beat = [p for t, p in arrivals if t == "heartbeat"][0]
    for key in ("fps", "latency_p50_ms", "frames_dropped", "disk", "recording", "outbox",
                "temperature"):
        assert key in beat
    assert beat["recording"] == "off" and beat["outbox"]["connected"] is True
    with StoreReader(str(tmp_path / "dashcam.db")) as reader:
        assert reader.outbox_summary()["link"]["state"] == "stopped"
    collector.close()


KILLED_DEVICE = """
import sys, time
sys.path.insert(0, {tests!r})
from fleet_device import Device, section
device = Device({db!r}, section({url!r})).start()
for _ in range(3):
    device.alert()
device.event()
device.settle()
print("committed", flush=True)
time.sleep(600)   # killed here, with its rows committed and never acknowledged
"""


def test_rows_survive_a_process_killed_mid_run_and_go_on_the_next_start(tmp_path):
    """SIGKILL (a crash, the closest to a power cut a test can do: SQLite synchronous=FULL
    has the commit on disk): the next start sends what the killed one had stored."""
    import os
    import subprocess
    import sys

    db = str(tmp_path / "dashcam.db")
    broker, collector = stopped_broker(tmp_path)
    url = broker.url
    tests = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, "-c", KILLED_DEVICE.format(tests=tests, db=db,
                                                                         url=url)],
                             stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert child.stdout.readline().strip() == "committed"
    finally:
        child.kill()
        child.wait(10)
    broker.start()
    try:
        device = Device(db, section(url)).start()
        collector.wait_for(count_on("/alerts", 3))
        # three alerts, their events, one event, the commit marker; the new start's
        # run_interrupted for the killed run
        collector.wait_for(lambda m: len(first_arrivals(collector)) >= 3 + 3 + 1 + 1 + 1)
        device.stop()
        arrivals = first_arrivals(collector)
        assert [t for t, _ in arrivals[:3]] == ["alerts"] * 3
        assert sorted(p["seq"] for _, p in arrivals) == list(range(1, 10))
        collector.close()
    finally:
        broker.stop()
