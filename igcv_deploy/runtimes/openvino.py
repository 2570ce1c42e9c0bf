"""OpenVINO CPU runner (.xml IR, also .onnx when asked explicitly)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner

# OpenVINO picks bf16/f16 by default on CPUs that have it: name the precision explicitly.
PRECISION_HINTS = {"f32": "f32", "bf16": "bf16", "f16": "f16", "default": None}


class OpenVINORunner(Runner):
    name = "openvino"

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        precision: str = "f32",
        hint: str = "LATENCY",
        streams: int | None = None,
        device: str = "CPU",
    ):
        super().__init__(path, threads)
        self._ov = require("openvino", "openvino")
        self.precision = precision
        config = {"PERFORMANCE_HINT": hint}
        if PRECISION_HINTS[precision]:
            config["INFERENCE_PRECISION_HINT"] = PRECISION_HINTS[precision]
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if streams:
            config["NUM_STREAMS"] = streams
        self.core = self._ov.Core()
        self.device = device
        self.config = config
        self._compile(config)

    def _compile(self, config: dict) -> None:
        try:
            self.compiled = self.core.compile_model(str(self.path), self.device, config)
        except RuntimeError as exc:
            raise IGCVError(
                f"OpenVINO cannot compile '{self.path}': {str(exc).splitlines()[0]}", "re-export the model"
            ) from exc
        self.request = self.compiled.create_infer_request()

    @property
    def version(self) -> str:
        return self._ov.get_version()

    @property
    def execution_precision(self) -> str:
        return self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()

    def run(self, inputs: np.ndarray) -> np.ndarray:
        result = self.request.infer({0: np.ascontiguousarray(inputs, dtype=np.float32)})
        return np.array(result[self.compiled.output(0)])

    def input_shape(self) -> list[int | None]:
        """Shape of the first input; dynamic dimensions are None."""
        return [dim.get_length() if dim.is_static else None for dim in self.compiled.input(0).get_partial_shape()]

    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        """A zero-argument call that runs one synchronous inference on these pre-allocated inputs."""
        self._bound = np.ascontiguousarray(inputs, dtype=np.float32)  # the tensor shares this memory
        self.request.set_input_tensor(self._ov.Tensor(self._bound, shared_memory=True))
        return self.request.infer

    def compiled_property(self, name: str):
        """A property of the compiled model (NUM_STREAMS, INFERENCE_NUM_THREADS, ...)."""
        return self.compiled.get_property(name)

    def enable_perf_counters(self) -> None:
        """Recompile with PERF_COUNT so `layer_counters` reports per-layer times (adds a little overhead)."""
        self._compile({**self.config, "PERF_COUNT": True})

    def layer_counters(self) -> list[dict]:
        """Per-layer times of the last inference (executed layers only), in milliseconds."""
        executed = self._ov.ProfilingInfo.Status.EXECUTED
        return [
            {
                "name": info.node_name,
                "op_type": info.node_type,
                "exec_type": info.exec_type,
                "ms": info.real_time.total_seconds() * 1e3,
            }
            for info in self.request.profiling_info
            if info.status == executed
        ]
