"""INT8 calibration: the cache in TAO's text format, frames from the user's footage, and
calibrator batches equal to the run-time preprocessing.

Files, OpenCV videos (mp4v in MPEG-TS, as segments) and ONNX Runtime are real; TensorRT
and pycuda are the TEST DOUBLES of ``tests/tensorrt_double.py`` (they cannot run here).
"""

import os

import numpy as np
import pytest

from dashcam.board import Board
from dashcam.config import load_config
from dashcam.errors import EngineError
from dashcam.inference import build_detector
from dashcam.inference.engine import probe_accelerator, settings_from_config
from dashcam.inference.engine.build import build_engine
from dashcam.inference.engine.calibration import (format_cache, hex_to_scale, parse_cache,
                                                  read_cache, scale_to_hex)
from dashcam.inference.engine.frames import calibration_frames, plan_samples, spread
from dashcam.inference.engine.tasks import calibrate
from cuda_double import Gpu
from tensorrt_double import CallbackAbort, tensorrt_module
from videos import write_video

# TAO's format as TensorRT writes it, with what real caches contain: names with colons,
# hex without leading zeros (a tiny scale), and 0 for a tensor calibration left unused.
TAO_CACHE = """\
TRT-8601-EntropyCalibration2
input_1:0: 3c010a14
conv1/convolution:0: 3d6e8e1c
block_1a_relu_1/Relu:0: 3d2b9d4b
output_cov/Sigmoid:0: 3c010a14
output_bbox/BiasAdd:0: 3e0f5c29
tiny_scale: 1a2b3c
unused_shape_tensor: 0
"""


def test_a_tao_cache_reads_and_writes_back_byte_for_byte():
    cache = parse_cache(TAO_CACHE)
    assert cache.header == "TRT-8601-EntropyCalibration2"
    assert list(cache.scales)[0] == "input_1:0" and len(cache.scales) == 7
    assert cache.scales["input_1:0"] == pytest.approx(0.00787594, rel=1e-6)   # about 1/127: inputs 0..1
    assert cache.scales["unused_shape_tensor"] == 0.0
    assert 0 < cache.scales["tiny_scale"] < 1e-37
    assert format_cache(cache) == TAO_CACHE


def test_scales_are_float32_bit_patterns():
    for text in ("3c010a14", "1", "0", "7f7fffff"):
        assert scale_to_hex(hex_to_scale(text)) == text
    assert hex_to_scale("3f800000") == 1.0


@pytest.mark.parametrize("text,where", [
    ("", "first line"),
    ("EntropyCalibration2\ninput_1: 3c010a14\n", "first line"),
    ("TRT-8601-EntropyCalibration2\ninput_1 3c010a14\n", "line 2"),
    ("TRT-8601-EntropyCalibration2\ninput_1: 3c010a14\nconv: xyz\n", "line 3"),
    ("TRT-8601-EntropyCalibration2\nconv: 123456789\n", "line 2"),
])
def test_a_broken_cache_is_one_line_naming_the_line(text, where):
    with pytest.raises(EngineError) as error:
        parse_cache(text, "calib/x.txt")
    assert "\n" not in str(error.value) and where in str(error.value) and "calib/x.txt" in str(error.value)


def test_frames_are_spread_over_all_the_footage():
    assert spread(10, 5) == [1, 3, 5, 7, 9]
    assert spread(3, 10) == [0, 1, 2]
    assert plan_samples([10, 10, 10], 3) == {0: [5], 1: [5], 2: [5]}
    assert plan_samples([4, 0, 8], 6) == {0: [1, 3], 2: [1, 3, 5, 7]}
    assert plan_samples([], 4) == {}


def grey_levels(frames):
    """Which ``write_video`` frame each image is (frame i is grey 20*i, give or take the codec)."""
    return [int(round(float(image.mean()) / 20.0)) for image in frames]


def test_recordings_are_sampled_across_segments_in_time_order(tmp_path):
    recordings = tmp_path / "recordings"
    for day, name in (("2026-12-01", "10-00-00.ts"), ("2026-12-01", "10-00-05.ts"), ("2026-12-02", "08-00-00.ts")):
        (recordings / day).mkdir(parents=True, exist_ok=True)
        write_video(recordings / day / name, frames=10)
    (recordings / "notes.txt").write_text("not a video")
    where, frames = calibration_frames(6, recordings=str(recordings))
    assert where == f"6 frames from recordings in {recordings} (3 file(s))"
    assert grey_levels(frames) == [2, 7, 2, 7, 2, 7]   # two from each 10-frame segment


