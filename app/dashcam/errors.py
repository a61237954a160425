"""One base for every expected failure, so the CLI can print it on one line."""


class DashcamError(Exception):
    """An expected failure: the message names the thing and the fix."""


class ConfigError(DashcamError, ValueError):
    """A configuration file, section, key or value is wrong."""


class ModelError(DashcamError, ValueError):
    """A model file is missing or breaks the DashCamNet contract."""


class SourceError(DashcamError, IOError):
    """A camera, video file or image cannot be opened or read."""


class StoreError(DashcamError, IOError):
    """The store file cannot be opened, is not a dashcam store, is too new, or is in use."""


class EngineError(DashcamError, RuntimeError):
    """TensorRT, CUDA or a GPU is missing, or an engine cannot be built, calibrated or loaded."""


class RecordingError(DashcamError, IOError):
    """Video cannot be recorded, found or joined: no encoder, no clip, a missing segment."""
