"""Inference backends: each takes the preprocessed NCHW blob and returns (cov, bbox).

A backend has ``spec`` (a ``dashcam.inference.contract.ModelSpec``),
``infer(blob)`` and ``close()``; ``name`` and ``precision`` are recorded with
every run. ``build_backend`` is the one place that chooses and builds one.
"""

from dashcam.errors import ModelError
from dashcam.paths import default_model_path

BACKENDS = ("onnxruntime",)


def output_names(text):
    """nvinfer's ``output-blob-names`` (``a;b``) as a list of names."""
    return [name.strip() for name in text.split(";") if name.strip()]


def build_backend(config, model_path=None):
    """The configured backend on ``model_path``, [property] onnx-file or the stand-in."""
    path = model_path or config.path(config.property.onnx_file) or default_model_path()
    if config.model.backend == "onnxruntime":
        from dashcam.inference.backends.onnxruntime import OnnxRuntimeBackend
        return OnnxRuntimeBackend(path, config.property.num_detected_classes,
                                  config.model.intra_op_threads, config.model.inter_op_threads,
                                  output_names(config.property.output_blob_names))
    raise ModelError("unknown backend {!r}: use one of {}".format(config.model.backend,
                                                                 ", ".join(BACKENDS)))
