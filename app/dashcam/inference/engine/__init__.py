"""TensorRT engines: built on the device from the ONNX file, cached with a sidecar, calibrated
for INT8 on the user's own footage (``dashcam engine``, ``dashcam calibrate``, ``dashcam run``)."""

from dashcam.inference.engine.device import Accelerator, probe_accelerator, require
from dashcam.inference.engine.resolve import EngineSettings, ensure_engine, settings_from_config

__all__ = ("Accelerator", "EngineSettings", "ensure_engine", "probe_accelerator", "require",
           "settings_from_config")
