"""sd_notify and the progress watchdog: datagrams read back from a real socket standing in for
systemd's, the decision tested as a pure function, and a real pipeline whose inference is
wedged on purpose (a gate around the real ONNX Runtime backend: no GPU hangs here)."""

import os
import socket
import tempfile
import threading

import pytest

from dashcam.capture.sources import open_source
from dashcam.config import load_config
from dashcam.inference import build_detector
from dashcam.inference.backends import build_backend
from dashcam.runtime import build_pipeline
from dashcam.runtime.status import status_line
from dashcam.service import Notifier, Progress, Watchdog, build_watchdog, stalled
from dashcam.store import EventStore


@pytest.fixture
def systemd_socket():
    """A datagram socket where systemd's would be; yields (path, receive). ``receive.drain()``
    takes what has arrived so far without waiting."""
    folder = tempfile.mkdtemp(prefix="notify")   # short: socket paths are limited to 107 bytes
    path = os.path.join(folder, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)

    def receive():
        return sock.recv(4096).decode().split("\n")

    def drain():
        sock.setblocking(False)
        try:
            while True:
                sock.recv(4096)
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(20)

    receive.drain = drain
    yield path, receive
    sock.close()
    os.unlink(path)
    os.rmdir(folder)


def test_stalled_names_what_stopped():
    before = Progress(frames_processed=10, queue_depth=0, commits=5)
    assert stalled(before, Progress(11, 0, 6)) is None
    # frames flow into an empty queue between commits: nothing is wedged
    assert stalled(before, Progress(11, 0, 5)) is None
    assert stalled(before, Progress(30, 40, 5)) == "no commit since the last check, 40 records waiting"
    assert stalled(before, Progress(10, 0, 6)) == "no frame processed since the last check"
    # a lost camera is being reopened: no frames is expected, until it has been too long
    assert stalled(before, Progress(10, 0, 6), lost_for=30.0, camera_restart=60.0) is None
    assert stalled(before, Progress(10, 0, 6), lost_for=61.0, camera_restart=60.0) == \
        "camera lost for 61 s"
    assert stalled(before, Progress(10, 0, 6), lost_for=1e6, camera_restart=0.0) is None
    assert stalled(before, Progress(10, 3, 5), lost_for=1.0, camera_restart=60.0) == \
        "no commit since the last check, 3 records waiting"


def test_notifier_reads_systemds_environment(systemd_socket):
    path, receive = systemd_socket
    assert Notifier.from_environ({}) is None
    assert Notifier.from_environ({"NOTIFY_SOCKET": "relative/path"}) is None
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000",
                                      "WATCHDOG_PID": "42"}, pid=42)
    assert notifier.watchdog_s == 30.0
    # the watchdog is meant for another process (a child that inherited the variables)
    assert Notifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000",
                                  "WATCHDOG_PID": "42"}, pid=43).watchdog_s is None
    assert notifier.send("READY=1", "STATUS=up")
    assert receive() == ["READY=1", "STATUS=up"]
    notifier.close()


def test_notifier_reaches_an_abstract_socket():
    name = f"dashcam-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(20)
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": "@" + name})
    assert notifier.send("READY=1")
    assert sock.recv(64) == b"READY=1"
    notifier.close()
    sock.close()


def test_a_notify_socket_that_is_gone_costs_the_message_only(tmp_path):
    notifier = Notifier(str(tmp_path / "nobody.sock"), watchdog_s=1.0)
    assert not notifier.send("WATCHDOG=1")
    assert not notifier.send("WATCHDOG=1")   # logged once, never raised
    notifier.close()


class Counters:
    def __init__(self, frames_processed, queue_depth=0):
        self.frames_processed, self.queue_depth = frames_processed, queue_depth


