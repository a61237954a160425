"""TensorRT 8.0 - 8.4 calls (JetPack 4.6's 8.0/8.2): binding indices and ``max_workspace_size``.

TensorRT 10 removed every call here, so this module is not type-checked
against its stubs; the TensorRT API test double (``tests/tensorrt_double.py``,
built from ``tests/tensorrt_surface.tsv``) checks that these calls exist in
8.0 and 8.2 as NVIDIA documents them.
"""

from dashcam.errors import EngineError
from dashcam.inference.backends.tensorrt_api import IoTensor


class Bindings:
    """Tensors by binding index; ``execute_async_v2`` takes every device address in index order."""

    name = "bindings + execute_async_v2"

    def tensors(self, trt_module, engine):
        return [IoTensor(engine.get_binding_name(i), tuple(engine.get_binding_shape(i)),
                         engine.get_binding_dtype(i), bool(engine.binding_is_input(i)))
                for i in range(engine.num_bindings)]

    def set_input_shape(self, context, tensors, tensor, shape):
        if not context.set_binding_shape(list(tensors).index(tensor), shape):
            raise EngineError(f"TensorRT refused input shape {shape} for {tensor.name}")

    def bind(self, context, tensors, addresses):
        """The bindings list ``execute_async_v2`` takes (``tensors`` are in binding order)."""
        return [int(address) for address in addresses]

    def execute(self, context, bindings, stream_handle):
        return bool(context.execute_async_v2(bindings, stream_handle))


def set_max_workspace_size(trt_module, config, nbytes):
    config.max_workspace_size = nbytes
