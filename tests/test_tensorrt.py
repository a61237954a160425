"""The TensorRT backend and engine builder on a TEST DOUBLE of TensorRT and pycuda.

TensorRT and CUDA cannot run on these machines, so every test here uses
``tests/tensorrt_double.py``: a stand-in ``tensorrt`` module per version whose
names are those ``tests/tensorrt_surface.tsv`` records for that version, and a
stand-in pycuda driver. Its engines run the ONNX file with ONNX Runtime, so
outputs are real network outputs; real TensorRT is checked by
``bench/gpu_check`` on a machine with a GPU.
"""

import os
import shutil
import socket
import sqlite3
import tempfile
import threading

import numpy as np
import pytest

from dashcam.board import Board
from dashcam.config import load_config
from dashcam.errors import EngineError
from dashcam.inference import build_detector
from dashcam.inference.backends import build_backend
from dashcam.inference.backends.tensorrt import TensorRTBackend
from dashcam.inference.backends.tensorrt_api import NamedTensors, adapter_for, set_pool_limit
from dashcam.inference.backends.tensorrt_legacy import Bindings, set_max_workspace_size
from dashcam.inference.engine import probe_accelerator, settings_from_config
from dashcam.inference.engine.build import build_engine
from dashcam.inference.engine.resolve import ensure_engine
from dashcam.inference.engine.sidecar import read_sidecar
from dashcam.runtime import build_pipeline
from cuda_double import Gpu
from onnx_models import colour_model
from tensorrt_double import tensorrt_module

VERSIONS = ("8.0", "8.2", "8.4", "8.5", "8.6", "10")
PC = Board("")   # no device tree: the GPU's name is the device model


def accelerator_for(version, library="pycuda", board=PC, **gpu_options):
    gpu = Gpu(**gpu_options)
    trt = tensorrt_module(version, gpu)
    return gpu, probe_accelerator(gpu.import_module(trt, library), board=board)


def red_frame():
    image = np.zeros((1080, 1920, 3), np.uint8)
    image[400:560, 800:960] = (0, 0, 255)
    return image


@pytest.mark.parametrize("version,io,workspace,explicit,implicit", [
    ("8.0.1.6", Bindings, set_max_workspace_size, True, True),
    ("8.2.1.8", Bindings, set_max_workspace_size, True, True),
    ("8.4.1.5", Bindings, set_pool_limit, True, True),
    ("8.5.2.2", NamedTensors, set_pool_limit, True, True),
    ("8.6.1", NamedTensors, set_pool_limit, True, True),
    ("10.3.0.30", NamedTensors, set_pool_limit, False, True),
    ("11.0.0", NamedTensors, set_pool_limit, False, False),
])
def test_the_adapter_is_chosen_once_from_the_version(version, io, workspace, explicit, implicit):
    class Module:
        __version__ = version
    api = adapter_for(Module)
    assert isinstance(api.io, io) and api.set_workspace is workspace
    assert (api.explicit_batch, api.implicit_precision) == (explicit, implicit)


def test_unknown_or_too_old_versions_are_refused_in_one_line():
    for text in ("7.2.3", "banana"):
        module = type("Module", (), {"__version__": text})
        with pytest.raises(EngineError) as error:
            adapter_for(module)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("version,library", [(v, "pycuda") for v in VERSIONS] +
                         [("8.2", "cuda-python"), ("10", "cuda-python")])
@pytest.mark.parametrize("batch", [1, "N"])
def test_the_backend_gives_onnxruntimes_outputs_on_every_version(tmp_path, version, library, batch):
    model = colour_model(tmp_path / "m.onnx", batch=batch)   # "N": a dynamic-batch export, as TAO's
    gpu, accelerator = accelerator_for(version, library)
    assert accelerator.cuda.name == library
    engine = str(tmp_path / "m.engine")
    build_engine(accelerator.trt, accelerator.cuda, model, engine, "fp16", accelerator.device_model,
                 say=lambda line: None)
    backend = TensorRTBackend(engine, accelerator.trt, accelerator.cuda, "fp16")
    reference = build_backend(load_config(), model, accelerator=accelerator._replace(missing="x"))
    assert reference.name == "onnxruntime"
    blob = build_detector(load_config(), backend=reference).new_preprocessor()(red_frame())
    allocated = gpu.allocations
    results = []
    worker = threading.Thread(target=lambda: results.extend(backend.infer(blob) for _ in range(3)))
    worker.start()   # the backend was built in this thread and runs in another, as in the pipeline
    worker.join(10)
    expected = reference.infer(blob)
    assert len(results) == 3 and gpu.executions == 3
    for cov, bbox in results:
        np.testing.assert_array_equal(cov, expected[0])
        np.testing.assert_array_equal(bbox, expected[1])
    assert gpu.allocations == allocated, "no allocation per frame"
    assert backend.spec == reference.spec
    backend.close()
    backend.close()