def test_watchdog_pings_on_progress_and_holds_back_when_wedged(systemd_socket):
    path, receive = systemd_socket
    watchdog = Watchdog(Notifier(path, watchdog_s=30.0), camera_restart=60.0,
                        describe=lambda a, b: f"processed {b.frames_processed}")
    assert watchdog.interval == 15.0 and watchdog.due(0.0)
    watchdog.check(0.0, Counters(0), 0, False)
    assert receive() == ["READY=1", "STATUS=running"]
    assert not watchdog.due(14.9) and watchdog.due(15.0)
    watchdog.check(15.0, Counters(300), 15, False)
    assert receive() == ["STATUS=processed 300", "WATCHDOG=1"]
    watchdog.check(30.0, Counters(300), 16, False)
    assert receive() == ["STATUS=wedged: no frame processed since the last check | processed 300"]
    # the camera is lost: no frames, commits go on (stats, camera_lost)
    watchdog.check(45.0, Counters(300), 17, True)
    assert receive() == ["STATUS=processed 300", "WATCHDOG=1"]
    watchdog.check(90.0, Counters(300), 18, True)
    assert receive() == ["STATUS=processed 300", "WATCHDOG=1"]
    watchdog.check(105.0, Counters(300), 19, True)   # lost since 45 s: 60 s
    assert receive() == ["STATUS=wedged: camera lost for 60 s | processed 300"]
    assert (watchdog.pings, watchdog.withheld) == (3, 2)
    watchdog.stopping()
    assert receive() == ["STOPPING=1", "STATUS=stopping"]


def test_without_a_systemd_watchdog_only_status_is_sent(systemd_socket):
    path, receive = systemd_socket
    watchdog = Watchdog(Notifier(path, watchdog_s=None))
    assert watchdog.interval == 10.0
    watchdog.check(0.0, Counters(0), 0, False)
    watchdog.check(10.0, Counters(5), 1, False)
    assert receive() == ["READY=1", "STATUS=running"]
    assert receive() == ["STATUS=running"]


class GatedBackend:
    """The real backend behind a gate: while the gate is shut, ``infer`` blocks, as a hung GPU
    call would (a stand-in for the hang; the inference itself is real)."""

    def __init__(self, backend):
        self.backend = backend
        self.spec, self.name, self.precision = backend.spec, backend.name, backend.precision
        self.gate, self.blocked = threading.Event(), threading.Event()
        self.gate.set()

    def infer(self, blob):
        if not self.gate.is_set():
            self.blocked.set()
            self.gate.wait(30)
        return self.backend.infer(blob)

    def close(self):
        self.backend.close()


def read_until(receive, start):
    """Datagrams until one has a line that starts with ``start``; all of them, that one last."""
    seen = []
    while not seen or not any(line.startswith(start) for line in seen[-1]):
        seen.append(receive())
    return seen


def test_a_wedged_pipeline_gets_no_watchdog_ping(systemd_socket, tmp_path, tiny_model_path):
    path, receive = systemd_socket
    config = load_config(None)
    backend = GatedBackend(build_backend(config, tiny_model_path))
    detector = build_detector(config, backend=backend)
    uri = "synthetic://?seed=4&width=96&height=64&fps=100"
    watchdog = build_watchdog(config, describe=status_line,
                              environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    assert watchdog.interval == pytest.approx(0.1)
    pipeline = build_pipeline(config, source=uri, detector=detector,
                              store=EventStore(str(tmp_path / "dashcam.db")),
                              open_source=lambda: open_source(uri), status_stream=None,
                              watchdog=watchdog)
    runner = threading.Thread(target=pipeline.run, name="test-run")
    runner.start()
    try:
        assert read_until(receive, "READY=1")[-1] == ["READY=1", "STATUS=running"]
        status, ping = read_until(receive, "WATCHDOG=1")[-1]
        assert status.startswith("STATUS=frames in ")
        backend.gate.clear()
        assert backend.blocked.wait(20)
        receive.drain()   # what was sent up to the hang
        # The first check after the hang may still count frames from before it; every
        # later one finds none processed and holds the ping back.
        after = [receive() for _ in range(6)]
        held = after[1:] if "WATCHDOG=1" in after[0] else after
        assert len(held) >= 5 and all(
            len(m) == 1 and m[0].startswith("STATUS=wedged: no frame processed since the last "
                                            "check | frames in ") for m in held), after
        backend.gate.set()
        read_until(receive, "WATCHDOG=1")   # progress again: pings again
    finally:
        backend.gate.set()
        pipeline.request_stop()
        runner.join(20)
    assert not runner.is_alive()
    assert read_until(receive, "STOPPING=1")[-1] == ["STOPPING=1", "STATUS=stopping"]
    assert watchdog.withheld >= 5 and watchdog.pings >= 2
