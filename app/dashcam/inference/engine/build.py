"""Building a TensorRT engine from the ONNX file on this device: FP32, FP16, INT8, GPU or DLA.

OnnxParser into an explicit-batch network, a fixed 1 x C x H x W profile when
the batch is dynamic (TAO exports), the precision flags, the INT8 entropy
calibrator, the DLA core with GPU fallback, ``build_serialized_network``.
It takes minutes on a Nano: a ``BuildProgress`` worker says so every
``interval`` seconds while TensorRT works.
"""

import logging
import time
from collections import namedtuple
from typing import TYPE_CHECKING

from dashcam import __version__
from dashcam.errors import EngineError
from dashcam.inference.backends.tensorrt_api import adapter_for, logger_for, shape_of
from dashcam.inference.engine import sidecar
from dashcam.inference.engine.calibration import entropy_calibrator, read_cache
from dashcam.inference.engine.device import device_label
from dashcam.timestamps import iso_utc
from dashcam.worker import Worker

if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple  # noqa: F401 (for the type comments)

    import tensorrt as trt  # noqa: F401

    from dashcam.inference.backends.tensorrt_api import TensorRTApi  # noqa: F401

log = logging.getLogger(__name__)


class BuildProgress(Worker):
    """Writes ``building ... N s`` through ``say`` every ``interval`` seconds until stopped,
    and calls ``keep_alive()`` (if given) at once and with each line: under systemd it asks
    for more start-up time while the build works (``service.notify.StartExtender``)."""

    name = "engine-build-progress"

    def __init__(self, what, say, interval=15.0, clock=time.monotonic, keep_alive=None):
        super().__init__()
        self.what, self.say, self.interval, self.clock = what, say, interval, clock
        self.keep_alive = keep_alive or (lambda: None)

    def run(self):
        started = self.clock()
        self.keep_alive()
        while not self.stop_event.wait(self.interval):
            self.keep_alive()
            self.say("building {}: {:.0f} s so far (minutes on a Jetson Nano)".format(
                self.what, self.clock() - started))


def parse_onnx(trt_module, api, builder, logger, onnx_path):
    # type: (Any, TensorRTApi, trt.Builder, Any, str) -> Tuple[trt.INetworkDefinition, trt.OnnxParser]
    """The parsed network, and its parser (which owns the weights until the build ends)."""
    network = builder.create_network(api.network_flags(trt_module))
    parser = trt_module.OnnxParser(network, logger)
    with open(onnx_path, "rb") as handle:
        ok = parser.parse(handle.read())
    if not ok:
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EngineError("{}: TensorRT's ONNX parser refused it: {}".format(
            onnx_path, errors[0].splitlines()[0] if errors else "no reason given"))
    return network, parser


def input_shape(network):
    # type: (trt.INetworkDefinition) -> Tuple[str, Tuple[int, ...], bool]
    """``(name, (1, C, H, W), dynamic batch?)``; EngineError when C, H or W is dynamic."""
    tensor = network.get_input(0)
    shape = shape_of(tensor.shape)
    if len(shape) != 4 or any(d < 1 for d in shape[1:]):
        raise EngineError("input {} has shape {}: dashcam builds N x C x H x W inputs with fixed "
                          "C, H and W".format(tensor.name, list(shape)))
    return tensor.name, (1,) + shape[1:], shape[0] < 1


def configure(trt_module, api, builder, config, precision, dla_core, workspace_mb):
    # type: (Any, TensorRTApi, trt.Builder, trt.IBuilderConfig, str, Optional[int], int) -> None
    api.require_implicit_precision(precision)
    api.set_workspace(trt_module, config, workspace_mb << 20)
    if precision in ("fp16", "int8"):
        config.set_flag(trt_module.BuilderFlag.FP16)   # INT8 engines fall back to FP16, as TAO's
    if precision == "int8":
        if not getattr(builder, "platform_has_fast_int8", True):
            raise EngineError("this GPU has no fast INT8 (a Jetson Nano or TX2): use --precision fp16")
        config.set_flag(trt_module.BuilderFlag.INT8)
    if dla_core is not None:
        cores = builder.num_DLA_cores
        if dla_core >= cores:
            raise EngineError("no DLA core {} here (this device has {}): drop --dla-core, or use "
                              "0..{}".format(dla_core, cores, cores - 1) if cores else
                              "no DLA core {} here (this device has none: DLA is on Xavier and "
                              "AGX/NX Orin): drop --dla-core".format(dla_core))
        if precision == "fp32":
            raise EngineError("DLA runs FP16 or INT8 only: use --precision fp16 or int8")
        config.default_device_type = trt_module.DeviceType.DLA
        config.DLA_core = dla_core
        config.set_flag(trt_module.BuilderFlag.GPU_FALLBACK)


