"""TensorRT engine backend (GPU only): CUDA-event timing with H2D, GPU compute and D2H separated.

Built on the engine runner (igcv_deploy.runtimes.tensorrt: GPU check, TensorRT or TensorRT-RTX
from the bundle's manifest, engine, context, stream). Each timed call copies the input
host->device from page-locked memory, enqueues the engine, copies the output back and waits on
the last event: `latency_ms` is that call measured on the host, `phases_ms` its three parts
measured with CUDA events (like trtexec's H2D / GPU Compute / D2H). Per-layer times come from
an IProfiler attached to the context.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ...errors import IGCVError
from ...runtimes.tensorrt import TensorRTRunner, engine_library, import_tensorrt
from ..stats import latency_summary
from . import Backend, Options
from .cuda import CudaTiming

PHASES = ("h2d", "gpu", "d2h")


class TensorRTBackend(Backend):
    runtime = "tensorrt"

    def __init__(self, artifact, threads: int | None, options: Options):
        self.runner = TensorRTRunner(artifact.path)  # a clear one-line error on machines without a GPU
        self.trt = import_tensorrt(engine_library(artifact.path))  # the module the runner loaded
        self.version = self.runner.version
        self.precision = artifact.precision
        self.cuda = CudaTiming(self.runner.cuda, self.runner.stream.ptr)
        self.events = [self.cuda.event() for _ in range(4)]
        self.phases: list[tuple[float, float, float]] = []

    def input_shape(self) -> list[int | None]:
        return [d if d >= 0 else None for d in self.runner.engine.get_tensor_shape(self.runner.input_name)]

    def _pinned(self, shape) -> np.ndarray:
        nbytes = int(np.prod(shape)) * 4
        memory = (ctypes.c_byte * nbytes).from_address(self.cuda.malloc_host(nbytes))
        return np.ctypeslib.as_array(memory).view(np.float32).reshape(shape)

    def prepare(self, inputs: np.ndarray):
        """Device buffers sized and bound, pinned host copies of input and output (kept for the process)."""
        runner, context = self.runner, self.runner.context
        context.set_input_shape(runner.input_name, inputs.shape)
        out_shape = tuple(context.get_tensor_shape(runner.output_name))
        device_in, device_out = runner.buffers[runner.input_name], runner.buffers[runner.output_name]
        device_in.resize(inputs.shape)
        device_out.resize(out_shape)
        context.set_tensor_address(runner.input_name, device_in.ptr)
        context.set_tensor_address(runner.output_name, device_out.ptr)
        host_in, host_out = self._pinned(inputs.shape), self._pinned(out_shape)
        host_in[...] = inputs
        self.phases = []
        return lambda: self._infer(device_in.ptr, host_in, device_out.ptr, host_out)

    def _infer(self, device_in: int, host_in: np.ndarray, device_out: int, host_out: np.ndarray) -> None:
        cuda, (start, uploaded, computed, done) = self.cuda, self.events
        cuda.record(start)
        cuda.upload(device_in, host_in.ctypes.data, host_in.nbytes)
        cuda.record(uploaded)
        if not self.runner.context.execute_async_v3(cuda.stream):
            raise IGCVError(f"TensorRT failed to run the engine: {self.runner.logger.last_error()}")
        cuda.record(computed)
        cuda.download(host_out.ctypes.data, device_out, host_out.nbytes)
        cuda.record(done)
        cuda.synchronize(done)
        self.phases.append(
            (cuda.elapsed_ms(start, uploaded), cuda.elapsed_ms(uploaded, computed), cuda.elapsed_ms(computed, done))
        )

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """CUDA-event statistics of the timed calls only (the warm-up ones are dropped)."""
        timed_phases = np.asarray(self.phases[-timed:])
        return {
            "timing": "host perf_counter around one synchronous call; phases by CUDA events",
            "phases_ms": {phase: latency_summary(timed_phases[:, i]) for i, phase in enumerate(PHASES)},
        }

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        profiler = _layer_profiler(self.trt)
        call = self.prepare(inputs)
        call()
        self.runner.context.profiler = profiler
        for _ in range(runs):
            call()
        self.runner.context.profiler = None
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
