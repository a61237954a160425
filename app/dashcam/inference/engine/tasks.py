"""The two jobs a user starts by hand: build an engine, and calibrate INT8 on their own footage.

Both need TensorRT and a GPU (the caller passes the ``Accelerator``, checked
with ``device.require``). Calibration frames go through the run-time
``Preprocessor`` at the network's input size and ``net-scale-factor``.
"""

import os

from dashcam.errors import EngineError
from dashcam.inference.backends.tensorrt_api import adapter_for
from dashcam.inference.engine.build import build_engine
from dashcam.inference.engine.calibration import read_cache
from dashcam.inference.engine.device import device_label
from dashcam.inference.engine.frames import IMAGE_EXTENSIONS, files_in, image_frames, preprocessed
from dashcam.inference.engine.resolve import choose_path, resolve_precision
from dashcam.inference.engine.sidecar import engine_name
from dashcam.inference.preprocess import Preprocessor


def frames_for_network(frames, scale):
    """``calib_frames`` for ``build_engine``: ``frames`` preprocessed for the parsed input shape."""
    return lambda shape: preprocessed(frames, Preprocessor(shape[2], shape[3], scale))


def make_folders(*paths):
    for folder in {os.path.dirname(os.path.abspath(p)) for p in paths if p}:
        if not os.path.isdir(folder):
            os.makedirs(folder)


def build_requested(accelerator, settings, scale, calib_images=None, output=None, say=print):
    """``dashcam engine build``: returns ``(precision, engine path, BuildResult, cache written)``.

    With ``calib_images`` INT8 calibrates on them and writes the cache to
    ``settings.calib_cache`` (default ``calib/<model>.onnx_int8.txt``).
    """
    precision, why = resolve_precision(settings.precision, accelerator.board,
                                       settings.calib_cache, calibrating=calib_images is not None,
                                       implicit=adapter_for(accelerator.trt).implicit_precision)
    if calib_images is not None and precision != "int8":
        say(f"--calib-images not used: {precision.upper()} needs no calibration")
    calib_cache, calib_frames, calib_out = settings.calib_cache, None, None
    if precision == "int8" and calib_images is not None:
        paths = files_in(calib_images, IMAGE_EXTENSIONS)
        calib_frames = frames_for_network(image_frames(paths, len(paths)), scale)
        calib_out = calib_cache or os.path.join("calib", os.path.basename(settings.onnx) + "_int8.txt")
        calib_cache = None
    path = output or choose_path(settings, engine_name(settings.onnx, precision,
                                                       device_label(settings.dla_core)))[0]
    make_folders(path, calib_out)
    say(f"{precision.upper()} ({why})")
    result = build_engine(accelerator.trt, accelerator.cuda, settings.onnx, path, precision,
                          accelerator.device_model, settings.dla_core, settings.workspace_mb,
                          calib_cache=calib_cache, calib_frames=calib_frames, calib_out=calib_out,
                          say=say)
    return precision, path, result, calib_out


def calibrate(accelerator, settings, scale, frames, output, say=print):
    """``dashcam calibrate``: run TensorRT's INT8 calibration on ``frames`` (BGR images) and
    write the cache to ``output``; returns ``(frames used, tensors in the cache)``."""
    make_folders(output)
    result = build_engine(accelerator.trt, accelerator.cuda, settings.onnx, None, "int8",
                          accelerator.device_model, None, settings.workspace_mb,
                          calib_frames=frames_for_network(frames, scale), calib_out=output, say=say)
    if not result.calibration_batches or not os.path.isfile(output):
        raise EngineError("no frame could be read for calibration: check the images or videos")
    return result.calibration_batches, len(read_cache(output)[1].scales)