BuildResult = namedtuple("BuildResult", "sidecar calibration_batches")


def build_engine(trt_module, cuda, onnx_path, engine_path, precision, device_model, dla_core=None,
                 workspace_mb=512, calib_cache=None, calib_frames=None, calib_out=None, say=log.info,
                 keep_alive=None):
    # type: (Any, Any, str, Optional[str], str, str, Optional[int], int, Optional[str], Any, Optional[str], Callable[[str], None], Optional[Callable[[], Any]]) -> BuildResult
    """Build; write the engine and its sidecar unless ``engine_path`` is None (``dashcam calibrate``).

    INT8 reads the cache ``calib_cache`` if given, else calibrates on
    ``calib_frames(input_shape)`` (preprocessed NCHW blobs) and writes the cache
    TensorRT makes to ``calib_out``; an error while calibrating (a frame that
    does not fit, a cache that cannot be written) is raised once the build returns.
    ``keep_alive``: see ``BuildProgress``.
    """
    api = adapter_for(trt_module)
    if precision == "int8":
        if calib_cache:
            read_cache(calib_cache)   # a missing or malformed cache fails here, in one line
        elif calib_frames is None:
            raise EngineError("INT8 needs a calibration cache or frames to calibrate on")
    logger = logger_for(trt_module)
    started = time.monotonic()
    calibrator = None
    with cuda.active():
        builder = trt_module.Builder(logger)
        network, parser = parse_onnx(trt_module, api, builder, logger, onnx_path)
        name, shape, dynamic = input_shape(network)
        config = builder.create_builder_config()
        configure(trt_module, api, builder, config, precision, dla_core, workspace_mb)
        if dynamic:   # TAO exports: batch -1, built for batch 1 only
            profile = builder.create_optimization_profile()
            dims = trt_module.Dims(list(shape))
            profile.set_shape(name, dims, dims, dims)
            config.add_optimization_profile(profile)
            if precision == "int8":
                config.set_calibration_profile(profile)
        if precision == "int8":
            calibrator = entropy_calibrator(trt_module, cuda, shape,
                                            calib_frames(shape) if calib_frames else (),
                                            cache_in=calib_cache, cache_out=calib_out)
            config.int8_calibrator = calibrator
        what = f"{precision.upper()} {device_label(dla_core)} engine for {onnx_path}"
        say(f"building the {what} with TensorRT {trt_module.__version__}: this takes a while")
        progress = BuildProgress(what, say, keep_alive=keep_alive).start()
        try:
            plan = builder.build_serialized_network(network, config)
        finally:
            progress.stop(1.0)
            if calibrator is not None:
                calibrator.free()
        del parser
    batches = calibrator.batches if calibrator is not None else 0
    if calibrator is not None:
        calibrator.raise_error()
    if plan is None:
        raise EngineError(f"TensorRT could not build the {what} (its log above says why)")
    if engine_path is None:
        return BuildResult(None, batches)
    calib_sha256 = sidecar.file_sha256(calib_out or calib_cache) if precision == "int8" else None
    record = sidecar.expected(sidecar.file_sha256(onnx_path), precision, trt_module.__version__,
                              device_label(dla_core), device_model, calib_sha256)
    record.update(onnx=onnx_path, input=[name] + list(shape), batch=1, workspace_mb=workspace_mb,
                  built_at=iso_utc(time.time()), build_s=round(time.monotonic() - started, 1),
                  dashcam=__version__, io=api.io.name)
    sidecar.write_engine(engine_path, plan, record)
    say("wrote {} ({:.0f} s)".format(engine_path, record["build_s"]))
    return BuildResult(record, batches)
