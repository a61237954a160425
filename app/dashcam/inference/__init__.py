"""Inference: the DashCamNet contract, preprocessing, backends, DetectNet_v2 decoding,
clustering, the detector that chains them, and the worker that runs it on the newest frame."""

from dashcam.inference.detector import Detector, build_detector
from dashcam.inference.worker import InferenceWorker, PreprocessAhead

__all__ = ("Detector", "InferenceWorker", "PreprocessAhead", "build_detector")
