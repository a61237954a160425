"""The DashCamNet contract against real ONNX Runtime sessions on real graphs."""

import pytest

from dashcam.errors import ModelError
from dashcam.inference.backends.onnxruntime import OnnxRuntimeBackend
from onnx_models import colour_model


def test_dashcamnet_names_are_found(tiny_model_path):
    spec = OnnxRuntimeBackend(tiny_model_path).spec
    assert spec.input_name == "input_1:0"
    assert (spec.height, spec.width, spec.num_classes, spec.grid_h, spec.grid_w) == (544, 960, 4, 34, 60)
    assert (spec.stride_y, spec.stride_x) == (16, 16)
    assert (spec.cov_name, spec.bbox_name) == ("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0")


def test_deepstream_names_without_suffix_and_dynamic_batch(tmp_path):
    path = colour_model(tmp_path / "m.onnx", input_name="input_1", cov_name="output_cov/Sigmoid",
                        bbox_name="output_bbox/BiasAdd", batch="N", height=272, width=480, stride=16)
    spec = OnnxRuntimeBackend(path).spec
    assert (spec.input_name, spec.height, spec.width, spec.grid_h, spec.grid_w) == ("input_1", 272, 480, 17, 30)


@pytest.mark.parametrize("kwargs,reason", [
    (dict(input_name="image"), "no input named input_1"),
    (dict(cov_name="scores"), "exactly one output named *cov*"),
    (dict(batch=4), "needs batch 1"),
])
def test_broken_contract_lists_expected_and_found(tmp_path, kwargs, reason):
    path = colour_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError) as error:
        OnnxRuntimeBackend(path)
    message = str(error.value)
    assert reason in message and "expected input 'input_1'" in message and "found inputs:" in message
    assert "\n" not in message


def test_class_count_must_match_the_config(tiny_model_path):
    with pytest.raises(ModelError, match="set num-detected-classes=4"):
        OnnxRuntimeBackend(tiny_model_path, num_classes=3)


def test_missing_and_unloadable_model_files(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        OnnxRuntimeBackend(str(tmp_path / "nope.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load it"):
        OnnxRuntimeBackend(str(junk))


def test_output_blob_names_pick_the_outputs_when_several_match(tmp_path):
    """Extra outputs with 'cov'/'bbox' in their names: output-blob-names decides."""
    import onnx
    from onnx import TensorProto, helper

    path = colour_model(tmp_path / "m.onnx")
    model = onnx.load(path)
    model.graph.node.append(helper.make_node("Identity", ["output_cov/Sigmoid:0"], ["debug_cov"]))
    model.graph.output.append(helper.make_tensor_value_info("debug_cov", TensorProto.FLOAT, [1, 4, 34, 60]))
    onnx.save(model, path)
    with pytest.raises(ModelError, match="exactly one output named"):
        OnnxRuntimeBackend(path)
    spec = OnnxRuntimeBackend(path, output_names=["output_bbox/BiasAdd", "output_cov/Sigmoid"]).spec
    assert (spec.cov_name, spec.bbox_name) == ("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0")


def test_output_blob_names_of_another_model_warn_once_naming_the_outputs_used(tiny_model_path,
                                                                             caplog):
    # e.g. a DeepStream file copied from a TAO model with conv2d_* heads
    spec = OnnxRuntimeBackend(tiny_model_path,
                              output_names=["conv2d_bbox", "conv2d_cov/Sigmoid"]).spec
    assert (spec.cov_name, spec.bbox_name) == ("output_cov/Sigmoid:0", "output_bbox/BiasAdd:0")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "conv2d_bbox;conv2d_cov/Sigmoid names none" in warnings[0]
    assert "using output_cov/Sigmoid:0 and output_bbox/BiasAdd:0" in warnings[0]
    caplog.clear()
    OnnxRuntimeBackend(tiny_model_path, output_names=["output_cov/Sigmoid", "output_bbox/BiasAdd"])
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
