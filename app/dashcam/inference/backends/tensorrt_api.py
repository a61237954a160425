"""TensorRT's Python API from 8.0 to 10.x, behind one adapter chosen once from ``trt.__version__``.

============================  =====================  =========================================
what                          8.0 - 8.4              8.5 and later (10.x: the only way)
============================  =====================  =========================================
tensor names and shapes       ``num_bindings``,      ``num_io_tensors``, ``get_tensor_name``,
                              ``get_binding_*``      ``get_tensor_shape/dtype/mode``
dynamic batch at run time     ``set_binding_shape``  ``set_input_shape``
execute                       bindings +             ``set_tensor_address`` once +
                              ``execute_async_v2``   ``execute_async_v3``
============================  =====================  =========================================

Workspace: ``max_workspace_size`` before 8.4, ``set_memory_pool_limit`` from
8.4. Networks: the ``EXPLICIT_BATCH`` flag before 10 (10 ignores it, 11
removes it). Implicit FP16/INT8 (``BuilderFlag.FP16/INT8`` and the INT8
calibrator) until 10.x; 11 removed them for strongly typed networks and Q/DQ
quantization. This module holds the 8.5-and-later path, type-checked in CI
against NVIDIA's TensorRT 10 stubs (``tensorrt-stubs``); ``tensorrt_legacy``
holds the 8.0 - 8.4 calls. ``tests/tensorrt_surface.tsv`` records where each
call exists.
"""

import re
from collections import namedtuple
from typing import TYPE_CHECKING

from dashcam.errors import EngineError

if TYPE_CHECKING:  # the stubs: pip install tensorrt-stubs (see .ci/typecheck)
    from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401 (type comments)

    import tensorrt as trt  # noqa: F401

IoTensor = namedtuple("IoTensor", "name shape dtype is_input")

# The process's TensorRT logger, per tensorrt module (tests load several doubles of it).
_LOGGERS = {}  # type: Dict[Any, Any]


def logger_for(trt_module):
    # type: (Any) -> trt.Logger
    """The one ``Logger`` every Builder, Runtime and OnnxParser of this process is given.

    TensorRT 8.0's ILogger: "the logger is internally considered a singleton,
    and thus multiple instances of IRuntime and/or IBuilder must all use the
    same logger"; later releases use each object's own, so one serves them all.
    """
    logger = _LOGGERS.get(trt_module)
    if logger is None:
        logger = _LOGGERS.setdefault(trt_module, trt_module.Logger(trt_module.Logger.WARNING))
    return logger


def parse_version(text):
    # type: (str) -> Tuple[int, int]
    """``"8.6.1.6"`` -> ``(8, 6)``; EngineError for a version this code cannot place."""
    match = re.match(r"^(\d+)\.(\d+)", str(text))
    if not match:
        raise EngineError(f"cannot read the TensorRT version {text!r}")
    return int(match.group(1)), int(match.group(2))


def shape_of(dims):
    # type: (Any) -> Tuple[int, ...]
    """A TensorRT ``Dims`` as a tuple of ints (-1 for a dynamic dimension)."""
    return tuple(int(d) for d in dims)


class NamedTensors:
    """TensorRT 8.5 and later: every input and output addressed by name."""

    name = "set_tensor_address + execute_async_v3"

    def tensors(self, trt_module, engine):
        # type: (Any, trt.ICudaEngine) -> List[IoTensor]
        found = []
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            is_input = engine.get_tensor_mode(name) == trt_module.TensorIOMode.INPUT
            found.append(IoTensor(name, shape_of(engine.get_tensor_shape(name)),
                                  engine.get_tensor_dtype(name), is_input))
        return found

    def set_input_shape(self, context, tensors, tensor, shape):
        # type: (trt.IExecutionContext, Sequence[IoTensor], IoTensor, Tuple[int, ...]) -> None
        if not context.set_input_shape(tensor.name, shape):
            raise EngineError(f"TensorRT refused input shape {shape} for {tensor.name}")

    def bind(self, context, tensors, addresses):
        # type: (trt.IExecutionContext, Sequence[IoTensor], Sequence[int]) -> None
        """Give TensorRT each tensor's device address, once: they never move."""
        for tensor, address in zip(tensors, addresses):
            if not context.set_tensor_address(tensor.name, int(address)):
                raise EngineError(f"TensorRT refused the address of {tensor.name}")
        return None

    def execute(self, context, bindings, stream_handle):
        # type: (trt.IExecutionContext, None, int) -> bool
        return bool(context.execute_async_v3(stream_handle))


def set_pool_limit(trt_module, config, nbytes):
    # type: (Any, trt.IBuilderConfig, int) -> None
    config.set_memory_pool_limit(trt_module.MemoryPoolType.WORKSPACE, nbytes)


class TensorRTApi(namedtuple("TensorRTApi", "version io set_workspace explicit_batch "
                                            "implicit_precision")):
    """The calls this TensorRT has: ``io`` (``NamedTensors`` or ``tensorrt_legacy.Bindings``),
    ``set_workspace(trt, config, bytes)``, whether networks need the ``EXPLICIT_BATCH``
    flag, and whether FP16/INT8 are builder flags (with implicit INT8 calibration)."""

    __slots__ = ()

    def network_flags(self, trt_module):
        # type: (Any) -> int
        if not self.explicit_batch:
            return 0
        return 1 << int(trt_module.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)

    def require_implicit_precision(self, precision):
        # type: (str) -> None
        """One line for TensorRT 11+, which builds FP16/INT8 only from a quantized ONNX."""
        if precision != "fp32" and not self.implicit_precision:
            raise EngineError(
                "TensorRT {}.{} has no implicit {} (BuilderFlag.FP16/INT8 and the INT8 calibrator "
                "were removed in 11): quantize the ONNX with NVIDIA ModelOpt (Q/DQ nodes, "
                "python -m modelopt.onnx.quantization) and build it with --precision fp32, or use "
                "TensorRT 8.x/10.x".format(self.version[0], self.version[1], precision.upper()))


def adapter_for(trt_module):
    # type: (Any) -> TensorRTApi
    """The adapter for the installed module, chosen from its ``__version__``."""
    from dashcam.inference.backends import tensorrt_legacy

    version = parse_version(getattr(trt_module, "__version__", ""))
    if version < (8, 0):
        raise EngineError("TensorRT {}.{} is too old: dashcam needs 8.0 or later "
                          "(JetPack 4.6 or later)".format(*version))
    io = NamedTensors() if version >= (8, 5) else tensorrt_legacy.Bindings()
    workspace = set_pool_limit if version >= (8, 4) else tensorrt_legacy.set_max_workspace_size
    return TensorRTApi(version, io, workspace, explicit_batch=version < (10, 0),
                       implicit_precision=version < (11, 0))


def input_tensor(tensors, name=None):
    # type: (Sequence[IoTensor], Optional[str]) -> IoTensor
    inputs = [t for t in tensors if t.is_input and (name is None or t.name == name)]
    if not inputs:
        raise EngineError("the engine has no input{}".format(" " + name if name else ""))
    return inputs[0]
