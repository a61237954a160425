"""TensorRT at batch 1: one engine, one execution context, one CUDA stream, buffers made once.

Per frame: copy the preprocessed input into page-locked host memory, copy it
to the device, execute, copy both outputs back, synchronise; nothing is
allocated per frame. The (cov, bbox) arrays ``infer`` returns are views of
the page-locked output buffers, valid until the next ``infer`` (the detector
decodes them at once, in the same thread). Engines come from
``dashcam.inference.engine`` (built on this device, checked by their sidecar).
"""

import logging
from typing import TYPE_CHECKING

import numpy as np

from dashcam.errors import EngineError
from dashcam.inference.backends.tensorrt_api import adapter_for, logger_for
from dashcam.inference.contract import Tensor, resolve_contract
from dashcam.inference.engine.sidecar import dla_core_of, read_sidecar

if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple  # noqa: F401 (for the type comments)

    import tensorrt as trt  # noqa: F401

    from dashcam.inference.backends.tensorrt_api import IoTensor, TensorRTApi  # noqa: F401

log = logging.getLogger(__name__)


def load_engine(trt_module, cuda, path, dla_core=None):
    # type: (Any, Any, str, Optional[int]) -> Tuple[trt.ICudaEngine, TensorRTApi, List[IoTensor]]
    """Deserialize ``path`` for DLA core ``dla_core`` (None: the GPU); returns ``(engine, api,
    tensors)``. The core is the Runtime's to choose, before deserializing (``IRuntime::setDLACore``:
    "the DLA core that the deserialized engine must execute on"): not set, a dla1 engine runs on
    core 0."""
    api = adapter_for(trt_module)
    try:
        with open(path, "rb") as handle:
            plan = handle.read()
    except OSError as error:
        raise EngineError(f"cannot read engine {path}: {error.strerror or error}")
    with cuda.active():
        runtime = trt_module.Runtime(logger_for(trt_module))
        if dla_core is not None:
            runtime.DLA_core = dla_core
        engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise EngineError("{}: TensorRT {} cannot load this engine (built by another TensorRT or for "
                          "another device?): delete it and dashcam builds a new one".format(
                              path, trt_module.__version__))
    return engine, api, api.io.tensors(trt_module, engine)


def contract_tensors(trt_module, tensors):
    """``(inputs, outputs)`` as ``contract.Tensor`` (dynamic dims as None, numpy dtype names)."""
    def convert(t):
        shape = [d if d > 0 else None for d in t.shape]
        return Tensor(t.name, shape, np.dtype(trt_module.nptype(t.dtype)).name)
    return ([convert(t) for t in tensors if t.is_input], [convert(t) for t in tensors if not t.is_input])


class TensorRTBackend:
    """A deserialized engine run at batch 1 on ``cuda`` (a ``cuda_memory`` adapter).

    ``precision`` is recorded with the run (the engine's sidecar says it);
    ``reason`` says why this backend and engine were chosen. ``dla_core``: the
    DLA core it runs on, by default the one its sidecar names (``device``).
    """

    name = "tensorrt"

    def __init__(self, engine_path, trt_module, cuda, precision, num_classes=None, output_names=(),
                 reason="", dla_core=None):
        # type: (str, Any, Any, str, Any, Any, str, Optional[int]) -> None
        self.path, self.precision, self.reason, self.cuda = engine_path, precision, reason, cuda
        self.closed = False
        if dla_core is None:
            dla_core = dla_core_of((read_sidecar(engine_path) or {}).get("device"))
        self.dla_core = dla_core
        self.engine, self.api, tensors = load_engine(trt_module, cuda, engine_path, dla_core)
        inputs, outputs = contract_tensors(trt_module, tensors)
        self.spec = resolve_contract(engine_path, inputs, outputs, num_classes, output_names)
        spec = self.spec
        by_name = {t.name: t for t in tensors}
        with cuda.active():
            self.context = self.engine.create_execution_context()
            wanted = (1, 3, spec.height, spec.width)
            if by_name[spec.input_name].shape[0] < 1:   # a dynamic-batch export (TAO): run batch 1
                self.api.io.set_input_shape(self.context, tensors, by_name[spec.input_name], wanted)
            self.host = {}
            self.device = {}
            for t in tensors:
                shape = (1,) + tuple(t.shape[1:])
                self.host[t.name] = cuda.pagelocked(shape, np.dtype(trt_module.nptype(t.dtype)))
                self.device[t.name] = cuda.alloc(self.host[t.name].nbytes)
            self.bindings = self.api.io.bind(self.context, tensors,
                                             [self.device[t.name] for t in tensors])
            self.stream = cuda.stream()
        self._handle = cuda.handle(self.stream)
        self._input = (self.host[spec.input_name], self.device[spec.input_name])
        self._outputs = [(self.host[n], self.device[n]) for n in (spec.cov_name, spec.bbox_name)]
        log.info("TensorRT %s (%s, %s): %s, input %dx%d, grid %dx%d", trt_module.__version__,
                 self.api.io.name, cuda.name, engine_path, spec.width, spec.height,
                 spec.grid_w, spec.grid_h)

    def infer(self, blob):
        # type: (np.ndarray) -> Tuple[np.ndarray, np.ndarray]
        host, device = self._input
        np.copyto(host, blob, casting="same_kind")
        with self.cuda.active():
            self.cuda.to_device(device, host, self.stream)
            if not self.api.io.execute(self.context, self.bindings, self._handle):
                raise EngineError(f"TensorRT failed to execute {self.path}")
            for host_out, device_out in self._outputs:   # other outputs stay on the device
                self.cuda.to_host(host_out, device_out, self.stream)
            self.cuda.synchronize(self.stream)
        cov, bbox = self._outputs
        return cov[0][0], bbox[0][0]

    def close(self):
        # type: () -> None
        """Free the buffers: arrays ``infer`` returned must not be used after this."""
        if self.closed:
            return
        self.closed = True
        with self.cuda.active():
            self.cuda.free(buffers=list(self.device.values()), host=list(self.host.values()),
                           streams=[self.stream])
            del self.context, self.engine   # TensorRT frees them with their last reference
