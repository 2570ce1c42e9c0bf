"""OpenVINO CPU runner (.xml IR, also .onnx when asked explicitly): hint, streams, threads and precision;
asynchronous throughput with the throughput hint, per-layer times from PERF_COUNT."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IGCVError, UsageError, require
from .base import Runner

# igcv-export's precision words -> INFERENCE_PRECISION_HINT; "default" sets none and lets the plugin pick.
PRECISION_HINTS = {"fp32": "f32", "fp16": "f16", "bf16": "bf16", "default": None}
PRECISIONS = {hint: word for word, hint in PRECISION_HINTS.items() if hint}
READ_BACK = (
    "PERFORMANCE_HINT",
    "NUM_STREAMS",
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
)


@dataclass(frozen=True)
class OpenVINOOptions:
    """What a caller asks of OpenVINO (igcv-profile records it as its result's `options`)."""

    # the CPU plugin silently picks bf16/f16 where the CPU has them: fp32 unless asked otherwise
    precision: str = "fp32"  # a PRECISION_HINTS key
    hint: str = "latency"  # PERFORMANCE_HINT: latency or throughput
    streams: int | None = None  # NUM_STREAMS

    def __post_init__(self):
        if self.precision not in PRECISION_HINTS:
            raise UsageError(
                f"unknown OpenVINO precision '{self.precision}'", f"choose one of {', '.join(PRECISION_HINTS)}"
            )

    def properties(self, threads: int | None) -> dict:
        """The compile properties of these options with this thread count."""
        properties = {"PERFORMANCE_HINT": self.hint.upper()}
        if PRECISION_HINTS[self.precision]:
            properties["INFERENCE_PRECISION_HINT"] = PRECISION_HINTS[self.precision]
        if threads:
            properties["INFERENCE_NUM_THREADS"] = threads
        if self.streams:
            properties["NUM_STREAMS"] = self.streams
        return properties


def _text(value) -> str:
    """A property as text: element types by their short name (f32, bf16), enums by name."""
    return value.get_type_name() if hasattr(value, "get_type_name") else str(value).split(".")[-1]


class OpenVINORunner(Runner):
    """Keyword options: those of OpenVINOOptions (precision, hint, streams)."""

    name = "openvino"

    def __init__(self, path: str | Path, threads: int | None = None, device: str = "CPU", **options):
        super().__init__(path, threads)
        self._ov = require("openvino", "openvino")
        self.options = OpenVINOOptions(**options)
        self.device = device
        self.core = self._ov.Core()
        self.properties = self.options.properties(threads)
        self.compiled = self._compile(self.properties)
        self.request = self.compiled.create_infer_request()

    def _compile(self, properties: dict):
        try:
            return self.core.compile_model(str(self.path), self.device, properties)
        except RuntimeError as exc:
            raise IGCVError(
                f"OpenVINO cannot compile '{self.path}': {str(exc).splitlines()[0]}", "re-export the model"
            ) from exc

    @property
    def version(self) -> str:
        return self._ov.get_version()

    @property
    def execution_precision(self) -> str:
        """The precision the plugin runs in, in OpenVINO's words (f32, bf16, f16)."""
        return _text(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    @property
    def precision(self) -> str:
        return PRECISIONS.get(self.execution_precision, self.execution_precision)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.run_all(inputs)[0]

    def run_all(self, inputs: np.ndarray) -> list[np.ndarray]:
        result = self.request.infer({0: np.ascontiguousarray(inputs, dtype=np.float32)})
        return [np.array(result[output]) for output in self.compiled.outputs]

    def input_shape(self) -> list[int | None]:
        """Shape of the first input; dynamic dimensions are None."""
        return [dim.get_length() if dim.is_static else None for dim in self.compiled.input(0).get_partial_shape()]

    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        """A zero-argument call that runs one synchronous inference on these pre-allocated inputs."""
        self._bound = np.ascontiguousarray(inputs, dtype=np.float32)  # the tensor shares this memory
        self.request.set_input_tensor(self._ov.Tensor(self._bound, shared_memory=True))
        return self.request.infer

    def config(self) -> dict:
        return {name.lower(): _text(self.compiled.get_property(name)) for name in READ_BACK}

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """With the throughput hint, also measure what the streams deliver with all their requests in flight."""
        if self.options.hint.upper() != "THROUGHPUT":
            return {}
        requests = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        return {"async_throughput_fps": self._async_fps(inputs, requests, seconds), "async_requests": requests}

    def _async_fps(self, inputs: np.ndarray, requests: int, seconds: float) -> float:
        queue = self._ov.AsyncInferQueue(self.compiled, requests)
        tensor = self._ov.Tensor(np.ascontiguousarray(inputs, dtype=np.float32), shared_memory=True)
        for index in range(len(queue)):
            queue[index].set_input_tensor(tensor)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or count < 2 * requests:
            queue.start_async()
            count += 1
        queue.wait_all()
        return count * len(inputs) / (time.perf_counter() - start)

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """Mean PERF_COUNT times per executed layer over `runs` inferences of a separately compiled model
        (the counters add a little overhead to every inference)."""
        request = self._compile({**self.properties, "PERF_COUNT": True}).create_infer_request()
        feed = np.ascontiguousarray(inputs, dtype=np.float32)
        request.set_input_tensor(self._ov.Tensor(feed, shared_memory=True))
        request.infer()
        totals: dict[str, dict] = {}
        for _ in range(runs):
            request.infer()
            for layer in self._executed_layers(request):
                entry = totals.setdefault(layer["name"], {**layer, "ms": 0.0})
                entry["ms"] += layer["ms"] / runs
        return {"source": "OpenVINO performance counters (PERF_COUNT)", "runs": runs, "layers": list(totals.values())}

    def _executed_layers(self, request) -> list[dict]:
        """Per-layer times of the request's last inference (executed layers only), in milliseconds."""
        executed = self._ov.ProfilingInfo.Status.EXECUTED
        return [
            {
                "name": info.node_name,
                "op_type": info.node_type,
                "exec_type": info.exec_type,
                "ms": info.real_time.total_seconds() * 1e3,
            }
            for info in request.profiling_info
            if info.status == executed
        ]
