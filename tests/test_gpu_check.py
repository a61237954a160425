"""``bench/gpu_check`` run end to end on the TEST DOUBLES of TensorRT and pycuda
(``tests/tensorrt_double.py``, ``tests/cuda_double.py``: no GPU here). What it settles for real
on a GPU is not tested here (the double's engines are ONNX Runtime); what is: the checks it
chooses for the machine it finds (no fast INT8 on a Nano: no calibration, FP16 still checked;
no ONNX Runtime on a Jetson: the FP32 engine is the reference) and detection speed measured
with recording off."""

import importlib
import importlib.machinery
import importlib.util
import json
import os

from cuda_double import Gpu
from dashcam.board import Board
from tensorrt_double import tensorrt_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench(name):
    """A script under bench/ (no .py) as a module."""
    loader = importlib.machinery.SourceFileLoader("bench_" + name, os.path.join(ROOT, "bench", name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_gpu_check(tmp_path, model, gpu, version, with_onnxruntime):
    doubles = gpu.import_module(tensorrt_module(version, gpu))

    def import_module(name):
        if name == "onnxruntime" and with_onnxruntime:
            return importlib.import_module(name)
        return doubles(name)
    out = tmp_path / "gpu_check.json"
    status = load_bench("gpu_check").main(
        ["--model", model, "--frames", "2", "--calib-frames", "3", "--seconds", "0.2", "--out",
         str(out)], import_module=import_module, board=Board(""))
    return status, json.loads(out.read_text())


def test_a_nano_without_onnxruntime_gets_fp32_and_fp16_checked_and_no_int8(tmp_path, tiny_model_path):
    gpu = Gpu(name="NVIDIA Tegra X1", fast_int8=False)
    status, result = run_gpu_check(tmp_path, tiny_model_path, gpu, "8.2", with_onnxruntime=False)
    assert status == 0 and result["failures"] == []
    assert result["cuda"]["equal"] and result["tensorrt"] == "8.2.1"
    assert result["int8"].startswith("skipped: this GPU has no fast INT8")
    assert "calibration" not in result and gpu.calibration_batches == []
    assert result["onnxruntime"].startswith("skipped: onnxruntime is not installed here")
    for precision in ("fp32", "fp16"):
        entry = result[precision]
        assert entry["reference"] == "tensorrt fp32" and entry["cov_max_abs_diff"] == 0.0
        assert "fps_processed" in entry["pipeline"] and entry["pipeline"]["recording"] is None
        assert entry["trtexec"] == "trtexec not found"


def test_an_int8_gpu_with_onnxruntime_gets_every_check(tmp_path, tiny_model_path):
    gpu = Gpu(name="NVIDIA Jetson Xavier NX", fast_int8=True)
    status, result = run_gpu_check(tmp_path, tiny_model_path, gpu, "8.5", with_onnxruntime=True)
    assert status == 0 and result["failures"] == []
    assert result["calibration"] == {"frames": 3, "tensors": 1} and len(gpu.calibration_batches) == 3
    assert set(result["onnxruntime"]) == {"infer", "kpis"}
    assert all(result[p]["reference"] == "onnxruntime" for p in ("fp32", "fp16", "int8"))
    assert result["int8_vs_fp32_kpi_max_gap"] == 0.0
