"""Alerts in the whole run: real sources, ONNX Runtime on a tiny model, SQLite; the LED on
gpiozero's MockFactory (``[led] pin-factory = mock``) and the serial line on pyserial's loop://."""

import io
import logging

import pytest
import serial
from gpiozero.pins.mock import MockFactory

from dashcam.cli.run import print_summary
from dashcam.errors import SourceError
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader, read_alerts
from test_pipeline import check_store_after_run, make_config
from videos import write_video

pynmea2 = pytest.importorskip("pynmea2", reason="pynmea2 (test-only) is not installed")


def test_every_alert_is_an_event_with_a_delivery_row_per_sink(tmp_path, tiny_model_path):
    video = write_video(tmp_path / "clip.mp4", frames=25)
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(
        tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2},
        led={"pin_factory": "mock"},
        serial={"enabled": "true", "port": "loop://", "heartbeat_interval": 0},
        **{"rule:bright-car": {"labels": "car", "cooldown": 0.2, "severity": "critical"}})
    pipeline = build_pipeline(config, source=video + "?realtime=0", db_path=db_path,
                              model_path=tiny_model_path, status_stream=None)
    assert [s.name for s in pipeline.alerts.sinks] == ["log", "led", "serial"]
    pipeline.alerts.signal("test")        # queued for the sinks, shown once they run
    summary = pipeline.run()
    check_store_after_run(db_path, summary)
    with StoreReader(db_path) as reader:
        alerts = read_alerts(reader.conn, rules=["bright-car"])
        events = reader.events(types=["alert"])
    assert summary["alerts"] >= len(alerts) > 0 and len(events) == summary["alerts"]
    for row in alerts:
        assert [(d["sink"], d["status"]) for d in row["deliveries"]] == [
            ("log", "delivered"), ("led", "delivered"), ("serial", "delivered")]
        line = row["deliveries"][2]["message"]
        data = pynmea2.parse(line, check=True).data
        assert data[1:2] + data[3:6] == ["ALR", "critical", "bright-car", "car"]
        assert int(data[8]) == row["track_id"]
        assert all(d["latency_ms"] > 0 for d in row["deliveries"])
    # the LED played on the mock pin and was left off when the run stopped
    led, serial = pipeline.alerts.sinks[1:]
    assert led.led is None and led.delivered == summary["alerts"]
    assert serial.lines == summary["alerts"] + 1      # and the signal's $PDCAM,SIG


def test_without_gpio_a_run_says_so_once_and_its_summary_says_unavailable_as_alerts_does(
        tmp_path, tiny_model_path, caplog):
    video = write_video(tmp_path / "clip.mp4", frames=25)
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(   # [led] as shipped: pin-factory auto, and this machine has no GPIO
        tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2},
        **{"rule:bright-car": {"labels": "car", "cooldown": 0.2, "severity": "critical"}})
    with caplog.at_level(logging.WARNING):
        pipeline = build_pipeline(config, source=video + "?realtime=0", db_path=db_path,
                                  model_path=tiny_model_path, status_stream=None)
        summary = pipeline.run()
    assert caplog.text.count("no GPIO") == 1
    with StoreReader(db_path) as reader:
        led = [d["status"] for row in read_alerts(reader.conn) for d in row["deliveries"]
               if d["sink"] == "led"]
    assert led and set(led) == {"unavailable"}
    assert summary["alert_sinks"]["led"] == {"delivered": 0, "failed": 0,
                                             "unavailable": len(led), "dropped": 0}
    assert summary["alert_sinks"]["log"]["delivered"] == len(led)
    out = io.StringIO()
    print_summary(summary, out)
    assert "  warning: alert sink led: 0 delivered, 0 failed, {} unavailable, 0 dropped\n".format(
        len(led)) in out.getvalue()
    assert "alert sink log" not in out.getvalue()


def test_a_lost_camera_shows_on_the_led_and_in_the_serial_heartbeat(tmp_path, tiny_model_path):
    def unplugged():
        raise SourceError("no camera on /dev/video9")

    port = serial.serial_for_url("loop://", timeout=5.0)
    config = make_config(tmp_path, run={"status_interval": 0},
                         source={"reconnect_min": 0.05, "reconnect_max": 0.1},
                         serial={"enabled": "true", "port": "loop://", "heartbeat_interval": 0.05})
    MockFactory().reset()
    pipeline = build_pipeline(config, source="v4l2:///dev/video9", open_source=unplugged,
                              db_path=str(tmp_path / "dashcam.db"), model_path=tiny_model_path,
                              status_stream=None, pin_factory=MockFactory(),
                              open_port=lambda url, baud: port)
    alerts = pipeline.alerts
    pipeline.start()
    try:
        # the committed camera_lost event reaches the sinks: the heartbeat says so
        while True:
            line = port.read_until(b"\n")
            assert line, "no heartbeat within 5 s"
            data = pynmea2.parse(line.decode().strip(), check=True).data
            if data[1] == "HBT" and data[4] == "CAMLOST":
                break
    finally:
        pipeline.stop()
    led = alerts.sinks[1]
    assert led.state.camera_lost and led.state.background() == "camera_lost"
    MockFactory().reset()
