"""TEST DOUBLES of TensorRT's Python API and of pycuda's driver: neither can run on these
machines (no GPU; TensorRT's libraries download from NVIDIA's own index). Real TensorRT
and CUDA are exercised by ``bench/gpu_check`` on a machine that has them.

``tensorrt_module(version, gpu)`` is a stand-in ``tensorrt`` module whose names are exactly
those that ``tests/tensorrt_surface.tsv`` marks present in that version (the table is made
from NVIDIA's documentation, the compiled 8.6.1 module and the TensorRT 10 stubs; see its
header), so code that calls a name this version lacks fails with AttributeError as it
would on the device. What it is not: its "engines" are the ONNX file behind a small
header, and executing one runs ONNX Runtime on the bytes at the bound device addresses,
so outputs are the network's real outputs but precision flags change nothing; its INT8
"calibration" asks the calibrator for batches as TensorRT does (the cache first, then
``get_batch`` until None, then ``write_calibration_cache``) and writes max|x|/127 of the
input as its one scale, a stand-in for TensorRT's entropy calibration. An exception that
leaves a calibrator callback does what the version's bindings do with it (``CALLBACKS_ABORT``).
Builders, runtimes and parsers record the logger they were given (``gpu.loggers``); a
runtime's ``DLA_core`` decides the core a DLA engine runs on (``engine.dla_core``).

The device it runs on is ``cuda_double.Gpu`` (a stand-in pycuda driver).
"""

import json
import os
import sys
import types

import numpy as np
import onnx
import onnxruntime

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorrt_surface.tsv")
MAGIC = b"DOUBLE-PLAN\n"
# TensorRT calls the Python calibrator from C++ noexcept methods. 8.0 and 8.2 have no try there:
# an exception ends in std::terminate, the process aborts. 8.4 and later catch it, print
# "[ERROR] Exception caught in get_batch(): ..." and go on as if the callback had answered
# None/False (python/src/infer/pyInt8.cpp on NVIDIA/TensorRT release/8.0, 8.2 vs 8.4 ... 10.x).
CALLBACKS_ABORT = ("8.0", "8.2")


class CallbackAbort(BaseException):
    """Where the process would abort: an exception left a calibrator callback (TensorRT 8.0/8.2)."""


def surface(version):
    """``{symbol: present?}`` for ``version`` (a column of the table; "?" counts as absent)."""
    rows = [l.split("\t") for l in open(TABLE).read().splitlines() if l and not l.startswith("#")]
    column = rows[0].index(version)
    return {row[0]: row[column] == "y" for row in rows[1:]}


class Enum:
    def __init__(self, **members):
        for name, value in members.items():
            setattr(self, name, value)


def _onnx_io(data):
    """``[(name, shape with -1 for symbolic dims, is_input)]`` of an ONNX model."""
    graph = onnx.load_model_from_string(data).graph
    initializers = {i.name for i in graph.initializer}

    def dims(value):
        return tuple(d.dim_value if d.HasField("dim_value") else -1
                     for d in value.type.tensor_type.shape.dim)
    return ([(v.name, dims(v), True) for v in graph.input if v.name not in initializers] +
            [(v.name, dims(v), False) for v in graph.output])


