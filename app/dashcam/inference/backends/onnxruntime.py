"""ONNX Runtime on the CPU: runs the same ONNX file that TensorRT builds from."""

import logging

from dashcam.errors import ModelError
from dashcam.inference.contract import Tensor, check_model_file, resolve_contract

log = logging.getLogger(__name__)


class OnnxRuntimeBackend:
    """One ``InferenceSession``; ``infer`` returns the (cov, bbox) arrays of batch item 0.

    ``intra_op_threads`` 0 lets ONNX Runtime use one thread per core.
    """

    name = "onnxruntime"
    precision = "fp32"
    reason = ""

    def __init__(self, path, num_classes=None, intra_op_threads=0, inter_op_threads=1, output_names=()):
        import onnxruntime  # imported here: the TensorRT path must not need it

        check_model_file(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Idle worker threads would otherwise spin between frames and take the
        # cores that capture and decoding need: +5 % pipeline throughput on 2 cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{path}: ONNX Runtime cannot load it: {str(error).splitlines()[0]}")
        inputs = [Tensor(t.name, t.shape, t.type) for t in self.session.get_inputs()]
        outputs = [Tensor(t.name, t.shape, t.type) for t in self.session.get_outputs()]
        self.spec = resolve_contract(path, inputs, outputs, num_classes, output_names)
        self.path = path
        self._outputs = [self.spec.cov_name, self.spec.bbox_name]
        log.info("ONNX Runtime %s: %s, input %dx%d, grid %dx%d", onnxruntime.__version__, path,
                 self.spec.width, self.spec.height, self.spec.grid_w, self.spec.grid_h)

    def infer(self, blob):
        cov, bbox = self.session.run(self._outputs, {self.spec.input_name: blob})
        return cov[0], bbox[0]

    def close(self):
        self.session = None
