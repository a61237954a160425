"""CUDA memory, streams and copies for the TensorRT backend: pycuda, else cuda-python.

pycuda is what JetPack users install (it compiles against JetPack's CUDA);
cuda-python (``cuda.bindings.runtime``, or ``cuda.cudart`` before 12.6) is
NVIDIA's own binding and a wheel on PCs. Both work on the device's primary
context, the one TensorRT uses, and ``active()`` makes it current in the
calling thread (the backend is built in one thread and runs in the inference
worker's). Everything here is allocated once; nothing per frame.
"""

import contextlib
import ctypes
import importlib
import time

import numpy as np

from dashcam.errors import EngineError

def open_cuda(import_module=importlib.import_module):
    """A ``PycudaMemory`` or ``CudaPythonMemory``; EngineError when neither can reach a GPU."""
    reasons = []
    try:
        return PycudaMemory(import_module("pycuda.driver"))
    except ImportError as error:
        reasons.append(f"pycuda: {error}")
    except Exception as error:  # pycuda raises its own LogicError/RuntimeError without a GPU
        reasons.append(f"pycuda: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
    for name in ("cuda.bindings.runtime", "cuda.cudart"):
        try:
            return CudaPythonMemory(import_module(name))
        except ImportError as error:
            reasons.append(f"{name}: {error}")
        except EngineError as error:
            reasons.append(f"{name}: {error}")
            break
    raise EngineError("no CUDA GPU reachable ({})".format("; ".join(reasons)))


def round_trip(cuda, shape=(1, 3, 544, 960), repeats=1):
    """``(equal, seconds)``: ``repeats`` copies of a page-locked float32 array of ``shape``
    host -> device -> host on one stream, whether it came back unchanged, and the time of
    one trip: a check that this process reaches the GPU (``bench/gpu_check``, the field check)."""
    with cuda.active():
        host = cuda.pagelocked(shape, np.float32)
        back = cuda.pagelocked(shape, np.float32)
        device = cuda.alloc(host.nbytes)
        stream = cuda.stream()
        host[...] = np.random.RandomState(0).rand(*shape)
        started = time.perf_counter()
        for _ in range(repeats):
            cuda.to_device(device, host, stream)
            cuda.to_host(back, device, stream)
        cuda.synchronize(stream)
        seconds = (time.perf_counter() - started) / repeats
        equal = bool(np.array_equal(host, back))   # before the free: the arrays view that memory
        cuda.free(buffers=[device], host=[host, back], streams=[stream])
    return equal, seconds


class PycudaMemory:
    """pycuda on device 0's primary context (retained once, pushed around each use)."""

    name = "pycuda"

    def __init__(self, driver):
        driver.init()
        if driver.Device.count() < 1:
            raise EngineError("CUDA reports no GPU")
        self.driver = driver
        self.device = driver.Device(0)
        self.context = self.device.retain_primary_context()

    def device_name(self):
        return self.device.name()

    @contextlib.contextmanager
    def active(self):
        self.context.push()
        try:
            yield
        finally:
            self.context.pop()

    def pagelocked(self, shape, dtype):
        return self.driver.pagelocked_empty(tuple(shape), dtype)

    def alloc(self, nbytes):
        """Device memory; ``int(buffer)`` is its address."""
        return self.driver.mem_alloc(nbytes)

    def stream(self):
        return self.driver.Stream()

    @staticmethod
    def handle(stream):
        return stream.handle

    def to_device(self, device, host, stream=None):
        if stream is None:
            self.driver.memcpy_htod(device, host)
        else:
            self.driver.memcpy_htod_async(device, host, stream)

    def to_host(self, host, device, stream):
        self.driver.memcpy_dtoh_async(host, device, stream)

    @staticmethod
    def synchronize(stream):
        stream.synchronize()

    def free(self, buffers=(), host=(), streams=()):
        for buffer in buffers:
            buffer.free()
        for array in host:
            array.base.free()
        del streams  # pycuda streams are released with their last reference


class CudaPythonMemory:
    """cuda-python's runtime API (``cudart``): plain integer addresses and stream handles."""

    name = "cuda-python"

    def __init__(self, cudart):
        self.cudart = cudart
        count = self._call(cudart.cudaGetDeviceCount)
        if count < 1:
            raise EngineError("CUDA reports no GPU")
        self._call(cudart.cudaSetDevice, 0)
        self._host = {}   # id(array) -> address, to free page-locked memory

    def _call(self, function, *args):
        result = function(*args)
        error, values = result[0], result[1:]
        if error != self.cudart.cudaError_t.cudaSuccess:
            message = self.cudart.cudaGetErrorString(error)[1]
            raise EngineError("CUDA {}: {}".format(function.__name__, message.decode()
                                                   if isinstance(message, bytes) else message))
        return values[0] if len(values) == 1 else values or None

    def device_name(self):
        name = self._call(self.cudart.cudaGetDeviceProperties, 0).name
        return (name.decode() if isinstance(name, bytes) else str(name)).rstrip("\0")

    @contextlib.contextmanager
    def active(self):
        self._call(self.cudart.cudaSetDevice, 0)   # the runtime API binds the primary context
        yield

    def pagelocked(self, shape, dtype):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        address = self._call(self.cudart.cudaMallocHost, nbytes)
        array = np.frombuffer((ctypes.c_byte * nbytes).from_address(int(address)), dtype).reshape(shape)
        self._host[id(array)] = address
        return array

    def alloc(self, nbytes):
        return int(self._call(self.cudart.cudaMalloc, nbytes))

    def stream(self):
        return self._call(self.cudart.cudaStreamCreate)

    @staticmethod
    def handle(stream):
        return int(stream)

    def _copy(self, destination, source, nbytes, kind, stream):
        kinds = self.cudart.cudaMemcpyKind
        if stream is None:
            self._call(self.cudart.cudaMemcpy, destination, source, nbytes, getattr(kinds, kind))
        else:
            self._call(self.cudart.cudaMemcpyAsync, destination, source, nbytes,
                       getattr(kinds, kind), stream)

    def to_device(self, device, host, stream=None):
        self._copy(int(device), host.ctypes.data, host.nbytes, "cudaMemcpyHostToDevice", stream)

    def to_host(self, host, device, stream):
        self._copy(host.ctypes.data, int(device), host.nbytes, "cudaMemcpyDeviceToHost", stream)

    def synchronize(self, stream):
        self._call(self.cudart.cudaStreamSynchronize, stream)

    def free(self, buffers=(), host=(), streams=()):
        for buffer in buffers:
            self._call(self.cudart.cudaFree, buffer)
        for array in host:
            self._call(self.cudart.cudaFreeHost, self._host.pop(id(array)))
        for stream in streams:
            self._call(self.cudart.cudaStreamDestroy, stream)
