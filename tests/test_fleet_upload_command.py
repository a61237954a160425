"""The whole fleet path of an incident, on real parts: a ``build_pipeline`` run (synthetic
road, ONNX Runtime, libx264 segments, SQLite) publishes its alert to a real Mosquitto; the
office, seeing it on ``<prefix>/events``, asks for its clip on ``<prefix>/cmd`` with a
presigned-style PUT URL of a real HTTP server on localhost; the device joins the clip,
uploads it and answers on ``<prefix>/cmd/result`` with the size and SHA-256 of the bytes
the server received, which decode as video. The synthetic world's GPS gives the alert and
its event the position and speed of the moment."""

import hashlib
import json

import pytest

from broker import Collector, broker_fixture  # noqa: F401 (the fixture)
from dashcam.runtime import build_pipeline
from put_server import PutServer
from test_pipeline import make_config

av = pytest.importorskip("av", reason="PyAV records and joins the clips (no wheel for 3.6)")

DEVICE = "van-7"


def alert_event_ids(messages):
    """The event ids of the alerts the device has published on ``/events``: in the
    ``alerts`` of the object's ``update`` (Frigate's reviews), or an alert event's own."""
    found = []
    for topic, payload, _ in messages:
        after = json.loads(payload)["after"] if topic.endswith("/events") else None
        if after:
            found += [a["event_id"] for a in after.get("alerts", ()) if a.get("event_id")]
            found += [after["event_id"]] if after["type"] == "alert" else []
    return found


def result_of(collector, request_id):
    found = [p for p in collector.json("/cmd/result") if p.get("request_id") == request_id]
    return found[-1] if found else None


def test_an_alert_seen_over_mqtt_has_its_clip_uploaded_on_request(broker, tmp_path,
                                                                    tiny_model_path):
    collector = Collector(broker, "dashcam/{}/#".format(DEVICE))
    with PutServer() as server:
        config = make_config(
            tmp_path, run={"status_interval": 0},
            recording={"segment_seconds": 1, "pre_roll": 1, "post_roll": 1},
            mqtt={"enabled": "true", "url": broker.url, "device-id": DEVICE},
            upload={"bandwidth": 0}, gps={"source": "synthetic"},
            **{"rule:bright": {"labels": "car", "cooldown": 30},
               "rule:forward-collision": {"enabled": "false"},
               "rule:person-ahead": {"enabled": "false"},
               "rule:road-sign": {"enabled": "false"}})
        pipeline = build_pipeline(config, source="synthetic://?seed=3&width=320&height=180&fps=15",
                                  db_path=str(tmp_path / "dashcam.db"), model_path=tiny_model_path,
                                  status_stream=None)
        pipeline.start()
        try:
            event_id = alert_event_ids(collector.wait_for(alert_event_ids, timeout=60))[0]
            [alert] = collector.json("/alerts")[:1]   # the alert itself, at once
            assert alert["lat"] and alert["lon"] and alert["speed"] > 0 and alert["heading"]
            url = server.url("/clips/{}.mp4?X-Amz-Signature=abc".format(event_id))
            collector.client.publish("dashcam/{}/cmd".format(DEVICE), json.dumps(
                {"cmd": "upload", "request_id": "office-1", "event_id": event_id, "url": url}),
                qos=1)
            collector.wait_for(lambda m: (result_of(collector, "office-1") or {}).get("status")
                               in ("done", "failed"), timeout=90)
        finally:
            summary = pipeline.stop()
            collector.close()
    result = result_of(collector, "office-1")
    assert result["status"] == "done" and result["event_id"] == event_id, result
    [body] = [b for path, b in server.bodies if path.startswith("/clips/{}.mp4".format(event_id))]
    assert result["size"] == len(body) and result["sha256"] == hashlib.sha256(body).hexdigest()
    clip = tmp_path / "received.mp4"
    clip.write_bytes(body)
    with av.open(str(clip)) as container:
        assert len(list(container.decode(video=0))) > 0
    assert summary["uploads"]["uploaded"] == 1 and "stuck" not in summary
    placed = [p["after"] for p in collector.json("/events") if p["after"]["lat"] is not None]
    assert placed and all(a["speed"] > 0 for a in placed)   # the store's GPS stamps
