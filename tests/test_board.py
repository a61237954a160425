"""One module knows the board: each family from the model strings real boards report, the
device tree read from files, and what the callers decide from an injected ``Board``."""

import os

import pytest

from dashcam import board as boards
from dashcam.alerts import build_alerts
from dashcam.alerts.led import build_factory, build_led_sink
from dashcam.board import Board, read_board
from dashcam.config import load_config
from dashcam.doctor import diagnose
from dashcam.inference.engine.resolve import resolve_precision
from dashcam.service.install import default_config
from dashcam.store import EventStore

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")
NANO = Board("NVIDIA Jetson Nano Developer Kit")
XAVIER = Board("NVIDIA Jetson Xavier NX Developer Kit")
ORIN_NANO = Board("NVIDIA Jetson Orin Nano Developer Kit")
PC = Board("")   # no device tree
# The compatible strings of an Orin NX module (p3767) on its carrier (p3768).
ORIN_COMPATIBLE = ("nvidia,p3768-0000+p3767-0005", "nvidia,tegra234")


@pytest.mark.parametrize("model,compatible,family,precision,nvenc", [
    ("NVIDIA Jetson Nano Developer Kit", (), boards.NANO, "fp16", True),
    ("NVIDIA Jetson Nano 2GB Developer Kit", (), boards.NANO, "fp16", True),
    ("quill", (), boards.TX, "fp16", True),                             # TX2 on L4T 28
    ("NVIDIA Jetson Xavier NX Developer Kit", (), boards.XAVIER, "int8", True),
    ("Jetson-AGX", (), boards.XAVIER, "int8", True),                    # AGX Xavier on L4T 32
    ("NVIDIA Jetson AGX Orin Developer Kit", (), boards.ORIN, "int8", True),
    ("NVIDIA Jetson Orin NX Engineering Reference Developer Kit", ORIN_COMPATIBLE, boards.ORIN,
     "int8", True),
    ("NVIDIA Jetson Orin Nano Developer Kit", (), boards.ORIN_NANO, "int8", False),
    ("", ORIN_COMPATIBLE, boards.JETSON, "fp16", True),      # a carrier board's own model
    ("Raspberry Pi 4 Model B Rev 1.4", ("raspberrypi,4-model-b", "brcm,bcm2711"),
     boards.NOT_JETSON, "fp16", True),
    ("", (), boards.NOT_JETSON, "fp16", True),                          # a PC
])
def test_each_family_from_the_model_real_boards_report(model, compatible, family, precision,
                                                       nvenc):
    board = Board(model, compatible)
    assert board.family == family
    assert board.is_jetson == (family != boards.NOT_JETSON)
    assert board.precision[0] == precision
    assert board.has_nvenc == nvenc


def test_the_precision_says_why():
    assert ORIN_NANO.precision == ("int8", "Orin: INT8")        # an Orin, not a Nano
    assert Board("Jetson-AGX").precision == ("int8", "Xavier: INT8")
    assert NANO.precision == ("fp16", "NVIDIA Jetson Nano Developer Kit: FP16 (no fast INT8 "
                                      "on its GPU)")
    assert PC.precision == ("fp16", "not a Jetson: FP16")


def test_the_device_tree_is_read_without_its_nuls(tmp_path):
    (tmp_path / "model").write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\0")
    (tmp_path / "compatible").write_bytes(b"\0".join(c.encode() for c in ORIN_COMPATIBLE) + b"\0")
    assert read_board(str(tmp_path)) == Board("NVIDIA Jetson Orin Nano Developer Kit",
                                              ORIN_COMPATIBLE)
    assert read_board(str(tmp_path / "none")) == PC   # a PC has no /proc/device-tree
    assert read_board(str(tmp_path / "none")).name == "not a Jetson"


def test_only_the_board_module_reads_the_device_tree():
    readers = []
    for folder, _, names in os.walk(os.path.join(APP, "dashcam")):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as handle:
                    if "device-tree" in handle.read():
                        readers.append(os.path.relpath(os.path.join(folder, name), APP))
    assert readers == [os.path.join("dashcam", "board.py")]


