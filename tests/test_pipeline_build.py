"""The composition root and the stop plan, on real parts: a store file and its lock, ONNX
Runtime on a tiny model, the LED on gpiozero's MockFactory, the control socket, libx264
recording, a preview file.

The stop-bound test is the one place that checks wall time: the bound is a property of the
mechanism (each stage is waited for against one shared deadline), so parts that hang on
purpose must not stretch it; the slack covers the commit after the deadline and a busy
machine.
"""

import io
import json
import os
import threading
import time

import pytest
import serial
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from dashcam import events as ev
from dashcam.cli.run import print_summary
from dashcam.doctor.checks import Context, check_last_run
from dashcam.doctor.host import Host
from dashcam.errors import RecordingError
from dashcam.fanout import Subscriber
from dashcam.recording.snapshots import SnapshotWorker
from dashcam.runtime import build as build_module
from dashcam.runtime import COMMIT_BOUND_S, STOP_BOUND_S, STOP_PLAN, build_pipeline
from dashcam.runtime.stop import bound
from dashcam.store import EventStore, StoreReader
from test_pipeline import check_store_after_run, make_config
from videos import write_video

STEPS = ("init_store", "init_gps", "init_logger", "init_detector", "init_inference", "init_recording",
         "init_capture", "init_uploads", "init_fleet", "init_alerts", "init_imu", "init_button",
         "init_parking", "init_service", "init_preview")


def test_the_stop_plan_names_every_stage_once_and_states_its_bounds():
    stages = [step.stage for step in STOP_PLAN]
    assert len(stages) == len(set(stages))
    for step in STOP_PLAN:   # a stage is asked only after what feeds it: earlier in the plan
        assert all(stages.index(f) < stages.index(step.stage) for f in step.fed_by)
    assert COMMIT_BOUND_S == bound("event-logger") == 5.8
    assert STOP_BOUND_S == round(sum(step.budget_s for step in STOP_PLAN), 3) == 7.3


