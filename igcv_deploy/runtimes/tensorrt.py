"""TensorRT / TensorRT-RTX engine runner (needs a CUDA device), plus the library and GPU probes.

Imports no torch. Device memory goes through polygraphy's ctypes wrapper of the CUDA runtime.
Timing: each bound call copies the input host->device from page-locked memory, enqueues the engine,
copies the output back and waits on the last event; the harness times that call on the host, and
`run_extras` gives its three parts measured with CUDA events (like trtexec's H2D / GPU Compute / D2H).
Per-layer times come from an IProfiler attached to the context.
"""

from __future__ import annotations

import ctypes
import json
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner
from .cuda_events import CudaTiming

NO_GPU = "no CUDA device: engines cannot be deserialised without a GPU"
INSTALL_TENSORRT = "on a Jetson it comes with JetPack (python3-libnvinfer); on a desktop GPU: pip install tensorrt"
_CU_ATTRIBUTE_CC_MAJOR, _CU_ATTRIBUTE_CC_MINOR = 75, 76
PHASES = ("h2d", "gpu", "d2h")


def import_tensorrt(library: str):
    """`tensorrt` (TensorRT 10/11, on the device) or `tensorrt_rtx`, with a clear message when missing."""
    if library == "tensorrt_rtx":
        return require("tensorrt_rtx", "tensorrt-rtx")
    try:
        import tensorrt
    except ModuleNotFoundError as exc:
        raise IGCVError("TensorRT (the 'tensorrt' Python package) is not installed", INSTALL_TENSORRT) from exc
    except (ImportError, OSError) as exc:  # e.g. the bindings wheel without libnvinfer / libnvonnxparser
        raise IGCVError(
            f"TensorRT is installed but cannot be imported: {str(exc).splitlines()[0]}", INSTALL_TENSORRT
        ) from exc
    return tensorrt


def make_logger(trt):
    """A TensorRT logger that keeps errors for our one-line messages and prints warnings to stderr."""

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, message):
            if int(severity) <= int(trt.ILogger.ERROR):
                self.errors.append(message.strip().splitlines()[-1])
            elif int(severity) == int(trt.ILogger.WARNING):
                print(f"warning: {trt.__name__}: {message}", file=sys.stderr)

        def last_error(self, default: str = "no message") -> str:
            return self.errors[-1] if self.errors else default

    return Logger()