def test_auto_precision_on_an_injected_board(tmp_path):
    cache = tmp_path / "c.txt"
    cache.write_text("TRT-8601-EntropyCalibration2\n")
    assert resolve_precision("auto", ORIN_NANO, str(cache)) == ("int8", "Orin: INT8")
    assert resolve_precision("auto", ORIN_NANO, None)[0] == "fp16"   # until calibrated
    assert resolve_precision("auto", NANO, str(cache))[0] == "fp16"


def led_config(tmp_path):
    ini = tmp_path / "led.ini"
    ini.write_text("[led]\nenabled = true\npin-factory = auto\n")
    return load_config(str(ini))


def test_the_led_pin_factory_follows_the_injected_board(tmp_path):
    """On a Jetson, ``auto`` is Jetson.GPIO, which this machine does not have (so the LED
    sink says which library is missing); elsewhere gpiozero's own factories, which find no
    GPIO here."""
    section = led_config(tmp_path).led
    jetson = build_led_sink(section, board=NANO)
    assert jetson.reason.startswith("no GPIO library (ModuleNotFoundError: No module named "
                                    "'Jetson')")
    pc = build_led_sink(section, board=PC)
    assert "neither a Raspberry Pi nor a Jetson" in pc.reason
    with EventStore(str(tmp_path / "dashcam.db")) as store:
        [_, led] = build_alerts(led_config(tmp_path), store, lambda record: True,
                                board=NANO).sinks
    assert led.reason == jetson.reason
    assert build_factory("auto", board=PC) is None


def test_the_service_configuration_names_the_camera_of_the_injected_board():
    assert "\nuri = csi://0\n" in default_config(NANO, video_devices=["/dev/video0"])
    assert "\nuri = v4l2:///dev/video0\n" in default_config(PC, video_devices=["/dev/video0"])


def test_the_doctor_reports_the_injected_board(tmp_path):
    def system(board):
        [check] = [c for c in diagnose(load_config(None), db_path=str(tmp_path / "d.db"),
                                       board=board) if c.name == "system"]
        return check

    assert "not a Jetson" in system(PC).detail
    orin = system(Board("NVIDIA Jetson AGX Orin Developer Kit"))   # on this machine: no L4T
    assert orin.status == "warn" and "on NVIDIA Jetson AGX Orin Developer Kit" in orin.detail


def test_the_composition_root_passes_its_board_to_recording_and_alerts(tmp_path, tiny_model_path,
                                                                      monkeypatch):
    """NVENC is not on this machine: ``element_properties`` is made to say GStreamer has it,
    so the board alone decides between the hardware and the software encoder."""
    pytest.importorskip("av", reason="PyAV is the software encoder (no wheel for 3.6)")
    from dashcam.recording import build as recording_build
    from dashcam.recording.software import SoftwareEncoder
    from dashcam.runtime import build_pipeline

    monkeypatch.setattr(recording_build, "element_properties",
                        lambda element: {"bitrate", "iframeinterval"})

    def built(board):
        pipeline = build_pipeline(led_config(tmp_path), source="synthetic://?seed=1",
                                  db_path=str(tmp_path / "d.db"), model_path=tiny_model_path,
                                  status_stream=None, board=board)
        pipeline.store.close()
        pipeline.detector.close()
        recorder = pipeline.recording.recorder
        return recorder.encoder if recorder else pipeline.recording.unavailable, \
            pipeline.alerts.sinks[1].reason

    encoder, led = built(ORIN_NANO)   # no NVENC on the Orin Nano: software
    assert isinstance(encoder, SoftwareEncoder) and "'Jetson'" in led
    encoder, led = built(XAVIER)      # NVENC: the hardware encoder, or why it cannot run here
    assert not isinstance(encoder, SoftwareEncoder) and "'Jetson'" in led
    encoder, led = built(PC)
    assert not isinstance(encoder, SoftwareEncoder) and "neither a Raspberry Pi" in led