@pytest.mark.parametrize("step", STEPS)
def test_a_failing_step_closes_everything_built_before_it(tmp_path, tiny_model_path,
                                                          monkeypatch, step):
    """Each step in turn fails (after building its own parts); the store's lock, the
    detector, the LED's pin and the control socket are all released."""
    socket_path = str(tmp_path / "control.sock")
    config = make_config(tmp_path, led={"pin_factory": "mock"},
                         service={"control_socket": socket_path},
                         parking={"ignition_pin": "BOARD16"})
    db_path = str(tmp_path / "dashcam.db")
    factory = MockFactory()
    factory.reset()
    built = []
    import dashcam.inference as inference
    real_build_detector = inference.build_detector

    def recording_build_detector(*args, **kwargs):
        built.append(real_build_detector(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(inference, "build_detector", recording_build_detector)
    real_step = getattr(build_module, step)

    def failing(*args, **kwargs):
        real_step(*args, **kwargs)
        raise RuntimeError("step failed on purpose")

    monkeypatch.setattr(build_module, step, failing)
    with pytest.raises(RuntimeError, match="on purpose"):
        build_pipeline(config, source=write_video(tmp_path / "clip.mp4") + "?realtime=0",
                       db_path=db_path, model_path=tiny_model_path, status_stream=None,
                       preview=str(tmp_path / "preview.mp4"), pin_factory=factory)
    EventStore(db_path).close()          # the lock was released: a second writer may open it
    assert all(d.backend.session is None for d in built)
    LED("BOARD12", pin_factory=factory).close()   # the pin is free again
    LED("BOARD16", pin_factory=factory).close()   # and the ignition line's
    assert not os.path.exists(socket_path)
    factory.reset()


class Hanging(Subscriber):
    """A consumer that hangs on its first item until released: a wedged serial port, a
    stuck disk. It must not stretch the stop beyond the plan's bound."""

    def __init__(self, name):
        self.release = threading.Event()
        super().__init__(name, lambda item: self.release.wait(30.0))


class HangingClose:
    """A preview file whose close (ffmpeg flushing) hangs."""

    def __init__(self, sink):
        self.sink, self.release = sink, threading.Event()
        self.fps, self.description = sink.fps, sink.description

    def write(self, image):
        self.sink.write(image)

    def close(self):
        self.release.wait(30.0)
        self.sink.close()


def drain(port, done):
    """The far end of the serial line: reads what the sink writes, as a display would."""
    try:
        while not done.is_set():
            port.read(4096)
    except serial.PortNotOpenError:
        pass   # the sink closed it at the stop


@pytest.mark.parametrize("hanging", [False, True])
def test_a_run_with_recording_alerts_and_preview_stops_within_the_stated_bound(
        tmp_path, tiny_model_path, hanging):
    pytest.importorskip("av", reason="PyAV (the software encoder) has no wheel here")
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(tmp_path, run={"status_interval": 0, "preview_width": 128},
                         recording={"segment_seconds": 1},
                         led={"pin_factory": "mock"},
                         serial={"enabled": "true", "port": "loop://", "heartbeat_interval": 0},
                         **{"rule:bright": {"labels": "car", "cooldown": 0.2}})
    frame_hang, event_hang = Hanging("frame-hang"), Hanging("event-hang")
    extra = dict(frame_subscribers=[frame_hang], event_subscribers=[event_hang]) if hanging else {}
    port, done = serial.serial_for_url("loop://", timeout=0.1), threading.Event()
    threading.Thread(target=drain, args=(port, done), daemon=True).start()
    MockFactory().reset()
    pipeline = build_pipeline(config, source="synthetic://?seed=3&width=320&height=180&fps=15",
                              db_path=db_path, model_path=tiny_model_path, status_stream=None,
                              preview=str(tmp_path / "preview.mp4"), pin_factory=MockFactory(),
                              open_port=lambda url, baudrate: port, **extra)
    if hanging:
        pipeline.preview.sink = HangingClose(pipeline.preview.sink)
    pipeline.start()
    try:
        pipeline.wait(duration=2.5)
    finally:
        started = time.monotonic()
        summary = pipeline.stop()
        took = time.monotonic() - started
        for part in (frame_hang, event_hang) + ((pipeline.preview.sink,) if hanging else ()):
            part.release.set()
        done.set()
    assert took <= STOP_BOUND_S + 1.5
    assert summary["stop_s"] <= COMMIT_BOUND_S + 1.0   # the final commit and ended_at
    assert sorted(summary.get("stuck", [])) == (["event-hang", "frame-hang", "preview"]
                                                if hanging else [])
    _, events = check_store_after_run(db_path, summary)
    assert summary["recording"]["segments"] >= 2 and summary["recording"]["dropped"] == 0
    with StoreReader(db_path) as reader:   # the last segment, closed at the stop, is indexed
        assert reader.count("segments") == summary["recording"]["segments"]
    MockFactory().reset()


class FailsToStart(Subscriber):
    def begin(self):
        raise RecordingError("cannot read the store on purpose")


def test_a_part_that_dies_is_reported_and_the_run_goes_on(tmp_path, tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(tmp_path, run={"status_interval": 0})
    pipeline = build_pipeline(config, source=write_video(tmp_path / "clip.mp4", frames=40)
                              + "?realtime=0", db_path=db_path, model_path=tiny_model_path,
                              status_stream=None,
                              event_subscribers=[FailsToStart("doomed", lambda item: None)])
    summary = pipeline.run()
    assert summary["frames_processed"] == 40 and "failed" not in summary
    assert summary["failed_workers"] == {"doomed": "cannot read the store on purpose"}
    _, events = check_store_after_run(db_path, summary)
    [failed] = [e for e in events if e["type"] == ev.WORKER_FAILED]
    assert failed["data"] == {"worker": "doomed",
                              "error": "cannot read the store on purpose"}
    # and doctor says so
    check = check_last_run(Host(), Context(config, db_path, None, None, None, False, None))
    assert check.status == "warn" and "doomed failed: cannot read the store" in check.detail


class FailingSink:
    """A preview file whose writer fails mid-run (ffmpeg killed, the disk full)."""

    fps, description = 10.0, "x.mp4 (a writer that fails)"

    def write(self, image):
        raise OSError("No space left on device")

    def close(self):
        pass


def test_a_preview_that_fails_mid_run_is_named_in_the_summary(tmp_path, tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(tmp_path, run={"status_interval": 0})
    pipeline = build_pipeline(config, source=write_video(tmp_path / "clip.mp4", frames=30)
                              + "?realtime=0", db_path=db_path, model_path=tiny_model_path,
                              status_stream=None, preview=str(tmp_path / "preview.mp4"))
    pipeline.preview.sink = FailingSink()
    summary = pipeline.run()
    assert summary["frames_processed"] == 30 and "failed" not in summary
    assert summary["preview"] == "x.mp4 (a writer that fails)"
    assert summary["failed_workers"] == {"preview": "OSError: No space left on device"}
    out = io.StringIO()
    print_summary(summary, out)
    assert "  preview x.mp4 (a writer that fails)\n" in out.getvalue()
    assert ("  warning: preview failed (OSError: No space left on device); the run went on "
            "without it\n") in out.getvalue()


def test_a_snapshot_worker_that_cannot_read_the_store_ends_with_the_reason(tmp_path):
    def opener():
        return StoreReader(str(tmp_path / "gone.db"))

    worker = SnapshotWorker(str(tmp_path), opener, lambda record: True).start()
    assert worker.done.wait(5.0)
    assert isinstance(worker.error, RecordingError)
    assert str(worker.error).startswith("snapshots cannot read the store: no store at ")


def test_doctor_reports_a_clean_last_run(tmp_path, tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")   # no video: Python 3.6 has no PyAV to record with
    config = make_config(tmp_path, run={"status_interval": 0}, recording={"enabled": "false"})
    build_pipeline(config, source=write_video(tmp_path / "clip.mp4") + "?realtime=0",
                   db_path=db_path, model_path=tiny_model_path, status_stream=None).run()
    check = check_last_run(Host(), Context(config, db_path, None, None, None, False, None))
    assert check.status == "ok" and check.detail.endswith("every part ran and stopped in order")
    with StoreReader(db_path) as reader:
        assert "stuck" not in json.loads(reader.last_run()["summary"])


def test_the_summary_names_what_a_full_store_cost():
    out = io.StringIO()
    print_summary({"run_id": 3, "source": "csi://0", "db": "/var/lib/dashcam/dashcam.db",
                   "detections_lost": 1883, "events_lost": 0}, out)
    assert "  warning: detections lost 1883\n" in out.getvalue()
    assert "events lost" not in out.getvalue()
