"""TEST DOUBLES of pycuda's driver and cuda-python's runtime (no GPU on these machines):
``bench/gpu_check`` runs the real ones.

``Gpu`` is one fake device, shared with the TensorRT double (``tensorrt_double``): its
``driver`` has pycuda's names and its ``cudart`` cuda-python's (the calls dashcam makes,
with their ``(error, value)`` returns); device memory is host bytes at fake addresses,
page-locked host memory is real memory at real addresses (cuda-python hands out raw
pointers), each thread has its own context stack (a copy outside a current context fails,
as on a device: pycuda pushes one, the runtime API's ``cudaSetDevice`` makes the primary
one current), and it counts allocations so tests can check none happens per frame.
"""

import ctypes
import threading
import types

import numpy as np


class Gpu:
    """One fake device: memory by address, streams, contexts, and what was allocated when."""

    def __init__(self, name="Double GPU", dla_cores=0, fast_int8=True):
        self.name, self.dla_cores, self.fast_int8 = name, dla_cores, fast_int8
        self.memory = {}
        self.allocations = 0
        self.next_address = 0x10000
        self.local = threading.local()
        self.driver = self._driver()
        self.cudart = self._cudart()

    def active(self):
        return bool(getattr(self.local, "stack", None))

    def need_context(self):
        if not self.active():
            raise RuntimeError("cuMemcpy failed: invalid device context (no context in this thread)")

    def alloc(self, nbytes):
        self.allocations += 1
        address = self.next_address
        self.next_address += (nbytes + 0xFFF) & ~0xFFF
        self.memory[address] = np.zeros(nbytes, np.uint8)
        return address

    def write(self, address, array):
        self.need_context()
        self.memory[int(address)][:array.nbytes] = np.ascontiguousarray(array).view(np.uint8).ravel()

    def read(self, address, dtype, shape):
        self.need_context()
        count = int(np.prod(shape))
        return self.memory[int(address)].view(dtype)[:count].reshape(shape).copy()

    def _driver(self):
        gpu = self

        class Context:
            def push(self):
                gpu.local.stack = getattr(gpu.local, "stack", []) + [self]

            def pop(self):
                gpu.local.stack.pop()

        class Device:
            @staticmethod
            def count():
                return 1

            def __init__(self, index):
                self.index = index

            def name(self):
                return gpu.name

            def retain_primary_context(self):
                return Context()

        class DeviceAllocation:
            def __init__(self, nbytes):
                gpu.need_context()
                self.address = gpu.alloc(nbytes)

            def __int__(self):
                return self.address

            def free(self):
                del gpu.memory[self.address]

        class HostAllocation(bytearray):
            def free(self):
                self.freed = True

        class Stream:
            handle = 7

            def __init__(self):
                gpu.need_context()

            def synchronize(self):
                gpu.need_context()

        def pagelocked_empty(shape, dtype):
            gpu.need_context()
            gpu.allocations += 1
            dtype = np.dtype(dtype)
            return np.ndarray(shape, dtype, buffer=HostAllocation(int(np.prod(shape)) * dtype.itemsize))

        def memcpy_htod(device, host, stream=None):
            gpu.write(device, host)

        def memcpy_dtoh_async(host, device, stream):
            host[...] = gpu.read(device, host.dtype, host.shape)

        return types.SimpleNamespace(init=lambda: None, Device=Device, mem_alloc=DeviceAllocation,
                                     pagelocked_empty=pagelocked_empty, Stream=Stream,
                                     memcpy_htod=memcpy_htod, memcpy_htod_async=memcpy_htod,
                                     memcpy_dtoh_async=memcpy_dtoh_async)

    def _cudart(self):
        gpu, ok = self, "cudaSuccess"
        pinned = {}

        def set_device(index):
            if not gpu.active():
                gpu.local.stack = ["primary context"]
            return (ok,)

        def malloc_host(nbytes):
            gpu.need_context()
            gpu.allocations += 1
            buffer = ctypes.create_string_buffer(nbytes)
            pinned[ctypes.addressof(buffer)] = buffer
            return ok, ctypes.addressof(buffer)

        def malloc(nbytes):
            gpu.need_context()
            return ok, gpu.alloc(nbytes)

        def memcpy(destination, source, nbytes, kind, stream=None):
            if kind == "cudaMemcpyHostToDevice":
                gpu.write(destination, np.frombuffer(ctypes.string_at(source, nbytes), np.uint8))
            else:
                data = gpu.read(source, np.uint8, (nbytes,))   # held while it is copied
                ctypes.memmove(destination, data.ctypes.data, nbytes)
            return (ok,)

        def synchronize(stream):
            gpu.need_context()
            return (ok,)

        properties = types.SimpleNamespace(name=gpu.name.encode())
        return types.SimpleNamespace(
            cudaError_t=types.SimpleNamespace(cudaSuccess=ok),
            cudaMemcpyKind=types.SimpleNamespace(cudaMemcpyHostToDevice="cudaMemcpyHostToDevice",
                                                 cudaMemcpyDeviceToHost="cudaMemcpyDeviceToHost"),
            cudaGetErrorString=lambda error: (ok, str(error).encode()),
            cudaGetDeviceCount=lambda: (ok, 1), cudaSetDevice=set_device,
            cudaGetDeviceProperties=lambda index: (ok, properties),
            cudaMallocHost=malloc_host, cudaFreeHost=lambda address: (pinned.pop(address) and ok,),
            cudaMalloc=malloc, cudaFree=lambda address: (gpu.memory.pop(address) is not None and ok,),
            cudaStreamCreate=lambda: (ok, 9), cudaStreamSynchronize=synchronize,
            cudaStreamDestroy=lambda stream: (ok,), cudaMemcpy=memcpy, cudaMemcpyAsync=memcpy)

    def import_module(self, trt=None, library="pycuda"):
        """An ``import_module`` for ``probe_accelerator``: ``trt``, and pycuda or cuda-python."""
        def import_module(name):
            if name == "pycuda.driver" and library == "pycuda":
                return self.driver
            if name == "cuda.bindings.runtime" and library == "cuda-python":
                return self.cudart
            if name == "tensorrt" and trt is not None:
                return trt
            raise ImportError(f"No module named {name!r} (test double)")
        return import_module
