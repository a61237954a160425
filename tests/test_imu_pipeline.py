"""Impact, button and `dashcam lock` in the whole run, on real parts: the synthetic road
recorded through PyAV, ONNX Runtime on a tiny model, SQLite, a csv:// IMU trace, the LED on
gpiozero's MockFactory, the lock button on a MockFactory pin, the serial line on a pty pair,
and the control socket bound for real."""

import io
import os
import subprocess
import sys
import threading

import pytest
from gpiozero.pins.mock import MockFactory

from dashcam.cli.run import print_summary
from dashcam.fanout import Subscriber
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader
from dashcam.timestamps import parse_iso
from imu_traces import KNOCK, REST, trace, write_trace
from test_pipeline import APP, make_config

pytest.importorskip("av", reason="PyAV records the segments that the clips protect")
pynmea2 = pytest.importorskip("pynmea2", reason="pynmea2 (test-only) is not installed")

SOURCE = "synthetic://?seed=5&width=320&height=180&fps=30"


class Heard:
    """Frames and committed events of a run, waited for (never slept on)."""

    def __init__(self):
        self.frames = 0
        self.events = []
        self._changed = threading.Condition()

    def subscribers(self):
        return dict(frame_subscribers=[Subscriber("frames-heard", self._frame)],
                    event_subscribers=[Subscriber("events-heard", self._event)])

    def _frame(self, record):
        with self._changed:
            self.frames += record.frame_index is not None
            self._changed.notify_all()

    def _event(self, pair):
        with self._changed:
            self.events.append(pair)
            self._changed.notify_all()

    def wait_frames(self, count, timeout=60.0):
        with self._changed:
            assert self._changed.wait_for(lambda: self.frames >= count, timeout)

    def wait_event(self, kind, timeout=60.0):
        with self._changed:
            assert self._changed.wait_for(lambda: self.of(kind), timeout), f"no {kind} event"
            return self.of(kind)[0]

    def of(self, kind):
        return [pair for pair in self.events if pair[1].type == kind]


class Line:
    """The far end of the serial line: a pty pair, read once the sink has written."""

    def __init__(self):
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)   # the sink opens it by name, as a real port
        os.set_blocking(self.master, False)

    def sentences(self):
        data = b""
        try:
            while True:
                data += os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            pass
        os.close(self.master)
        return [pynmea2.parse(line.strip(), check=True).data
                for line in data.decode("ascii").splitlines() if line.strip()]


def recorded(tmp_path, heard, line, factory, **sections):
    """A pipeline on the synthetic road with 1 s segments and 1 s pre- and post-roll, the LED
    (no heartbeat: only patterns blink) and the serial line on ``line``."""
    config = make_config(
        tmp_path, run={"status_interval": 0},
        recording={"segment_seconds": 1.0, "pre_roll": 1.0, "post_roll": 1.0},
        led={"heartbeat": "false"},
        serial={"enabled": "true", "port": line.path, "heartbeat_interval": 0}, **sections)
    return build_pipeline(config, source=SOURCE, db_path=str(tmp_path / "dashcam.db"),
                          model_path=heard.model, status_stream=None, pin_factory=factory,
                          **heard.subscribers())


def protected_clip(db_path, event_id):
    """``(first segment start, last segment end, all protected)`` of an event's clip."""
    with StoreReader(db_path) as reader:
        rows = list(reader.db.query(
            "SELECT s.started_at, s.ended_at, s.protected FROM clips c JOIN segments s"
            " ON s.id = c.segment_id WHERE c.event_id = ?", [event_id]))
    assert rows, f"no clip for event {event_id}"
    return (min(parse_iso(r["started_at"]) for r in rows),
            max(parse_iso(r["ended_at"]) for r in rows), all(r["protected"] for r in rows))


def led_changes(factory):
    return len(factory.pin("BOARD12").states)


@pytest.fixture
def parts(tmp_path, tiny_model_path):
    factory = MockFactory()
    factory.reset()
    heard = Heard()
    heard.model = tiny_model_path
    yield heard, Line(), factory
    factory.reset()


