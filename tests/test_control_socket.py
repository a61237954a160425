"""The control socket under attack: senders with foreign credentials (a real child process
that dropped to nobody), a flood through the real socket while a real pipeline raises alerts
and the serial sink writes them to a pty pair, and the bucket and burst bookkeeping itself."""

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

from dashcam import events as ev
from dashcam.runtime import build_pipeline
from dashcam.service.control import (BURST, RATE, ControlSocketWorker, Refusals, TokenBucket,
                                     sender_of, trusted)
from dashcam.store import StoreReader, read_alerts
from test_pipeline import check_store_after_run, make_config
from videos import write_video

pynmea2 = pytest.importorskip("pynmea2", reason="pynmea2 (test-only) is not installed")

MESSAGE = json.dumps({"type": "export_finished", "ok": True, "files": 1}).encode()
NOBODY = 65534


@pytest.fixture
def socket_path():
    folder = tempfile.mkdtemp(prefix="ctl")   # socket paths are limited to 107 bytes
    yield os.path.join(folder, "control.sock")
    shutil.rmtree(folder)


class Heard:
    """What the worker submitted; ``wait(n)`` blocks until ``n`` events have come."""

    def __init__(self):
        self.events, self.cond = [], threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
        return True

    def wait(self, n, timeout=10.0):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.events) >= n, timeout), self.events


