"""``bench/jetson_check``, the field check for a device: its dry run here (no Jetson, no GPU:
each device step says what it needs), its checks run inside the service's sandbox (the LED on
gpiozero's MockFactory, the serial port on pyserial's ``loop://``), the sandbox's properties
taken from the real unit, and its record-and-decode step on the real CSI pipeline string with
Debian GStreamer's stand-ins for NVIDIA's camera and converter (``videotestsrc``,
``videoconvert``) and the stand-in encoder branch (``x264enc``)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from dashcam.capture.sources import csi_pipeline
from dashcam.recording.gst import TeeEncoder
from dashcam.service.install import drop_ins
from gst_env import import_gst
from test_gpu_check import ROOT, load_bench

SCRIPT = os.path.join(ROOT, "bench", "jetson_check")
DEVICE_STEPS = ("pipelines", "csi_record", "cuda", "sandbox_cuda", "sandbox_led",
                "sandbox_serial", "gpu_check")


def run_script(*args):
    result = subprocess.run([sys.executable, SCRIPT] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_the_dry_run_here_reports_every_device_step_as_skipped_with_what_it_needs(tmp_path):
    out = tmp_path / "report.json"
    status, printed, err = run_script("--seconds", "1", "--config", str(tmp_path / "none.ini"),
                                      "--out", str(out))
    assert status == 0, err
    report = json.loads(out.read_text())
    assert json.loads(printed) == report and report["failed"] == [] and report["config"] is None
    assert set(report["steps"]) == {"platform"} | set(DEVICE_STEPS)
    facts = report["steps"]["platform"]
    assert facts["status"] == "ok" and facts["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert facts["board"] == "not a Jetson" and facts["systemd"].startswith("systemd ")
    for name in DEVICE_STEPS:   # a machine with a GPU runs the CUDA steps for real
        step = report["steps"][name]
        assert step["status"] == "skipped" and step["detail"].startswith("needs "), (name, step)
        assert f"jetson_check: {name}" in err
    # the strings the app builds, shown even where they cannot be parsed
    texts = report["steps"]["pipelines"]["pipelines"]
    assert texts["csi"].startswith("nvarguscamerasrc sensor-id=0 ! ")
    assert "nvv4l2h264enc" in texts["csi"] and "splitmuxsink" in texts["csi"]
    assert texts["appsrc"].startswith("appsrc name=src ") and "nvv4l2h264enc" in texts["appsrc"]


def test_the_led_and_serial_checks_run_as_inside_the_sandbox(tmp_path):
    config = tmp_path / "dashcam.ini"
    config.write_text("[led]\npin-factory = mock\n[serial]\nenabled = true\nport = loop://\n")
    for mode, detail in (("led", "pin BOARD12 set on and off"),
                         ("serial", "loop:// opened at 115200 bit/s")):
        status, printed, err = run_script("--inside", mode, "--config", str(config))
        assert status == 0, err
        assert json.loads(printed) == {"status": "ok", "detail": detail, "user": os.getuid()}
    config.write_text("[led]\npin-factory = jetson\n")   # Jetson.GPIO: not on this machine
    found = json.loads(run_script("--inside", "led", "--config", str(config))[1])
    assert found["status"] == "fail" and "GPIO" in found["detail"]
    found = json.loads(run_script("--inside", "serial", "--config", str(config))[1])
    assert found["status"] == "skipped" and "[serial] enabled = true" in found["detail"]


def test_the_sandbox_is_the_installed_units_with_its_drop_ins():
    check = load_bench("jetson_check")
    with open(os.path.join(ROOT, "systemd", "dashcam.service")) as handle:
        unit = handle.read()
    home = drop_ins("/home/nvidia/.venv/bin/dashcam", "csi://0")["50-home.conf"]
    properties = check.unit_properties([unit, home])
    for wanted in ("User=dashcam", "Group=dashcam", "ProtectSystem=strict", "PrivateTmp=yes",
                   "BindPaths=-/tmp/argus_socket", "CapabilityBoundingSet=", "PrivateDevices=no",
                   "StateDirectory=dashcam", "ProtectHome=yes"):
        assert wanted in properties, wanted
    assert properties[-1] == "ProtectHome=read-only"   # the drop-in, last: it wins
    assert not [p for p in properties if p.startswith(("Exec", "Watchdog", "Timeout", "Type=",
                                                       "RuntimeDirectory="))]
    # an older systemd refuses what it does not know: that property is dropped and named
    assert check.unknown_assignment("Unknown assignment: ProtectKernelLogs=yes\n",
                                    properties) == "ProtectKernelLogs=yes"
    assert check.unknown_assignment("Failed to start transient service unit\n", properties) is None


GST = import_gst()


@pytest.mark.skipif(GST is None or not all(GST.ElementFactory.find(name) for name in (
    "videotestsrc", "x264enc", "h264parse", "splitmuxsink", "mpegtsmux", "tsdemux", "decodebin")),
    reason="needs PyGObject and GStreamer's good, bad and ugly plugins")
def test_a_recording_through_the_csi_tee_decodes(tmp_path):
    check = load_bench("jetson_check")
    encoder = TeeEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 0
    text = csi_pipeline(0, 320, 240, 30, 0, tee=encoder.tee())
    for jetson, stand_in in (("nvarguscamerasrc sensor-id=0", "videotestsrc is-live=true"),
                             ("video/x-raw(memory:NVMM)", "video/x-raw"),
                             ("nvvidconv", "videoconvert")):
        assert jetson in text
        text = text.replace(jetson, stand_in)
    found = check.record_and_decode(GST, text, str(tmp_path), 2.5)
    assert found["status"] == "ok", found
    assert len(found["segments"]) >= 2 and all(s["decoded"] == s["frames"] > 0
                                              for s in found["segments"])
    shutil.rmtree(str(tmp_path / "run-000000"))   # the recordings folder is gone: no file opens
    broken = check.record_and_decode(GST, text, str(tmp_path), 1.0)
    assert broken["status"] == "fail" and broken["segments"] == [], broken
    assert "open" in broken["detail"].lower(), broken