def tensorrt_module(version, gpu):
    """A stand-in ``tensorrt`` module for ``version`` ("8.2", "10", ...) on ``gpu``."""
    have = surface(version)
    full_version = {"10": "10.3.0", "11": "11.0.0"}.get(version, version + ".1")
    data_type = Enum(FLOAT="float32", HALF="float16")
    flags = Enum(FP16="FP16", INT8="INT8", GPU_FALLBACK="GPU_FALLBACK")
    io_mode = Enum(INPUT="INPUT", OUTPUT="OUTPUT")

    class Logger:
        WARNING = "WARNING"

        def __init__(self, severity="WARNING"):
            self.severity = severity

    class ITensor:
        def __init__(self, name, shape):
            self.__dict__.update(name=name, shape=shape)

    class INetworkDefinition:
        def __init__(self, flags):
            self.explicit_batch, self.onnx = bool(flags & 1), None

        @property
        def num_inputs(self):
            return sum(1 for io in _onnx_io(self.onnx) if io[2])

        def get_input(self, index):
            name, shape, _ = [io for io in _onnx_io(self.onnx) if io[2]][index]
            return ITensor(name, shape)

    class OnnxParser:
        def __init__(self, network, logger):
            self.network, self.errors = network, []
            gpu.loggers.append(logger)

        def parse(self, data):
            if version != "11" and version != "10" and not self.network.explicit_batch:
                self.errors.append("Network must have explicit batch dimension")  # TensorRT 8's parser
                return False
            try:
                onnx.load_model_from_string(data)
            except Exception as error:
                self.errors.append(f"ModelImporter: failed to parse the model: {error}")
                return False
            self.network.onnx = data
            return True

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, index):
            return self.errors[index]

    class IOptimizationProfile:
        def set_shape(self, name, low, opt, high):
            self.shape = (name, tuple(low), tuple(opt), tuple(high))

    class IBuilderConfig:
        def __init__(self):
            self.flags, self.profiles, self.pool, self.calibration_profile = set(), [], None, None
            # set past the class so that a member this version lacks stays unreadable
            self.__dict__.update(max_workspace_size=0, int8_calibrator=None,
                                 default_device_type="GPU", DLA_core=-1)

        def set_flag(self, flag):
            self.flags.add(flag)

        def set_memory_pool_limit(self, pool, size):
            self.pool = (pool, size)

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)

        def set_calibration_profile(self, profile):
            self.calibration_profile = profile

    class Builder:
        num_DLA_cores = gpu.dla_cores
        platform_has_fast_int8 = gpu.fast_int8

        def __init__(self, logger):
            gpu.need_context()
            gpu.loggers.append(logger)
            self.built = []

        def create_network(self, flags=0):
            return INetworkDefinition(flags)

        def create_builder_config(self):
            return IBuilderConfig()

        def create_optimization_profile(self):
            return IOptimizationProfile()

        def build_serialized_network(self, network, config):
            gpu.need_context()
            inputs = [io for io in _onnx_io(network.onnx) if io[2]]
            if any(d < 1 for io in inputs for d in io[1]) and not config.profiles:
                return None   # "Network has dynamic or shape inputs, but no optimization profile"
            if config.default_device_type == "DLA" and not 0 <= config.DLA_core < gpu.dla_cores:
                return None
            if "INT8" in config.flags and not self._calibrate(config.int8_calibrator, inputs[0]):
                return None
            header = {"tensorrt": full_version, "flags": sorted(config.flags),
                      "dla_core": config.DLA_core if config.default_device_type == "DLA" else None}
            self.built.append(header)
            return MAGIC + json.dumps(header).encode() + b"\n" + network.onnx

        @staticmethod
        def _calibrate(calibrator, tensor):
            if calibrator is None:
                return False

            def call(name, *args):
                try:
                    return getattr(calibrator, name)(*args)
                except Exception as error:
                    if version in CALLBACKS_ABORT:
                        raise CallbackAbort("terminate called after throwing an instance of "
                                            f"'pybind11::error_already_set' in {name}(): {error}")
                    sys.stderr.write(f"[ERROR] Exception caught in {name}(): {error}\n")
                    return None

            if call("read_calibration_cache"):
                return True
            assert call("get_batch_size") == 1
            name, shape = tensor[0], (1,) + tuple(tensor[1][1:])
            peak, batches = 0.0, 0
            while True:
                addresses = call("get_batch", [name])
                if not addresses:
                    break
                blob = gpu.read(addresses[0], np.float32, shape)
                gpu.calibration_batches.append(blob)
                peak, batches = max(peak, float(np.abs(blob).max())), batches + 1
            if not batches:
                return False
            scale = np.float32(peak / 127.0).view(np.uint32)
            call("write_calibration_cache",
                 "TRT-{}-EntropyCalibration2\n{}: {:x}\n".format(full_version.replace(".", "") + "0",
                                                                name, int(scale)).encode())
            return True

    class IExecutionContext:
        def __init__(self, engine):
            self.engine, self.addresses, self.shapes = engine, {}, {}

        def set_tensor_address(self, name, address):
            self.addresses[name] = int(address)
            return True

        def set_input_shape(self, name, shape):
            self.shapes[name] = tuple(shape)
            return True

        def set_binding_shape(self, index, shape):
            self.shapes[self.engine.io[index][0]] = tuple(shape)
            return True

        def execute_async_v3(self, stream_handle):
            return self._run([self.addresses.get(io[0]) for io in self.engine.io])

        def execute_async_v2(self, bindings, stream_handle):
            return self._run(list(bindings))

        def _run(self, addresses):
            gpu.need_context()
            if len(addresses) != len(self.engine.io) or None in addresses:
                raise RuntimeError("not every tensor has an address")
            feeds = {}
            for (name, shape, is_input), address in zip(self.engine.io, addresses):
                if is_input:
                    shape = self.shapes.get(name, shape)
                    if any(d < 1 for d in shape):
                        raise RuntimeError(f"input {name} has a dynamic shape that was never set")
                    feeds[name] = gpu.read(address, np.float32, shape)
            names = [io[0] for io in self.engine.io if not io[2]]
            for name, value in zip(names, self.engine.session.run(names, feeds)):
                gpu.write(addresses[[io[0] for io in self.engine.io].index(name)], value)
            gpu.executions += 1
            return True

    class ICudaEngine:
        def __init__(self, model, dla_core=None):
            self.dla_core = dla_core   # the core its DLA layers run on (None: a GPU engine)
            self.io = _onnx_io(model)
            self.session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
            self.__dict__.update(num_io_tensors=len(self.io), num_bindings=len(self.io))

        def get_tensor_name(self, index):
            return self.io[index][0]

        def _named(self, name):
            return next(io for io in self.io if io[0] == name)

        def get_tensor_shape(self, name):
            return Dims(self._named(name)[1])

        def get_tensor_dtype(self, name):
            return data_type.FLOAT

        def get_tensor_mode(self, name):
            return io_mode.INPUT if self._named(name)[2] else io_mode.OUTPUT

        def get_binding_name(self, index):
            return self.io[index][0]

        def get_binding_shape(self, index):
            return Dims(self.io[index][1])

        def get_binding_dtype(self, index):
            return data_type.FLOAT

        def binding_is_input(self, index):
            return self.io[index][2]

        def create_execution_context(self):
            return IExecutionContext(self)

    class Runtime:
        def __init__(self, logger):
            gpu.need_context()
            gpu.loggers.append(logger)
            self.__dict__.update(DLA_core=-1)   # TensorRT 8's default: no core chosen

        def deserialize_cuda_engine(self, plan):
            plan = bytes(plan)
            if not plan.startswith(MAGIC):
                return None
            header, model = plan[len(MAGIC):].split(b"\n", 1)
            header = json.loads(header.decode())
            if header["tensorrt"] != full_version:
                return None   # TensorRT refuses plans from another version
            if header["dla_core"] is None:
                return ICudaEngine(model)
            # IRuntime::setDLACore picks the core ("does nothing" where there is no DLA);
            # left unset, the engine runs on core 0, whatever core it was built for
            core = self.DLA_core if gpu.dla_cores and self.DLA_core >= 0 else 0
            return ICudaEngine(model, core) if core < gpu.dla_cores else None

    class IInt8EntropyCalibrator2:
        def __init__(self):
            pass

    class Dims(tuple):
        def __new__(cls, shape=()):
            return tuple.__new__(cls, shape)

    gpu.calibration_batches, gpu.executions, gpu.loggers = [], 0, []
    names = dict(Logger=Logger, Builder=Builder, Runtime=Runtime, OnnxParser=OnnxParser,
                 IInt8EntropyCalibrator2=IInt8EntropyCalibrator2, Dims=Dims,
                 nptype=lambda dtype: np.dtype(dtype).type, DataType=data_type, BuilderFlag=flags,
                 TensorIOMode=io_mode, MemoryPoolType=Enum(WORKSPACE="WORKSPACE"),
                 DeviceType=Enum(GPU="GPU", DLA="DLA"),
                 NetworkDefinitionCreationFlag=Enum(EXPLICIT_BATCH=0),
                 ICudaEngine=ICudaEngine, IExecutionContext=IExecutionContext,
                 IBuilderConfig=IBuilderConfig, INetworkDefinition=INetworkDefinition,
                 ITensor=ITensor, IOptimizationProfile=IOptimizationProfile)
    return _strip(types.ModuleType("tensorrt"), names, have, full_version)


class _Absent:
    """A name this TensorRT version does not have: reading it fails, as on the device."""

    def __init__(self, symbol):
        self.symbol = symbol

    def __get__(self, instance, owner):
        raise AttributeError(f"{self.symbol} does not exist in this TensorRT version (test double)")

    def __set__(self, instance, value):
        self.__get__(instance, type(instance))


def _strip(module, names, have, full_version):
    """Put ``names`` on ``module``, hiding every class member and module name the table marks absent."""
    module.__version__ = full_version
    for name, value in names.items():
        if not have.get(name, True):
            continue
        setattr(module, name, value)
    for symbol, present in have.items():
        owner, _, member = symbol.rpartition(".")
        if not owner or present or owner not in names:
            continue
        target = names[owner]
        if isinstance(target, type):
            setattr(target, member, _Absent(symbol))
        else:
            target.__dict__.pop(member, None)
    for symbol, present in have.items():
        if "." not in symbol and not present and hasattr(module, symbol):
            delattr(module, symbol)
    return module