def test_a_bucket_lets_a_burst_through_then_its_rate():
    bucket = TokenBucket(rate=2.0, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_s(100.0) == pytest.approx(0.5)
    assert not bucket.take(100.4) and bucket.take(100.5) and not bucket.take(100.5)
    assert bucket.wait_s(200.0) == 0.0 and bucket.tokens == 3.0   # saved up to the burst only


def test_refusals_are_one_event_per_burst_not_one_per_datagram():
    refusals = Refusals(gap=2.0, longest=60.0)
    assert not refusals.due(0.0) and refusals.event() is None
    for i in range(10000):   # 10,000 refused in 10 s
        refusals.add("rate_limited", i / 1000.0, 1000.0 + i / 1000.0)
    refusals.add("foreign_sender", 10.0, 1010.0, (99, NOBODY, NOBODY))
    refusals.add("foreign_sender", 10.0, 1010.0, (98, NOBODY, NOBODY))
    assert not refusals.due(11.9) and refusals.due(12.0)
    event = refusals.event()
    assert event.type == ev.CONTROL_REFUSED and event.severity == ev.WARNING
    assert (event.ts_start, event.ts_end) == (1000.0, 1010.0)
    assert event.data == {"rate_limited": 10000, "foreign_sender": 2, "invalid": 0,
                          "senders": [{"pid": 99, "uid": NOBODY, "gid": NOBODY}]}
    assert refusals.event() is None and not refusals.due(100.0)
    recorded = []
    for i in range(70):     # a burst that never pauses is still recorded once a minute
        refusals.add("invalid", 100.0 + i, 2000.0 + i)
        if refusals.due(100.0 + i):
            recorded.append((i, refusals.event().data["invalid"]))
    assert recorded == [(60, 61)]
    assert refusals.total == {"rate_limited": 10000, "foreign_sender": 2, "invalid": 70}


def test_only_root_and_the_services_own_user_or_group_are_trusted():
    assert trusted((1, 0, 0), 1000, 1000) and trusted((1, 1000, 5), 1000, 1000)
    assert trusted((1, 5, 1000), 1000, 1000)
    assert not trusted((1, NOBODY, NOBODY), 1000, 1000) and not trusted(None, 1000, 1000)
    stamp = (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, b"\x07\0\0\0\xfe\xff\0\0\xfe\xff\0\0")
    assert sender_of([stamp]) == (7, NOBODY, NOBODY) and sender_of([]) is None


def send_as_nobody(leaked, path):
    """In a child process that dropped to nobody: a valid message through ``leaked`` (a socket
    root connected, inherited) and one by ``path`` (the socket file made writable by mistake).
    Forked, not exec'd, so that it needs no interpreter nobody may run; before any worker
    thread starts."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            leaked.send(MESSAGE)
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(MESSAGE, path)
            code = 0
        finally:
            os._exit(code)
    return pid, os.waitpid(pid, 0)[1]


def test_a_sender_with_foreign_credentials_is_refused(socket_path):
    if os.geteuid() != 0:
        pytest.skip("needs root, to start a child process as nobody")
    heard = Heard()
    worker = ControlSocketWorker(socket_path, heard)   # bound: datagrams wait for its start
    leaked = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        os.chmod(os.path.dirname(socket_path), 0o755)
        os.chmod(socket_path, 0o666)
        leaked.connect(socket_path)
        child, status = send_as_nobody(leaked, socket_path)
        assert status == 0
        leaked.send(MESSAGE)   # root, after both of nobody's: heard, in order
        worker.start()
        heard.wait(1)
    finally:
        leaked.close()
        assert worker.stop(2.0)
    accepted, refused = heard.events
    assert accepted.type == ev.EXPORT_FINISHED and worker.accepted == 1
    assert refused.type == ev.CONTROL_REFUSED
    assert refused.data["foreign_sender"] == 2 and refused.data["rate_limited"] == 0
    assert refused.data["senders"] == [{"pid": child, "uid": NOBODY, "gid": NOBODY}]


FLOOD = """
import json, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
message = json.dumps({"type": "export_finished", "ok": True, "files": 1}).encode()
print("flooding", flush=True)
while True:
    try:
        sock.sendto(message, sys.argv[1])
    except OSError:
        pass   # not bound yet, or gone
"""


class PtyReader(threading.Thread):
    """Reads the master side of a pty pair (the receiver on the serial line) until its
    slave side is closed by all (the sink, and ``hang_up``); ``lines`` what arrived."""

    def __init__(self):
        threading.Thread.__init__(self, name="pty-reader", daemon=True)
        self.master, self.slave = os.openpty()   # held open, so no read ends before the sink's
        self.path = os.ttyname(self.slave)
        self.data = b""

    def hang_up(self):
        os.close(self.slave)

    def run(self):
        try:
            while True:
                select.select([self.master], [], [], 30.0)
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:   # EIO: every slave side is closed
                    return
                if not chunk:
                    return
                self.data += chunk
        finally:
            os.close(self.master)

    @property
    def lines(self):
        return [line for line in self.data.split(b"\r\n") if line]


def test_a_flood_on_the_control_socket_delays_no_alert_and_fills_no_queue(
        tmp_path, socket_path, tiny_model_path):
    video = write_video(tmp_path / "clip.mp4", frames=75)   # 3 s, read at its own pace
    pty = PtyReader()
    config = make_config(
        tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2}, led={"enabled": "false"},
        serial={"enabled": "true", "port": pty.path, "heartbeat_interval": 0},
        service={"control_socket": socket_path},
        **{"rule:bright-car": {"labels": "car", "cooldown": 0.2, "severity": "critical"}})
    db_path = str(tmp_path / "dashcam.db")
    pipeline = build_pipeline(config, source=video, db_path=db_path, model_path=tiny_model_path,
                              status_stream=None)
    [control] = pipeline.parts.control
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, socket_path], stdout=subprocess.PIPE)
    try:
        assert flood.stdout.readline() == b"flooding\n"
        pty.start()
        summary = pipeline.run()
    finally:
        flood.kill()
        flood.wait()
    pty.hang_up()
    pty.join(30)
    assert not pty.is_alive()
    check_store_after_run(db_path, summary)
    # the flood ran all along, and only the bucket's share of it became events
    refused = control.refusals.total
    assert refused["rate_limited"] > 0 and refused["foreign_sender"] == refused["invalid"] == 0
    assert control.accepted <= BURST + RATE * (summary["duration_s"] + summary["stop_s"]) + 1
    with StoreReader(db_path) as reader:
        assert len(reader.events(types=["export_finished"])) == control.accepted
        bursts = reader.events(types=["control_refused"])
        alerts = read_alerts(reader.conn, rules=["bright-car"])
    assert 1 <= len(bursts) and sum(b["data"]["rate_limited"] for b in bursts) == \
        refused["rate_limited"]
    assert summary["records_dropped"] == 0
    # every alert raised was delivered on the serial line, none dropped
    assert summary["alerts"] == len(alerts) > 0
    for row in alerts:
        assert [(d["sink"], d["status"]) for d in row["deliveries"]] == [
            ("log", "delivered"), ("serial", "delivered")]
        # capture -> raised -> written: each is kept, so the delay is known
        assert 0 <= row["data"]["raised_ms"] <= row["deliveries"][1]["latency_ms"]
    written = [pynmea2.parse(line.decode(), check=True).data for line in pty.lines]
    assert sum(1 for data in written if data[1] == "ALR") == summary["alerts"]
    assert summary["alert_sinks"]["serial"]["dropped"] == 0
