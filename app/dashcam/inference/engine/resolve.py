"""Which engine to run: its settings, precision and path, and whether it must be built first.

Settings are DeepStream's ``[property]`` keys (``network-mode`` 0 FP32, 1 INT8,
2 FP16, -1 by device; ``enable-dla``/``use-dla-core``; ``workspace-size`` in
MB; ``int8-calib-file``; ``model-engine-file``), overridden by the command
line. Engines live in ``[model] engine-dir`` (default
``$DASHCAM_DATA/engines``), named as DeepStream names them. The decisions
(``resolve_precision``, ``choose_path``, ``decide``) are pure functions;
``ensure_engine`` applies them and builds at most once.
"""

import logging
import os
from collections import namedtuple

from dashcam.errors import EngineError
from dashcam.inference.backends.tensorrt_api import adapter_for
from dashcam.inference.engine import sidecar
from dashcam.inference.engine.build import build_engine
from dashcam.inference.engine.device import device_label
from dashcam.paths import data_dir

log = logging.getLogger(__name__)

NETWORK_MODES = {0: "fp32", 1: "int8", 2: "fp16"}   # nvinfer's network-mode values

EngineSettings = namedtuple("EngineSettings", "onnx precision dla_core workspace_mb calib_cache "
                                              "engine_file engine_dir")
EnginePlan = namedtuple("EnginePlan", "path precision action reason")


def default_engine_dir(environ=None):
    return os.path.join(data_dir(environ), "engines")


def settings_from_config(config, onnx_path, precision=None, dla_core=None, workspace_mb=None,
                         calib_cache=None, engine_file=None):
    """``EngineSettings`` from ``[property]``/``[model]``; arguments given here win (the CLI's flags)."""
    prop = config.property
    if precision is None:
        precision = NETWORK_MODES.get(prop.network_mode, "auto")
    if dla_core is None and prop.enable_dla:
        dla_core = prop.use_dla_core
    return EngineSettings(onnx_path, precision, dla_core, workspace_mb or prop.workspace_size,
                          calib_cache or config.path(prop.int8_calib_file) or None,
                          engine_file or config.path(prop.model_engine_file) or None,
                          config.path(config.model.engine_dir) or default_engine_dir())


def resolve_precision(requested, board, calib_cache, calibrating=False, implicit=True):
    """``(precision, reason)``: ``auto`` by ``board`` (``Board.precision``); INT8 only with a
    calibration cache (or while ``calibrating`` on frames given for it); FP32 where TensorRT has
    no ``implicit`` FP16/INT8 (11)."""
    has_cache = calibrating or (bool(calib_cache) and os.path.isfile(calib_cache))
    if requested == "auto" and not implicit:
        return "fp32", ("this TensorRT has no implicit FP16/INT8: FP32 (for FP16/INT8, quantize "
                        "the ONNX with NVIDIA ModelOpt)")
    if requested == "auto":
        precision, reason = board.precision
        if precision == "int8" and not has_cache:
            return "fp16", (reason + ", but no INT8 calibration cache (int8-calib-file) yet: FP16 "
                            "until dashcam calibrate makes one")
        return precision, reason
    if requested == "int8" and not has_cache:
        raise EngineError("INT8 needs a calibration cache: {}; set [property] int8-calib-file or pass "
                          "--calib-cache (dashcam calibrate makes one), or --calib-images DIR".format(
                              f"{calib_cache} not found" if calib_cache else "none given"))
    return requested, f"{requested.upper()} as configured"


def choose_path(settings, name):
    """``(engine path, note)``: ``model-engine-file`` unless it is a foreign engine (no sidecar)."""
    cached = os.path.join(settings.engine_dir, name)
    explicit = settings.engine_file
    if not explicit:
        return cached, ""
    if os.path.exists(explicit) and sidecar.read_sidecar(explicit) is None:
        return cached, "{} has no dashcam sidecar (built elsewhere, e.g. by DeepStream): left as it " \
                       "is; ".format(explicit)
    return explicit, ""


def decide(path, exists, found, wanted):
    """``("load" | "build", reason)`` for the engine at ``path`` and its sidecar ``found``."""
    if not exists:
        return "build", f"no engine at {path} yet"
    if found is None:
        return "build", f"{path} has no sidecar: not loaded blindly"
    why = sidecar.mismatch(found, wanted)
    if why:
        return "build", f"{path}: {why}"
    return "load", "{} matches (TensorRT {}, {}, {})".format(path, found["tensorrt"], found["device"],
                                                               found["precision"])


def ensure_engine(settings, accelerator, say=log.warning, keep_alive=None):
    """An ``EnginePlan`` for an engine that now exists and matches: loaded, or built once here
    (``keep_alive``: called while it builds, see ``build.BuildProgress``)."""
    precision, why = resolve_precision(settings.precision, accelerator.board,
                                       settings.calib_cache,
                                       implicit=adapter_for(accelerator.trt).implicit_precision)
    device = device_label(settings.dla_core)
    path, note = choose_path(settings, sidecar.engine_name(settings.onnx, precision, device))
    calib = settings.calib_cache if precision == "int8" else None
    wanted = sidecar.expected(sidecar.file_sha256(settings.onnx), precision, accelerator.version,
                              device, accelerator.device_model, calib and sidecar.file_sha256(calib))
    action, reason = decide(path, os.path.exists(path), sidecar.read_sidecar(path), wanted)
    if action == "build":
        folder = os.path.dirname(os.path.abspath(path))
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
            writable = os.access(folder, os.W_OK)
        except OSError:
            writable = False
        if not writable:
            raise EngineError("cannot write engines to {}: set [model] engine-dir (or "
                              "model-engine-file) to a writable folder".format(folder))
        say(f"TensorRT engine: {reason}; building it once")
        build_engine(accelerator.trt, accelerator.cuda, settings.onnx, path, precision,
                     accelerator.device_model, settings.dla_core, settings.workspace_mb,
                     calib_cache=calib, say=say, keep_alive=keep_alive)
    return EnginePlan(path, precision, action, f"{note}{why}; {reason}")