def test_video_and_image_sources_and_their_errors(tmp_path):
    video = write_video(tmp_path / "drive.mp4", frames=12)
    assert grey_levels(calibration_frames(4, video=video)[1]) == [1, 4, 7, 10]
    images = tmp_path / "images"
    images.mkdir()
    import cv2
    for i in range(3):
        cv2.imwrite(str(images / f"{i}.png"), np.full((40, 60, 3), 20 * i, np.uint8))
    (images / "broken.png").write_bytes(b"not a png")
    assert grey_levels(calibration_frames(10, images=str(images))[1]) == [0, 1, 2]
    for kwargs, message in (({"recordings": str(tmp_path / "none")}, "is not a folder"),
                            ({"images": str(tmp_path / "empty")}, "is not a folder"),
                            ({"video": str(tmp_path / "missing.mp4")}, "video file not found"),
                            ({}, "give one of")):
        with pytest.raises(EngineError, match=message):
            calibration_frames(4, **kwargs)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineError, match="no images in .* found"):
        calibration_frames(4, images=str(tmp_path / "empty"))


def test_the_calibrator_gets_exactly_the_run_time_preprocessing(tmp_path, tiny_model_path):
    video = write_video(tmp_path / "drive.ts", frames=20, size=(320, 180))
    gpu = Gpu()
    accelerator = probe_accelerator(gpu.import_module(tensorrt_module("8.2", gpu)), board=Board(""))
    config = load_config()
    output = str(tmp_path / "calib" / "my_roads.txt")
    used, tensors = calibrate(accelerator, settings_from_config(config, tiny_model_path),
                              config.property.net_scale_factor, calibration_frames(5, video=video)[1],
                              output, say=lambda line: None)
    assert (used, tensors) == (5, 1)
    runtime = build_detector(config, tiny_model_path).new_preprocessor()
    expected = [runtime(image).copy() for image in calibration_frames(5, video=video)[1]]
    assert len(gpu.calibration_batches) == 5
    for batch, blob in zip(gpu.calibration_batches, expected):
        np.testing.assert_array_equal(batch, blob)
    raw, cache = read_cache(output)
    assert cache.header.startswith("TRT-") and cache.header.endswith("-EntropyCalibration2")
    assert format_cache(cache).encode() == raw and list(cache.scales) == ["input_1:0"]
    assert os.listdir(os.path.dirname(output)) == ["my_roads.txt"]


def raising_calibrator(trt):
    class Raising(trt.IInt8EntropyCalibrator2):
        def read_calibration_cache(self):
            return None

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            raise ValueError("a frame that cannot be read")
    return Raising()


def test_the_double_does_with_a_callbacks_exception_what_each_tensorrt_does(tiny_model_path):
    """TEST DOUBLE check: 8.0/8.2 abort (CallbackAbort stands for it), 8.4 and later print
    the exception and take it for the end of the frames."""
    for version, aborts in (("8.2", True), ("8.6", False)):
        gpu = Gpu()
        trt = tensorrt_module(version, gpu)
        gpu.local.stack = ["context"]
        builder = trt.Builder(trt.Logger())
        network = builder.create_network(1)
        assert trt.OnnxParser(network, trt.Logger()).parse(open(tiny_model_path, "rb").read())
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = raising_calibrator(trt)
        if aborts:
            with pytest.raises(CallbackAbort, match="in get_batch\\(\\): a frame that cannot be read"):
                builder.build_serialized_network(network, config)
        else:
            assert builder.build_serialized_network(network, config) is None


@pytest.mark.parametrize("version", ["8.2", "8.6", "10"])
def test_a_frame_that_does_not_fit_fails_the_calibration_in_one_line(tmp_path, tiny_model_path,
                                                                        version):
    gpu = Gpu()
    accelerator = probe_accelerator(gpu.import_module(tensorrt_module(version, gpu)), board=Board(""))
    frames = lambda shape: [np.zeros(shape, np.float32), np.zeros((1, 3, 8, 8), np.float32)]  # noqa: E731
    with pytest.raises(EngineError) as error:
        build_engine(accelerator.trt, accelerator.cuda, tiny_model_path, str(tmp_path / "e.engine"),
                     "int8", "x", calib_frames=frames, calib_out=str(tmp_path / "cache.txt"),
                     say=lambda line: None)
    assert "calibration frame (1, 3, 8, 8) float32 does not fit the input" in str(error.value)
    assert not os.path.exists(tmp_path / "e.engine") and not os.path.exists(tmp_path / "cache.txt")


@pytest.mark.parametrize("version", ["8.2", "8.6", "10"])
def test_a_cache_that_cannot_be_written_is_reported_as_such(tmp_path, tiny_model_path, version):
    gpu = Gpu()
    accelerator = probe_accelerator(gpu.import_module(tensorrt_module(version, gpu)), board=Board(""))
    frames = lambda shape: [np.full(shape, 0.5, np.float32)] * 3  # noqa: E731
    cache = str(tmp_path / "no such folder" / "cache.txt")
    with pytest.raises(EngineError) as error:
        build_engine(accelerator.trt, accelerator.cuda, tiny_model_path, str(tmp_path / "e.engine"),
                     "int8", "x", calib_frames=frames, calib_out=cache, say=lambda line: None)
    assert str(error.value) == f"cannot write the calibration cache {cache}: No such file or directory"
    assert len(gpu.calibration_batches) == 3 and not os.path.exists(tmp_path / "e.engine")
