"""``dashcam engine`` and ``dashcam calibrate`` on a machine without TensorRT (this one)."""

import importlib.util

import pytest

from dashcam.cli import main
from dashcam.inference.engine import sidecar

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None,
                                reason="TensorRT is installed here: these check the machines without it")


@pytest.mark.parametrize("argv", [
    ["engine", "build", "--precision", "fp16"],
    ["engine", "build", "--nvinfer-config", "whatever.txt"],
    ["calibrate", "--from-recordings", "10", "-o", "calib/x.txt"],
    ["calibrate", "--video", "drive.mp4", "-o", "calib/x.txt"],
])
def test_without_tensorrt_they_exit_2_with_one_line_saying_what_and_where(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    line = captured.err
    assert "needs TensorRT and an NVIDIA GPU: TensorRT is not installed here" in line
    assert "run it on the Jetson" in line and "TensorRT 8.0-10.x" in line


def test_calibrate_needs_exactly_one_source(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", "-o", "calib/x.txt"])
    assert stop.value.code == 2
    assert "one of the arguments --images --video --from-recordings is required" in capsys.readouterr().err


def test_engine_info_prints_the_sidecar_even_without_tensorrt(tmp_path, capsys):
    engine = str(tmp_path / "m.onnx_b1_gpu0_fp16.engine")
    sidecar.write_engine(engine, b"plan", sidecar.expected("ab" * 32, "fp16", "8.6.1", "gpu0",
                                                           "NVIDIA Jetson Orin Nano Developer Kit"))
    assert main(["engine", "info", engine]) == 0
    out = capsys.readouterr().out
    assert '  precision: "fp16"' in out and '  tensorrt: "8.6.1"' in out
    assert "tensors: not listed (TensorRT is not installed here" in out
    assert main(["engine", "info", str(tmp_path / "none.engine")]) == 2
    assert "engine file not found" in capsys.readouterr().err