def test_tensorrt_chosen_but_absent_is_one_line_and_batch_size_is_taken_as_1(tiny_model_path, caplog):
    config = load_config()
    config.model.backend = "tensorrt"
    config.property.batch_size = 4
    missing = probe_accelerator(Gpu().import_module(None), board=PC)
    with pytest.raises(EngineError) as error:
        build_backend(config, tiny_model_path, accelerator=missing)
    assert str(error.value).startswith("[model] backend = tensorrt needs TensorRT and an NVIDIA GPU: "
                                       "TensorRT is not installed here")
    assert "\n" not in str(error.value)
    assert "[property] batch-size = 4 taken as 1" in caplog.text
    _, no_gpu = accelerator_for("8.6", library="none")
    assert no_gpu.missing.startswith("TensorRT 8.6.1 is installed but no CUDA GPU reachable (pycuda:")


def test_the_double_refuses_calls_a_version_does_not_have():
    gpu = Gpu()
    old, new = tensorrt_module("8.2", gpu), tensorrt_module("10", gpu)
    with pytest.raises(AttributeError, match="does not exist in this TensorRT version"):
        getattr(old.IExecutionContext, "execute_async_v3")  # noqa: B009 (the access is the test)
    with pytest.raises(AttributeError):
        getattr(new.ICudaEngine, "get_binding_shape")  # noqa: B009 (the access is the test)
    with pytest.raises(AttributeError):
        new.IBuilderConfig().max_workspace_size = 1 << 20
    assert not hasattr(old, "MemoryPoolType") or not hasattr(old.MemoryPoolType, "WORKSPACE")
    assert not hasattr(tensorrt_module("11", gpu).BuilderFlag, "INT8")


def test_auto_picks_tensorrt_with_a_gpu_builds_once_and_then_loads(tmp_path, tiny_model_path):
    config = load_config()
    config.model.engine_dir = str(tmp_path / "engines")
    gpu, accelerator = accelerator_for("8.6", board=Board("NVIDIA Jetson Nano Developer Kit"))
    first = build_backend(config, tiny_model_path, accelerator=accelerator)
    assert (first.name, first.precision) == ("tensorrt", "fp16")
    assert first.reason.startswith("auto: TensorRT 8.6.1 and a GPU")
    assert "no engine at" in first.reason and "FP16" in first.reason
    assert first.path.endswith("colour.onnx_b1_gpu0_fp16.engine")
    second = build_backend(config, tiny_model_path, accelerator=accelerator)
    assert "matches (TensorRT 8.6.1, gpu0, fp16)" in second.reason
    sidecar = read_sidecar(first.path)
    assert sidecar["device_model"] == "NVIDIA Jetson Nano Developer Kit" and sidecar["tensorrt"] == "8.6.1"


def test_an_engine_from_another_tensorrt_version_is_rebuilt_never_loaded(tmp_path, tiny_model_path):
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    _, old = accelerator_for("8.6")
    _, new = accelerator_for("10")
    settings = settings_from_config(config, tiny_model_path, precision="fp16")
    assert ensure_engine(settings, old, say=lambda line: None).action == "build"
    plan = ensure_engine(settings, new, say=lambda line: None)
    assert plan.action == "build" and "TensorRT version differs: built with 8.6.1, wanted 10.3.0" in plan.reason
    TensorRTBackend(plan.path, new.trt, new.cuda, plan.precision).close()
    assert ensure_engine(settings, new).action == "load"


def test_int8_reads_the_cache_and_a_new_cache_means_a_new_engine(tmp_path, tiny_model_path):
    cache = tmp_path / "dashcamnet_int8.txt"
    cache.write_text("TRT-8601-EntropyCalibration2\ninput_1:0: 3c010a14\n")
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    gpu, accelerator = accelerator_for("8.5", board=Board("NVIDIA Jetson Xavier NX Developer Kit"))
    settings = settings_from_config(config, tiny_model_path, calib_cache=str(cache))
    plan = ensure_engine(settings, accelerator, say=lambda line: None)
    assert (plan.precision, plan.action) == ("int8", "build") and "Xavier: INT8" in plan.reason
    assert gpu.calibration_batches == []   # the cache was read: no frame needed
    cache.write_text("TRT-8601-EntropyCalibration2\ninput_1:0: 3c010a15\n")
    again = ensure_engine(settings, accelerator, say=lambda line: None)
    assert again.action == "build" and "calibration cache (SHA-256) differs" in again.reason


