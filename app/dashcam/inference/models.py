"""Which model file a run uses, where fetched models are kept, and what the stand-in is.

The model is ``--model``, else ``[property] onnx-file``, else the bundled
stand-in (``engines/standin/``), a small network trained on the synthetic road
only, so that the demo runs without NVIDIA's model. On a real camera its
detections mean nothing: ``standin_warning`` says so wherever a user would
otherwise trust them (``dashcam run``, ``dashcam doctor``).
"""

import os

from dashcam.paths import STANDIN_NAME, default_model_path

SYNTHETIC = "synthetic://"
STANDIN_WARNING = (
    "the model is the bundled stand-in ({}), trained on the synthetic road only: on a real "
    "camera its detections mean nothing. `dashcam model fetch` gets NVIDIA's DashCamNet and "
    "prints the line that selects it")


def model_file(config, model_path=None):
    """The ONNX model of a run: ``model_path`` (``--model``), ``[property] onnx-file``, else
    the bundled stand-in."""
    return model_path or config.path(config.property.onnx_file) or default_model_path()


def is_standin(path):
    return os.path.normpath(path).endswith(os.path.normpath(STANDIN_NAME))


def standin_warning(model_path, uri):
    """The warning for running ``model_path`` on source ``uri`` (empty: the synthetic demo),
    or None: only the stand-in on a source other than the synthetic road gets one."""
    if not is_standin(model_path) or not uri or uri.lower().startswith(SYNTHETIC):
        return None
    return STANDIN_WARNING.format(os.path.join("engines", STANDIN_NAME))