def cuda_compute_capabilities() -> list[str]:
    """Compute capability of every CUDA device ("8.6"), via the driver API; [] without a driver or GPU."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return []
    count = ctypes.c_int()
    if cuda.cuInit(0) or cuda.cuDeviceGetCount(ctypes.byref(count)):
        return []
    capabilities = []
    for ordinal in range(count.value):
        device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        cuda.cuDeviceGet(ctypes.byref(device), ordinal)
        cuda.cuDeviceGetAttribute(ctypes.byref(major), _CU_ATTRIBUTE_CC_MAJOR, device)
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CU_ATTRIBUTE_CC_MINOR, device)
        capabilities.append(f"{major.value}.{minor.value}")
    return capabilities


def _polygraphy_cuda():
    try:
        from polygraphy import cuda
    except ImportError as exc:
        raise IGCVError(
            "polygraphy is not installed", "pip install polygraphy (its CUDA wrapper feeds the engine)"
        ) from exc
    return cuda


def engine_library(path: Path) -> str:
    """The library that built an engine, from the manifest of its bundle (TensorRT when unknown)."""
    manifest = path.parent / "manifest.json"
    if manifest.is_file():
        return json.loads(manifest.read_text()).get("engine", {}).get("library", "tensorrt")
    return "tensorrt"


class TensorRTRunner(Runner):
    """Deserialises a raw engine on the first CUDA device and runs it synchronously."""

    name = "tensorrt"

    def __init__(self, path: str | Path, threads: int | None = None, library: str | None = None):
        super().__init__(path, threads)
        if not cuda_compute_capabilities():
            raise IGCVError(NO_GPU, "run the engine on its device")
        self._trt = import_tensorrt(library or engine_library(self.path))
        self.cuda = _polygraphy_cuda()
        self.logger = make_logger(self._trt)
        self.runtime = self._trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise IGCVError(
                f"{self._trt.__name__} cannot deserialise '{path}': {self.logger.last_error()}",
                "engines load only with the TensorRT version and GPU class that built them: "
                "rebuild it here with igcv-export build-engine",
            )
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        modes = {name: self.engine.get_tensor_mode(name) for name in names}
        self.input_name = next(n for n in names if modes[n] == self._trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if modes[n] == self._trt.TensorIOMode.OUTPUT)
        self.stream = self.cuda.Stream()
        self.buffers = {self.input_name: self.cuda.DeviceArray(), self.output_name: self.cuda.DeviceArray()}
        self.phases: list[tuple[float, float, float]] = []

    @property
    def version(self) -> str:
        return self._trt.__version__

    def run(self, inputs: np.ndarray) -> np.ndarray:
        host = np.ascontiguousarray(inputs, dtype=np.float32)
        self.context.set_input_shape(self.input_name, host.shape)
        output = np.empty(tuple(self.context.get_tensor_shape(self.output_name)), dtype=np.float32)
        device_in, device_out = self.buffers[self.input_name], self.buffers[self.output_name]
        device_in.resize(host.shape).copy_from(host, self.stream)
        device_out.resize(output.shape)
        for name, buffer in self.buffers.items():
            self.context.set_tensor_address(name, buffer.ptr)
        if not self.context.execute_async_v3(self.stream.ptr):
            raise IGCVError(f"TensorRT failed to run '{self.path}': {self.logger.last_error()}", "report it")
        device_out.copy_to(output, self.stream)
        self.stream.synchronize()
        return output

    def input_shape(self) -> list[int | None]:
        return [d if d >= 0 else None for d in self.engine.get_tensor_shape(self.input_name)]

    @cached_property
    def _timing(self) -> CudaTiming:
        """CUDA events on the runner's stream, made when timing first binds (parity runs need none)."""
        return CudaTiming(self.cuda, self.stream.ptr)

    @cached_property
    def _events(self) -> list[int]:
        return [self._timing.event() for _ in range(4)]

    def _pinned(self, shape) -> np.ndarray:
        nbytes = int(np.prod(shape)) * 4
        memory = (ctypes.c_byte * nbytes).from_address(self._timing.malloc_host(nbytes))
        return np.ctypeslib.as_array(memory).view(np.float32).reshape(shape)

    def bind(self, inputs: np.ndarray) -> Callable[[], None]:
        """Device buffers sized and bound, pinned host copies of input and output (kept for the process)."""
        context = self.context
        context.set_input_shape(self.input_name, inputs.shape)
        out_shape = tuple(context.get_tensor_shape(self.output_name))
        device_in, device_out = self.buffers[self.input_name], self.buffers[self.output_name]
        device_in.resize(inputs.shape)
        device_out.resize(out_shape)
        context.set_tensor_address(self.input_name, device_in.ptr)
        context.set_tensor_address(self.output_name, device_out.ptr)
        host_in, host_out = self._pinned(inputs.shape), self._pinned(out_shape)
        host_in[...] = inputs
        self.phases = []
        return lambda: self._timed_infer(device_in.ptr, host_in, device_out.ptr, host_out)

    def _timed_infer(self, device_in: int, host_in: np.ndarray, device_out: int, host_out: np.ndarray) -> None:
        cuda, (start, uploaded, computed, done) = self._timing, self._events
        cuda.record(start)
        cuda.upload(device_in, host_in.ctypes.data, host_in.nbytes)
        cuda.record(uploaded)
        if not self.context.execute_async_v3(cuda.stream):
            raise IGCVError(f"TensorRT failed to run the engine: {self.logger.last_error()}")
        cuda.record(computed)
        cuda.download(host_out.ctypes.data, device_out, host_out.nbytes)
        cuda.record(done)
        cuda.synchronize(done)
        self.phases.append(
            (cuda.elapsed_ms(start, uploaded), cuda.elapsed_ms(uploaded, computed), cuda.elapsed_ms(computed, done))
        )

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """CUDA-event statistics of the timed calls only (the warm-up ones are dropped)."""
        from ..profiling.stats import latency_summary

        timed_phases = np.asarray(self.phases[-timed:])
        return {
            "timing": "host perf_counter around one synchronous call; phases by CUDA events",
            "phases_ms": {phase: latency_summary(timed_phases[:, i]) for i, phase in enumerate(PHASES)},
        }

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        profiler = _layer_profiler(self._trt)
        call = self.bind(inputs)
        call()
        self.context.profiler = profiler
        for _ in range(runs):
            call()
        self.context.profiler = None
        layers = [{"name": name, "op_type": None, "ms": ms / runs} for name, ms in profiler.totals.items()]
        return {"source": "TensorRT IProfiler", "runs": runs, "layers": layers}


def _layer_profiler(trt):
    class LayerProfiler(trt.IProfiler):
        def __init__(self):
            super().__init__()
            self.totals: dict[str, float] = {}

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            self.totals[layer_name] = self.totals.get(layer_name, 0.0) + ms

    return LayerProfiler()
