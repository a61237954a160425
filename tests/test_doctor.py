"""``dashcam doctor`` on this machine (no GPU, no camera, no running systemd), and its reasoning
on a Jetson, which is not here (a ``Host`` that answers as a Jetson Nano would)."""

import json
import os

from dashcam.board import Board
from dashcam.cli import main
from dashcam.config import load_config
from dashcam.doctor import Host, diagnose, line
from dashcam.doctor.checks import engine_mismatch
from exports import make_store

# What this development machine lacks, and so what the doctor must say about it.
THIS_MACHINE = {"tensorrt": "warn", "pycuda": "warn", "engine": "warn", "gpio": "warn",
                "camera": "warn", "python": "ok", "system": "ok", "onnxruntime": "ok", "model": "ok",
                "database": "ok"}


def run_doctor(capsys, *args):
    status = main(["doctor"] + list(args))
    return status, capsys.readouterr().out


def test_doctor_here_warns_about_what_this_machine_does_without(tmp_path, capsys):
    db_path = str(tmp_path / "dashcam.db")
    make_store(db_path, seconds=2)
    status, out = run_doctor(capsys, "--db", db_path, "--config", os.devnull)
    lines = {text.split()[1]: text for text in out.splitlines()}
    assert list(lines) == ["python", "system", "opencv", "camera", "model", "tensorrt", "pycuda",
                           "onnxruntime", "engine", "gpio", "serial", "disk", "database",
                           "last-run", "service", "fleet"]
    for name, verdict in THIS_MACHINE.items():
        assert lines[name].split()[0] == verdict, lines[name]
    assert lines["tensorrt"] == ("warn  tensorrt     no TensorRT here (no NVIDIA GPU): ONNX "
                                 "Runtime runs the network on the CPU")
    assert lines["engine"] == "warn  engine       no TensorRT here: no engine to check"
    assert lines["camera"].endswith("fix: set [source] uri = csi://0 or v4l2:///dev/video0 in "
                                    "the configuration")
    assert "quick_check ok" in lines["database"]
    assert status == 0   # warnings only: the demo configuration runs here


def test_doctor_fails_a_csi_camera_this_machine_cannot_open(tmp_path, capsys):
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[source]\nuri = csi://0\n")
    status, out = run_doctor(capsys, "--config", str(ini), "--db", str(tmp_path / "none.db"),
                             "--json")
    checks = {c["name"]: c for c in json.loads(out)}
    assert status == 1
    assert checks["camera"]["status"] == "fail"
    assert checks["camera"]["detail"].startswith("csi://0: NVIDIA's Argus daemon is not running")
    assert checks["database"] == {"name": "database", "status": "warn", "fix": None,
                                  "detail": "no store yet at {} (the first run creates it)".format(
                                      tmp_path / "none.db")}
    opencv = checks["opencv"]
    if "without GStreamer" in opencv["detail"]:   # the pip wheel, as here
        assert opencv["status"] == "fail" and "JetPack's OpenCV" in opencv["fix"]


def test_a_damaged_store_fails_with_the_fix(tmp_path):
    db_path = str(tmp_path / "dashcam.db")
    make_store(db_path, seconds=30)
    size = os.path.getsize(db_path)
    with open(db_path, "r+b") as handle:   # a page of the file overwritten, as a bad sector would
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(b"\xa5" * 4096)
    [check] = [c for c in diagnose(load_config(None), db_path=db_path) if c.name == "database"]
    assert check.status == "fail" and check.fix.startswith("stop the service, export")


NANO = Board("NVIDIA Jetson Nano Developer Kit")


class JetsonNano(Host):
    """A Jetson Nano on JetPack 4.6.4 without TensorRT's Python bindings or Jetson.GPIO, with
    its UART: a test double answering for the machine that is not here (the real Host's
    answers for everything else)."""

    FILES = {"/etc/nv_tegra_release": "# R32 (release), REVISION: 7.4, GCID: 33514132, "
                                      "BOARD: t210ref, EABI: aarch64, DATE: Fri Jun  9 04:25:08"}

    def read(self, path):
        return self.FILES.get(path, Host.read(self, path))

    def exists(self, path):
        return path in ("/dev/video0", "/tmp/argus_socket") or Host.exists(self, path)

    def glob(self, pattern):
        return {"/dev/ttyTHS*": ["/dev/ttyTHS1"], "/dev/video*": ["/dev/video0"]}.get(
            pattern, Host.glob(self, pattern))

    def module(self, name):
        if name in ("tensorrt", "pycuda", "pycuda.driver"):
            return f"ModuleNotFoundError: No module named '{name}'"
        return Host.module(self, name)

    def has_module(self, name):
        return name != "Jetson.GPIO" and Host.has_module(self, name)


def test_on_a_jetson_missing_tensorrt_and_gpio_are_failures(tmp_path):
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[source]\nuri = csi://0\n")
    checks = {c.name: c for c in diagnose(load_config(str(ini)),
                                                db_path=str(tmp_path / "x.db"), host=JetsonNano(),
                                                board=NANO)}
    assert checks["system"].status == "ok"
    assert checks["system"].detail.endswith("on NVIDIA Jetson Nano Developer Kit, L4T R32.7.4 "
                                            "(JetPack 4.6.x)")
    assert checks["tensorrt"].status == "fail" and "python3-libnvinfer" in checks["tensorrt"].fix
    assert checks["pycuda"].status == "fail" and "nvcc must be on PATH" in checks["pycuda"].fix
    assert checks["gpio"].status == "fail" and "Jetson.GPIO" in checks["gpio"].detail
    assert checks["camera"].status == "ok"
    assert checks["serial"].detail.startswith("/dev/ttyTHS1")
    assert line(checks["gpio"]).startswith("fail  gpio         Jetson.GPIO is not installed: ")


def test_an_engine_is_checked_against_its_sidecar():
    sidecar = json.dumps({"tensorrt": "8.2.1.8", "device_model": "NVIDIA Jetson Nano Developer Kit"})
    assert engine_mismatch(sidecar, "8.2.1.8", "NVIDIA Jetson Nano Developer Kit") is None
    assert engine_mismatch(sidecar, "8.5.2.2", "NVIDIA Jetson Nano Developer Kit") == \
        "built with TensorRT 8.2.1.8, this is 8.5.2.2"
    assert engine_mismatch(sidecar, "8.2.1.8", "NVIDIA Jetson Xavier NX Developer Kit") == \
        "built on NVIDIA Jetson Nano Developer Kit, this is NVIDIA Jetson Xavier NX Developer Kit"
    assert engine_mismatch(None, "8.2.1.8", None) == \
        "no readable sidecar: what it was built for is unknown"
