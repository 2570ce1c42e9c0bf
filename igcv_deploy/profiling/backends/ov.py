"""OpenVINO (CPU) backend: hint, streams, threads and precision; per-layer times from PERF_COUNT."""

from __future__ import annotations

import time

import numpy as np

from ...errors import require
from ...runtimes.openvino import OpenVINORunner
from . import Backend, Options

READ_BACK = (
    "PERFORMANCE_HINT",
    "NUM_STREAMS",
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
)


def _text(value) -> str:
    """A property as text: element types by their short name (f32, bf16), enums by name."""
    return value.get_type_name() if hasattr(value, "get_type_name") else str(value).split(".")[-1]


class OpenVINOBackend(Backend):
    runtime = "openvino"

    def __init__(self, artifact, threads: int | None, options: Options):
        self.path, self.threads, self.options = artifact.path, threads, options
        self.runner = self._runner()
        self.version = self.runner.version
        precision = _text(self.runner.compiled_property("INFERENCE_PRECISION_HINT"))
        self.precision = {"f32": "fp32", "f16": "fp16"}.get(precision, precision)  # the bundles' spelling

    def _runner(self) -> OpenVINORunner:
        o = self.options
        return OpenVINORunner(self.path, self.threads, precision=o.precision, hint=o.hint.upper(), streams=o.streams)

    def input_shape(self) -> list[int | None]:
        return self.runner.input_shape()

    def prepare(self, inputs: np.ndarray):
        return self.runner.bind(inputs)

    def config(self) -> dict:
        return {name.lower(): _text(self.runner.compiled_property(name)) for name in READ_BACK}

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """With the throughput hint, also measure what the streams deliver with all their requests in flight."""
        if self.options.hint.lower() != "throughput":
            return {}
        requests = int(self.runner.compiled_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        return {"async_throughput_fps": self._async_fps(inputs, requests, seconds), "async_requests": requests}

    def _async_fps(self, inputs: np.ndarray, requests: int, seconds: float) -> float:
        ov = require("openvino", "openvino")
        queue = ov.AsyncInferQueue(self.runner.compiled, requests)
        tensor = ov.Tensor(np.ascontiguousarray(inputs, dtype=np.float32), shared_memory=True)
        for index in range(len(queue)):
            queue[index].set_input_tensor(tensor)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or count < 2 * requests:
            queue.start_async()
            count += 1
        queue.wait_all()
        return count * len(inputs) / (time.perf_counter() - start)

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """Mean PERF_COUNT times per executed layer over `runs` inferences of a separately compiled model."""
        runner = self._runner()
        runner.enable_perf_counters()
        call = runner.bind(inputs)
        call()
        totals: dict[str, dict] = {}
        for _ in range(runs):
            call()
            for layer in runner.layer_counters():
                entry = totals.setdefault(layer["name"], {**layer, "ms": 0.0})
                entry["ms"] += layer["ms"] / runs
        return {"source": "OpenVINO performance counters (PERF_COUNT)", "runs": runs, "layers": list(totals.values())}
