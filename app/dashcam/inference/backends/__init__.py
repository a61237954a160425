"""Inference backends: each takes the preprocessed NCHW blob and returns (cov, bbox).

A backend has ``spec`` (a ``dashcam.inference.contract.ModelSpec``),
``infer(blob)`` and ``close()``; ``name``, ``precision`` and ``reason`` (why
it was chosen) are recorded with every run. ``build_backend`` is the one
place that chooses and builds one.
"""

import logging

from dashcam.errors import ModelError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "tensorrt", "onnxruntime")


def output_names(text):
    """nvinfer's ``output-blob-names`` (``a;b``) as a list of names."""
    return [name.strip() for name in text.split(";") if name.strip()]


def choose_backend(setting, accelerator=None):
    """``(backend name, reason)`` for ``[model] backend``; ``accelerator`` is what was probed.

    ``auto`` is TensorRT when it imports and a CUDA GPU answers, else ONNX Runtime.
    """
    if setting == "onnxruntime":
        return "onnxruntime", "[model] backend = onnxruntime"
    if setting == "tensorrt":
        return "tensorrt", "[model] backend = tensorrt"
    if setting != "auto":
        raise ModelError("unknown backend {!r}: use one of {}".format(setting, ", ".join(BACKENDS)))
    if accelerator.missing:
        return "onnxruntime", f"auto: {accelerator.missing}, so ONNX Runtime on the CPU"
    return "tensorrt", "auto: TensorRT {} and a GPU ({})".format(accelerator.version,
                                                               accelerator.device_model)


def build_backend(config, model_path=None, accelerator=None, board=None):
    """The configured backend on ``model_path``, [property] onnx-file or the stand-in.

    ``accelerator`` (an ``engine.Accelerator``) replaces probing this machine,
    which runs on ``board`` (a ``dashcam.board.Board``, read when None).
    """
    from dashcam.inference.contract import check_model_file
    from dashcam.inference.models import model_file

    path = model_file(config, model_path)
    setting = config.model.backend
    if setting != "onnxruntime" and accelerator is None:
        from dashcam.inference.engine import probe_accelerator
        accelerator = probe_accelerator(board=board)
    name, reason = choose_backend(setting, accelerator)
    names = output_names(config.property.output_blob_names)
    classes = config.property.num_detected_classes
    if config.property.batch_size > 1:
        log.warning("[property] batch-size = %d taken as 1: dashcam runs one frame at a time, "
                    "for the lowest latency", config.property.batch_size)
    if name == "tensorrt":
        from dashcam.inference.backends.tensorrt import TensorRTBackend
        from dashcam.inference.engine import ensure_engine, require, settings_from_config
        from dashcam.service.notify import StartExtender

        require(accelerator, "[model] backend = tensorrt")
        extender = StartExtender()   # under systemd, a build extends the start timeout
        try:
            plan = ensure_engine(settings_from_config(config, check_model_file(path)), accelerator,
                                 keep_alive=extender)
        finally:
            extender.close()
        reason = f"{reason}; {plan.reason}"
        backend = TensorRTBackend(plan.path, accelerator.trt, accelerator.cuda, plan.precision,
                                  classes, names, reason)
    else:
        from dashcam.inference.backends.onnxruntime import OnnxRuntimeBackend
        backend = OnnxRuntimeBackend(path, classes, config.model.intra_op_threads,
                                     config.model.inter_op_threads, names)
        backend.reason = reason
    log.info("backend %s (%s): %s", backend.name, backend.precision, reason)
    return backend
