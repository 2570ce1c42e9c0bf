"""CUDA events and page-locked host memory for timing the TensorRT runner.

Uses the CUDA runtime library that polygraphy's wrapper has already loaded for the runner's
device memory (igcv_deploy.runtimes.tensorrt), so there is one libcudart in play.
"""

from __future__ import annotations

import ctypes


class CudaTiming:
    """Events on one stream, asynchronous copies and pinned host buffers; every call is checked."""

    def __init__(self, polygraphy_cuda, stream_ptr: int):
        self.wrapper = polygraphy_cuda.wrapper()
        self.lib = self.wrapper.handle
        self.kinds = polygraphy_cuda.MemcpyKind
        self.stream = stream_ptr

    def _new(self, function: str, *args) -> int:
        handle = ctypes.c_void_p()
        self.wrapper.check(getattr(self.lib, function)(ctypes.byref(handle), *args))
        return handle.value

    def malloc_host(self, nbytes: int) -> int:
        """Page-locked host memory, so copies are truly asynchronous and timed like trtexec's."""
        return self._new("cudaMallocHost", ctypes.c_size_t(nbytes))

    def upload(self, device: int, host: int, nbytes: int) -> None:
        self.wrapper.memcpy(device, host, nbytes, self.kinds.HostToDevice, self.stream)

    def download(self, host: int, device: int, nbytes: int) -> None:
        self.wrapper.memcpy(host, device, nbytes, self.kinds.DeviceToHost, self.stream)

    def event(self) -> int:
        return self._new("cudaEventCreate")

    def record(self, event: int) -> None:
        self.wrapper.check(self.lib.cudaEventRecord(ctypes.c_void_p(event), ctypes.c_void_p(self.stream)))

    def synchronize(self, event: int) -> None:
        self.wrapper.check(self.lib.cudaEventSynchronize(ctypes.c_void_p(event)))

    def elapsed_ms(self, start: int, end: int) -> float:
        value = ctypes.c_float()
        self.wrapper.check(
            self.lib.cudaEventElapsedTime(ctypes.byref(value), ctypes.c_void_p(start), ctypes.c_void_p(end))
        )
        return value.value
