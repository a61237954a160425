"""What this machine has for TensorRT, and the precision its device is expected to run.

``probe_accelerator`` never raises: it returns the TensorRT module, the CUDA
memory adapter and the device model it found, or the one-line reason one is
missing; ``require`` turns that reason into the error that says where to run
the command instead. ``precision_for_device`` is a pure function of
``/proc/device-tree/model`` (the text every Jetson has there).
"""

import importlib
from collections import namedtuple

from dashcam.errors import EngineError
from dashcam.inference.backends.cuda_memory import open_cuda

DEVICE_TREE_MODEL = "/proc/device-tree/model"
ELSEWHERE = ("run it on the Jetson (JetPack's TensorRT, with pycuda or cuda-python) or on a PC "
             "with an NVIDIA GPU, TensorRT 8.0-10.x and pycuda or cuda-python")


class Accelerator(namedtuple("Accelerator", "trt cuda version device_model missing")):
    """``trt`` and ``cuda`` are None when ``missing`` says why."""

    __slots__ = ()


def read_device_model(path=DEVICE_TREE_MODEL):
    """The device-tree model (``NVIDIA Jetson Nano Developer Kit``), or "" off a Jetson."""
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b"").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def probe_accelerator(import_module=importlib.import_module, model_path=DEVICE_TREE_MODEL):
    """TensorRT and a CUDA GPU as found here; ``import_module`` is injectable for tests."""
    device_model = read_device_model(model_path)
    try:
        trt = import_module("tensorrt")
    except Exception as error:  # ImportError, or OSError when libnvinfer itself is missing
        return Accelerator(None, None, None, device_model,
                           f"TensorRT is not installed here (import tensorrt: {error})")
    version = getattr(trt, "__version__", "?")
    try:
        cuda = open_cuda(import_module)
    except EngineError as error:
        return Accelerator(trt, None, version, device_model,
                           f"TensorRT {version} is installed but {error}")
    return Accelerator(trt, cuda, version, device_model or cuda.device_name(), None)


def require(accelerator, command):
    """The accelerator, or EngineError: ``<command> needs TensorRT and a GPU: <why>; <where>``."""
    if accelerator.missing:
        raise EngineError("{} needs TensorRT and an NVIDIA GPU: {}; {}".format(
            command, accelerator.missing, ELSEWHERE))
    return accelerator


def device_label(dla_core):
    """``gpu0``, or ``dla0``/``dla1`` for a DLA core (DeepStream's engine-name convention)."""
    return "gpu0" if dla_core is None else f"dla{dla_core}"


def precision_for_device(model):
    """``(precision, reason)`` a device runs by default, from its device-tree model.

    Orin and Xavier: INT8 (Xavier's and Orin's GPUs and DLAs have INT8 tensor
    cores); Nano, TX1, TX2 (Maxwell and Pascal, no fast INT8): FP16; anything
    else (a PC's GPU): FP16, as INT8 needs a calibration cache.
    """
    text = (model or "").lower()
    if "orin" in text:       # before "nano": the Orin Nano is an Orin
        return "int8", "Orin: INT8"
    if "xavier" in text or text == "jetson-agx":   # AGX Xavier's model on L4T 32.x
        return "int8", "Xavier: INT8"
    for name in ("nano", "tx2", "tx1", "quill"):
        if name in text:
            return "fp16", f"{model}: FP16 (no fast INT8 on its GPU)"
    return "fp16", "{}: FP16".format(model or "not a Jetson")