def test_a_knock_on_the_imu_is_an_impact_with_a_protected_clip_a_snapshot_and_signals(
        tmp_path, parts):
    heard, line, factory = parts
    knock = write_trace(tmp_path / "knock.csv", trace([(1.5, 0, 0, 0), KNOCK, REST, REST]))
    pipeline = recorded(tmp_path, heard, line, factory, imu={"source": "csv://" + knock})
    pipeline.start()
    try:
        event_id, impact = heard.wait_event("impact")
        heard.wait_frames(heard.frames + 75)   # the post-roll recorded, its segment closed
    finally:
        summary = pipeline.stop()
    assert impact.severity == "critical" and impact.data["peak_g"] == pytest.approx(1.5, abs=0.05)
    assert summary["imu"]["events"]["impact"] == 1 and summary["imu"]["lost"] == 0
    out = io.StringIO()
    print_summary(summary, out)
    assert "  imu csv://{}: {} samples; impact 1, harsh braking 0, acceleration 0, cornering 0; " \
           "lost 0, reopened 0\n".format(knock, summary["imu"]["samples"]) in out.getvalue()
    start, end, protected = protected_clip(pipeline.store.path, event_id)
    assert start <= impact.ts_start - 1.0 and end >= impact.ts_end + 1.0 and protected
    with StoreReader(pipeline.store.path) as reader:
        (shot,) = [r[0] for r in reader.conn.execute(
            "SELECT snapshot FROM events WHERE id = ?", [event_id])]
    assert shot and os.path.isfile(str(tmp_path / "recordings" / shot))
    # the critical pattern on the LED (10 Hz), and $PDCAM,SIG,<time>,impact on the line
    assert led_changes(factory) >= 20
    assert [s[3] for s in line.sentences() if s[1] == "SIG"] == ["impact"]


def test_a_press_of_the_button_locks_the_clip_around_it_and_is_acknowledged(tmp_path, parts):
    heard, line, factory = parts
    pipeline = recorded(tmp_path, heard, line, factory, button={"pin": "BOARD16"})
    pipeline.start()
    try:
        heard.wait_frames(45)                    # more than the pre-roll recorded
        button = factory.pin("BOARD16")
        button.drive_low()                       # pressed: the pin pulled to ground
        button.drive_high()
        button.drive_low()                       # a second press at once: no second lock
        button.drive_high()
        event_id, lock = heard.wait_event("manual_lock")
        heard.wait_frames(heard.frames + 75)
    finally:
        summary = pipeline.stop()
    assert lock.data == {"by": "button"} and summary["button_locks"] == 1
    assert len(heard.of("manual_lock")) == 1
    start, end, protected = protected_clip(pipeline.store.path, event_id)
    assert start <= lock.ts_start - 1.0 and end >= lock.ts_start + 1.0 and protected
    assert led_changes(factory) >= 4             # three quick blinks
    assert [s[3] for s in line.sentences() if s[1] == "SIG"] == ["manual_lock"]


def test_dashcam_lock_with_a_note_locks_the_clip_through_the_control_socket(tmp_path, parts):
    heard, line, factory = parts
    socket_path = str(tmp_path / "control.sock")
    pipeline = recorded(tmp_path, heard, line, factory, service={"control_socket": socket_path})
    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "dashcam", "lock", "--socket", socket_path]
    pipeline.start()
    try:
        heard.wait_frames(45)
        done = subprocess.run(command + ["--note", "van cut in at the junction"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        event_id, lock = heard.wait_event("manual_lock")
        heard.wait_frames(heard.frames + 75)
    finally:
        pipeline.stop()
    assert done.returncode == 0 and done.stdout.startswith("locked:"), done.stderr
    assert lock.data == {"by": "command", "note": "van cut in at the junction"}
    start, end, protected = protected_clip(pipeline.store.path, event_id)
    assert start <= lock.ts_start - 1.0 and end >= lock.ts_start + 1.0 and protected
    assert [s[3] for s in line.sentences() if s[1] == "SIG"] == ["manual_lock"]
    # with the service gone, the command says so in one line and exits 2
    gone = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1
    assert f"no dashcam service listens on {socket_path}" in gone.stderr
