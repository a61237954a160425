"""What this machine has for TensorRT.

``probe_accelerator`` never raises: it returns the TensorRT module, the CUDA
memory adapter and the board it runs on (``dashcam.board``: the precision it
runs by default), or the one-line reason one is missing; ``require`` turns
that reason into the error that says where to run the command instead.
"""

import importlib
from collections import namedtuple

from dashcam.board import read_board
from dashcam.errors import EngineError
from dashcam.inference.backends.cuda_memory import open_cuda

ELSEWHERE = ("run it on the Jetson (JetPack's TensorRT, with pycuda or cuda-python) or on a PC "
             "with an NVIDIA GPU, TensorRT 8.0-10.x and pycuda or cuda-python")


class Accelerator(namedtuple("Accelerator", "trt cuda version device_model missing board")):
    """``trt`` and ``cuda`` are None when ``missing`` says why; ``device_model`` (what
    engines record they were built on) is the board's model, else the GPU's name;
    ``board`` is the ``dashcam.board.Board``."""

    __slots__ = ()


def probe_accelerator(import_module=importlib.import_module, board=None):
    """TensorRT and a CUDA GPU as found here, on ``board`` (read when None);
    ``import_module`` is injectable for tests."""
    board = board or read_board()
    try:
        trt = import_module("tensorrt")
    except Exception as error:  # ImportError, or OSError when libnvinfer itself is missing
        return Accelerator(None, None, None, board.model,
                           f"TensorRT is not installed here (import tensorrt: {error})", board)
    version = getattr(trt, "__version__", "?")
    try:
        cuda = open_cuda(import_module)
    except EngineError as error:
        return Accelerator(trt, None, version, board.model,
                           f"TensorRT {version} is installed but {error}", board)
    return Accelerator(trt, cuda, version, board.model or cuda.device_name(), None, board)


def require(accelerator, command):
    """The accelerator, or EngineError: ``<command> needs TensorRT and a GPU: <why>; <where>``."""
    if accelerator.missing:
        raise EngineError("{} needs TensorRT and an NVIDIA GPU: {}; {}".format(
            command, accelerator.missing, ELSEWHERE))
    return accelerator


def device_label(dla_core):
    """``gpu0``, or ``dla0``/``dla1`` for a DLA core (DeepStream's engine-name convention)."""
    return "gpu0" if dla_core is None else f"dla{dla_core}"
