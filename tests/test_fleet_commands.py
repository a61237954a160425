"""``<prefix>/cmd`` against a real Mosquitto: the whitelist, and every kind of refusal.

``lock`` and the uploader are parts other stages build (the lock path, ``fleet/upload.py``);
here they are plain recorders of their calls, standing in for them, because what is tested
is the dispatch: which calls are made, with what, and what result is published.
"""

import json

import pytest

from broker import Collector, broker_fixture, paho_client  # noqa: F401 (the fixture)
from dashcam.fleet.commands import MAX_BYTES, Refused, parse
from fleet_device import DEVICE, Device, section

CMD = f"dashcam/{DEVICE}/cmd"


def online(messages):
    """The device is subscribed to its commands: it says ``online`` only after that."""
    return any(t.endswith("/status") and p == b"online" for t, p, _ in messages)


def results(collector, n):
    found = collector.wait_for(lambda m: len([x for x in m if x[0].endswith("/result")]) >= n)
    return [json.loads(p) for t, p, _ in found if t.endswith("/result")]


class Recorder:
    """Stands in for the uploader: records ``request`` calls; publishes its result later."""

    def __init__(self, publish_result):
        self.publish_result, self.requests = publish_result, []

    def request(self, event_id, url, request_id):
        self.requests.append((event_id, url, request_id))


def send(broker, payloads):
    client = paho_client("office")
    client.connect("127.0.0.1", broker.port, 30)
    client.loop_start()
    for payload in payloads:
        client.publish(CMD, payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def test_commands_are_carried_out_or_refused_each_with_one_result(broker, tmp_path):
    collector = Collector(broker, f"dashcam/{DEVICE}/#")
    locks, uploaders = [], []

    def make_uploader(publish_result):
        uploaders.append(Recorder(publish_result))
        return uploaders[-1]

    device = Device(str(tmp_path / "dashcam.db"), section(broker.url), lock=locks.append,
                    make_uploader=make_uploader).start()
    collector.wait_for(online)
    url = "https://bucket.example/clip.mp4?X-Amz-Signature=abc"
    send(broker, [
        json.dumps({"cmd": "ping", "request_id": "r1"}),
        json.dumps({"cmd": "lock", "request_id": "r2", "note": "driver pressed"}),
        json.dumps({"cmd": "upload", "request_id": "r3", "event_id": 12, "url": url}),
        b"{not json",
        json.dumps({"cmd": "ping", "request_id": "r5", "device": "truck-99"}),
        json.dumps({"cmd": "reboot", "request_id": "r6"}),
        json.dumps({"cmd": "ping", "request_id": "r7", "pad": "x" * MAX_BYTES}),
        json.dumps({"cmd": "upload", "request_id": "r8", "event_id": "12", "url": url}),
    ])
    results(collector, 8)
    uploaders[0].publish_result({"request_id": "r3", "cmd": "upload", "status": "done",
                                 "size": 1234, "sha256": "ab" * 32})
    got = results(collector, 9)
    device.stop()
    by_request = {r["request_id"]: r for r in got[:8]}
    assert by_request["r1"]["status"] == "ok" and by_request["r1"]["cmd"] == "ping"
    assert by_request["r2"]["status"] == "ok" and locks == ["driver pressed"]
    assert by_request["r3"]["status"] == "accepted"
    assert uploaders[0].requests == [(12, url, "r3")]
    refused = [r for r in got[:8] if r["status"] == "refused"]
    assert len(refused) == 5
    reasons = " | ".join(r["reason"] for r in refused)
    for words in ("bad JSON", "foreign device", "unknown command 'reboot'", "oversize",
                  "event_id"):
        assert words in reasons
    assert got[8]["status"] == "done" and got[8]["sha256"] == "ab" * 32
    assert all(r["device"] == DEVICE and r["seq"] and r["id"] for r in got)
    assert device.fleet.link.commands.refused == 5
    collector.close()


def test_lock_and_upload_fail_saying_so_where_they_are_not_wired(broker, tmp_path):
    collector = Collector(broker, f"dashcam/{DEVICE}/#")
    device = Device(str(tmp_path / "dashcam.db"), section(broker.url)).start()
    collector.wait_for(online)
    send(broker, [json.dumps({"cmd": "lock"}),
                  json.dumps({"cmd": "upload", "event_id": 1, "url": "http://x/y"})])
    got = results(collector, 2)
    device.stop()
    for result in got:
        assert result["status"] == "failed" and "not available" in result["reason"]
    collector.close()


@pytest.mark.parametrize("payload, reason", [
    (b"[1, 2]", "not an object"),
    (b"\xff\xfe", "bad JSON"),
    (json.dumps({"cmd": "upload", "event_id": 3, "url": "file:///etc/passwd"}).encode(), "http"),
    (json.dumps({"cmd": "upload", "event_id": True, "url": "http://x"}).encode(), "event_id"),
    (json.dumps({"cmd": "lock", "note": 5}).encode(), "note"),
    (json.dumps({"cmd": None}).encode(), "unknown command"),
])
def test_parse_refuses_with_the_reason(payload, reason):
    with pytest.raises(Refused, match=reason):
        parse(payload, DEVICE)


def test_parse_takes_a_command_for_this_device_with_its_arguments():
    command = parse(json.dumps({"cmd": "upload", "device": DEVICE, "request_id": 7,
                                "event_id": 3, "url": "https://s3/x"}).encode(), DEVICE)
    assert command.name == "upload" and command.request_id == 7
    assert command.args == {"event_id": 3, "url": "https://s3/x"}
