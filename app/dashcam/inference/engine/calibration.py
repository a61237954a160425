"""INT8 calibration: TensorRT's entropy calibrator and its cache in TAO's text format.

The cache is what TensorRT writes and TAO ships (NVIDIA's ``dashcamnet_int8.txt``):
a first line ``TRT-<version>-EntropyCalibration2``, then one line per tensor,
``<tensor>: <hex of the float32 scale>``. Tensor names may contain colons
(``input_1:0``), so a line splits at its last ``": "``; hex is written as
TensorRT writes it, lowercase without leading zeros, and ``0`` for a tensor
calibration left unused. The calibrator feeds frames made by the run-time
``Preprocessor`` (the caller passes them), one per batch, through one device
buffer allocated once.
"""

import re
import struct
from collections import OrderedDict, namedtuple

import numpy as np

from dashcam.errors import EngineError
from dashcam.inference.engine.sidecar import write_atomically

HEADER = re.compile(r"^TRT-\d+-[A-Za-z0-9]+$")


class CalibrationCache(namedtuple("CalibrationCache", "header scales")):
    """``header`` (``TRT-8601-EntropyCalibration2``), ``scales``: tensor name -> float32 scale."""

    __slots__ = ()


def hex_to_scale(text):
    return struct.unpack(">f", struct.pack(">I", int(text, 16)))[0]


def scale_to_hex(scale):
    return "{:x}".format(struct.unpack(">I", struct.pack(">f", scale))[0])


def parse_cache(text, origin="calibration cache"):
    """A ``CalibrationCache`` from TensorRT's text, or EngineError naming the bad line."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not HEADER.match(lines[0].strip()):
        raise EngineError("{}: the first line must be like TRT-8601-EntropyCalibration2 "
                          "(TensorRT's calibration cache format), got {!r}".format(
                              origin, lines[0][:60] if lines else ""))
    scales = OrderedDict()
    for number, line in enumerate(lines[1:], start=2):
        name, _, value = line.rpartition(": ")
        try:
            if not name or len(value.strip()) > 8:
                raise ValueError(value)
            scales[name.strip()] = hex_to_scale(value.strip())
        except ValueError:
            raise EngineError("{} line {}: {!r} is not '<tensor>: <hex float32 scale>'".format(
                origin, number, line[:80]))
    return CalibrationCache(lines[0].strip(), scales)


def format_cache(cache):
    """TensorRT's text for ``cache`` (``parse_cache`` reads it back to the same values)."""
    lines = [cache.header] + [f"{name}: {scale_to_hex(scale)}"
                              for name, scale in cache.scales.items()]
    return "\n".join(lines) + "\n"


def read_cache(path):
    """The cache at ``path`` as ``(raw bytes, CalibrationCache)``; EngineError if unreadable."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise EngineError(f"cannot read calibration cache {path}: {error.strerror or error}")
    return raw, parse_cache(raw.decode("utf-8", "replace"), path)


def entropy_calibrator(trt_module, cuda, input_shape, frames=(), cache_in=None, cache_out=None):
    """TensorRT's ``IInt8EntropyCalibrator2`` over ``frames`` (NCHW float32 arrays, batch 1).

    ``cache_in``: a cache to give TensorRT (then it asks for no frames);
    ``cache_out``: where to write the cache TensorRT makes, in its text format,
    after checking it parses. ``batches`` counts the frames TensorRT took.

    No exception may leave a callback: TensorRT calls them from C++ ``noexcept``
    methods, where 8.0 and 8.2 abort the process on one and 8.4 and later print
    it and take it for the end of the frames (python/src/infer/pyInt8.cpp of each
    release). The first error is kept in ``error`` instead, the callbacks answer
    "no more", and ``raise_error()`` raises it once the build has returned.
    """
    base = trt_module.IInt8EntropyCalibrator2
    nbytes = int(np.prod(input_shape)) * 4

    class EntropyCalibrator(base):
        def __init__(self):
            base.__init__(self)
            self.frames = iter(frames)
            self.batches = 0
            self.error = None
            with cuda.active():
                self.device = cuda.alloc(nbytes)

        def get_batch_size(self):
            return 1

        def get_batch(self, names, *unused):
            if self.error is not None:
                return None
            try:
                blob = next(self.frames, None)
                if blob is None:
                    return None
                if blob.shape != tuple(input_shape) or blob.dtype != np.float32:
                    raise EngineError("calibration frame {} {} does not fit the input {}".format(
                        blob.shape, blob.dtype, tuple(input_shape)))
                with cuda.active():
                    cuda.to_device(self.device, np.ascontiguousarray(blob))
            except Exception as error:   # a frame that cannot be read or copied
                self.error = error
                return None
            self.batches += 1
            return [int(self.device)]

        def read_calibration_cache(self):
            try:
                return read_cache(cache_in)[0] if cache_in else None
            except Exception as error:
                self.error = error
                return None

        def write_calibration_cache(self, cache):
            if not cache_out or self.error is not None:
                return
            try:
                parsed = parse_cache(bytes(cache).decode("utf-8", "replace"), "TensorRT's cache")
                write_atomically(cache_out, format_cache(parsed).encode("utf-8"))
            except OSError as error:
                self.error = EngineError("cannot write the calibration cache {}: {}".format(
                    cache_out, error.strerror or error))
            except Exception as error:
                self.error = error

        def raise_error(self):
            """Raise the error a callback kept, as an ``EngineError``; nothing when none did."""
            if isinstance(self.error, EngineError):
                raise self.error
            if self.error is not None:
                raise EngineError("INT8 calibration failed: {}: {}".format(
                    type(self.error).__name__, self.error))

        def free(self):
            with cuda.active():
                cuda.free(buffers=[self.device])

    return EntropyCalibrator()
