"""The DashCamNet model contract, checked against what a model file declares.

Input ``input_1`` (ONNX: ``input_1:0``), float32 NCHW 3 x H x W (DashCamNet:
544 x 960), batch 1 or dynamic. Outputs are found by name as DeepStream
does: the one containing ``cov`` (C x gh x gw) and the one containing
``bbox`` (4C x gh x gw); the stride is input size / grid size.
"""

import logging
import os
from collections import namedtuple

from dashcam.errors import ModelError

log = logging.getLogger(__name__)

INPUT_NAMES = ("input_1", "input_1:0")
EXPECTED = ("input 'input_1' or 'input_1:0' float32 [1|N, 3, H, W]; "
            "outputs '*cov*' [1|N, C, gh, gw] and '*bbox*' [1|N, 4C, gh, gw] with H/gh = W/gw integer")

Tensor = namedtuple("Tensor", "name shape dtype")


class ModelSpec(namedtuple("ModelSpec", "input_name height width cov_name bbox_name "
                                        "num_classes grid_h grid_w stride_y stride_x")):
    """The geometry that preprocessing and decoding need."""

    __slots__ = ()


def _describe(tensors):
    return ", ".join(f"{t.name} {list(t.shape)} {t.dtype}" for t in tensors) or "none"


def _static(dim):
    return dim if isinstance(dim, int) and dim > 0 else None


def _base_name(name):
    return name[:-2] if name.endswith(":0") else name


def resolve_contract(path, inputs, outputs, num_classes=None, output_names=()):
    """The ``ModelSpec`` of a model, or a ModelError listing expected and found tensors.

    ``output_names`` (nvinfer's ``output-blob-names``) narrows the outputs
    considered when the model has them; otherwise all outputs are.
    """

    def fail(reason):
        raise ModelError("{}: {}: expected {}; found inputs: {}; outputs: {}".format(
            path, reason, EXPECTED, _describe(inputs), _describe(outputs)))

    named = [t for t in inputs if t.name in INPUT_NAMES]
    if not named:
        fail("no input named input_1")
    image = named[0]
    if len(image.shape) != 4 or image.shape[1] != 3:
        fail(f"input {image.name} is not N x 3 x H x W")
    if image.dtype not in ("float32", "tensor(float)"):
        fail(f"input {image.name} is {image.dtype}, not float32")
    batch, height, width = image.shape[0], _static(image.shape[2]), _static(image.shape[3])
    if _static(batch) not in (None, 1) or not (height and width):
        fail(f"input {image.name} needs batch 1 (or dynamic) and a fixed H x W")
    wanted = {_base_name(name) for name in output_names}
    listed = [t for t in outputs if _base_name(t.name) in wanted]
    candidates = listed if len(listed) >= 2 else outputs
    cov = [t for t in candidates if "cov" in t.name]
    bbox = [t for t in candidates if "bbox" in t.name]
    if len(cov) != 1 or len(bbox) != 1:
        fail("need exactly one output named *cov* and one named *bbox*")
    cov, bbox = cov[0], bbox[0]
    if output_names and len(listed) < 2:
        # A DeepStream file copied from another model: say so once, then go on.
        log.warning("%s: output-blob-names %s names %s of this model's outputs; using %s and %s "
                    "(fix output-blob-names to silence this)", path, ";".join(output_names),
                    "only one" if listed else "none", cov.name, bbox.name)
    if len(cov.shape) != 4 or len(bbox.shape) != 4:
        fail("outputs must be 4-D")
    classes, grid_h, grid_w = (_static(d) for d in cov.shape[1:])
    if not (classes and grid_h and grid_w):
        fail(f"output {cov.name} needs static C x gh x gw")
    if tuple(bbox.shape[1:]) != (4 * classes, grid_h, grid_w):
        fail("output {} must be {} x {} x {} (4 box planes per class)".format(
            bbox.name, 4 * classes, grid_h, grid_w))
    if height % grid_h or width % grid_w:
        fail(f"input {height}x{width} is not a whole multiple of the grid {grid_h}x{grid_w}")
    if num_classes is not None and num_classes != classes:
        raise ModelError("{}: the model outputs {} classes but [property] num-detected-classes = {}; "
                         "set num-detected-classes={}".format(path, classes, num_classes, classes))
    return ModelSpec(image.name, height, width, cov.name, bbox.name, classes,
                     grid_h, grid_w, height // grid_h, width // grid_w)


def check_model_file(path):
    """Fail early, with the fix, when a model file is missing."""
    if not path:
        raise ModelError("no model configured: pass --model FILE.onnx or set [property] onnx-file")
    if not os.path.isfile(path):
        raise ModelError(f"model file not found: {path} (pass --model FILE.onnx or fix [property] onnx-file)")
    return path