def test_dla_cores_are_checked_and_named_like_deepstream(tmp_path, tiny_model_path):
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    _, accelerator = accelerator_for("8.5", dla_cores=2)
    plan = ensure_engine(settings_from_config(config, tiny_model_path, "fp16", dla_core=1),
                         accelerator, say=lambda line: None)
    assert plan.path.endswith("_b1_dla1_fp16.engine") and read_sidecar(plan.path)["device"] == "dla1"
    for precision, dla_core, message in (("fp16", 2, "no DLA core 2 here (this device has 2)"),
                                         ("fp32", 0, "DLA runs FP16 or INT8 only")):
        with pytest.raises(EngineError, match=message.replace("(", r"\(").replace(")", r"\)")):
            ensure_engine(settings_from_config(config, tiny_model_path, precision, dla_core=dla_core),
                          accelerator, say=lambda line: None)


def test_tensorrt_11_says_in_one_line_where_implicit_int8_went(tmp_path, tiny_model_path):
    _, accelerator = accelerator_for("11")
    with pytest.raises(EngineError) as error:
        build_engine(accelerator.trt, accelerator.cuda, tiny_model_path, str(tmp_path / "e"), "fp16",
                     "x", say=lambda line: None)
    assert "\n" not in str(error.value) and "ModelOpt" in str(error.value)
    build_engine(accelerator.trt, accelerator.cuda, tiny_model_path, str(tmp_path / "e"), "fp32", "x",
                 say=lambda line: None)   # FP32 still builds (a strongly typed network)
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    plan = ensure_engine(settings_from_config(config, tiny_model_path), accelerator, say=lambda line: None)
    assert plan.precision == "fp32" and "no implicit FP16/INT8" in plan.reason   # auto on 11


def test_the_run_records_its_backend_and_why(tmp_path, tiny_model_path):
    db = str(tmp_path / "d.db")
    pipeline = build_pipeline(load_config(), source="synthetic://?seed=1&realtime=0", db_path=db,
                              model_path=tiny_model_path, status_stream=None)
    pipeline.run(0.3)
    row = sqlite3.connect(db).execute("SELECT backend, precision, backend_reason FROM runs").fetchone()
    assert row[:2] == ("onnxruntime", "fp32")
    assert row[2].startswith("auto: TensorRT is not installed here") or row[2].startswith("auto: ")


def test_a_dla_engine_runs_on_the_core_it_was_built_for(tmp_path, tiny_model_path):
    """TensorRT runs a deserialized engine on the Runtime's DLA core (core 0 unless set): the
    double's engines record the core they got (``engine.dla_core``)."""
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    config.property.network_mode, config.property.enable_dla, config.property.use_dla_core = 2, True, 1
    _, accelerator = accelerator_for("8.5", name="NVIDIA Jetson AGX Xavier", dla_cores=2)
    backend = build_backend(config, tiny_model_path, accelerator=accelerator)
    assert backend.path.endswith("_b1_dla1_fp16.engine")
    assert (backend.dla_core, backend.engine.dla_core) == (1, 1)
    backend.close()
    config.property.enable_dla = False
    gpu_backend = build_backend(config, tiny_model_path, accelerator=accelerator)
    assert (gpu_backend.dla_core, gpu_backend.engine.dla_core) == (None, None)
    gpu_backend.close()


def test_one_tensorrt_logger_serves_every_builder_runtime_and_parser(tmp_path, tiny_model_path):
    """TensorRT 8.0 takes its logger as a singleton: every Builder, Runtime and parser of the
    process must get the same one."""
    gpu, accelerator = accelerator_for("8.0")
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    for _ in range(2):
        build_backend(config, tiny_model_path, accelerator=accelerator).close()   # build+load, load
    build_engine(accelerator.trt, accelerator.cuda, tiny_model_path, str(tmp_path / "e"), "fp32",
                 "x", say=lambda line: None)
    assert len(gpu.loggers) == 6 and len({id(logger) for logger in gpu.loggers}) == 1


def test_a_build_under_systemd_extends_the_start_timeout(tmp_path, tiny_model_path, monkeypatch):
    """While an engine builds before READY, each progress tick (and the start) sends
    EXTEND_TIMEOUT_USEC to a real socket where systemd's would be."""
    folder = tempfile.mkdtemp(prefix="sd")   # socket paths are limited to 107 bytes
    path = os.path.join(folder, "notify.sock")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(path)
    systemd.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    config = load_config()
    config.model.engine_dir = str(tmp_path)
    _, accelerator = accelerator_for("10")
    try:
        build_backend(config, tiny_model_path, accelerator=accelerator).close()
        assert systemd.recv(4096) == b"EXTEND_TIMEOUT_USEC=60000000"
        build_backend(config, tiny_model_path, accelerator=accelerator).close()   # loads: no build
        systemd.setblocking(False)
        with pytest.raises(BlockingIOError):
            systemd.recv(4096)
    finally:
        systemd.close()
        shutil.rmtree(folder)
