"""The committed stand-in model keeps DashCamNet's contract (a real ONNX Runtime session)."""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "engines", "standin", "dashcamnet_standin.onnx")


@pytest.fixture(scope="module")
def session():
    return ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])


def test_file_is_small_enough_to_commit():
    assert os.path.getsize(MODEL) <= 8 * 1024 * 1024


def test_loads_on_the_oldest_supported_onnxruntime():
    # onnxruntime 1.10 (the last for Python 3.6, Jetson Nano) reads IR <= 8 and opset <= 15.
    proto = onnx.load(MODEL)
    onnx.checker.check_model(proto)
    assert proto.ir_version <= 8
    opsets = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    assert opsets and max(opsets) <= 13


def test_tensor_names_shapes_and_types(session):
    (inp,) = session.get_inputs()
    assert inp.name == "input_1:0"
    assert inp.type == "tensor(float)"
    assert list(inp.shape) == [1, 3, 544, 960]  # batch 1: the lowest latency
    outs = {o.name: o for o in session.get_outputs()}
    assert list(outs) == ["output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"]
    assert all(o.type == "tensor(float)" for o in outs.values())


def test_outputs_on_a_frame(session):
    rng = np.random.default_rng(0)
    blob = rng.random((1, 3, 544, 960), dtype=np.float32)
    cov, bbox = session.run(None, {"input_1:0": blob})
    assert cov.shape == (1, 4, 34, 60) and cov.dtype == np.float32
    assert bbox.shape == (1, 16, 34, 60) and bbox.dtype == np.float32
    assert np.all((cov >= 0.0) & (cov <= 1.0))
    assert np.all(np.isfinite(bbox))
