"""ONNX Runtime CPU runner (.onnx and .ort files); per-layer times from its profiler (enable_profiling)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner

KERNEL_SUFFIX = "_kernel_time"


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(
        self, path: str | Path, threads: int | None = None, profile_prefix: str | None = None, optimize: bool = True
    ):
        super().__init__(path, threads)
        self._ort = require("onnxruntime", "ort")
        options = self._ort.SessionOptions()
        if not optimize:  # no fusion: Q/DQ graphs run op by op, in float, exactly on the integer grid
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if profile_prefix:
            options.enable_profiling = True
            options.profile_file_prefix = profile_prefix
        try:
            self.session = self._ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises several private exception types
            raise IGCVError(
                f"onnxruntime cannot load '{path}': {str(exc).splitlines()[0]}", "re-export the model"
            ) from exc
        self.input_name = self.session.get_inputs()[0].name

    @property
    def version(self) -> str:
        return self._ort.__version__

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.run_all(inputs)[0]

    def run_all(self, inputs: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)})

    def input_shape(self) -> list[int | None]:
        """Shape of the first input; symbolic dimensions (a dynamic batch) are None."""
        return [dim if isinstance(dim, int) else None for dim in self.session.get_inputs()[0].shape]

    def bind(self, inputs: np.ndarray) -> Callable[[], list]:
        """A zero-argument call that runs one synchronous inference on these pre-allocated inputs."""
        feed = {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)}
        return partial(self.session.run, None, feed)

    def config(self) -> dict:
        return {
            "intra_op_num_threads": self.threads or "default (physical cores)",
            "inter_op_num_threads": 1,
            "execution_provider": "CPUExecutionProvider",
        }

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """Profile `runs` inferences (after two unprofiled-by-us warm-ups) in a separate session."""
        with tempfile.TemporaryDirectory() as tmp:
            profiled = OnnxRuntimeRunner(self.path, self.threads, profile_prefix=os.path.join(tmp, "ort"))
            call = profiled.bind(inputs)
            for _ in range(2 + runs):
                call()
            layers, run_ms = read_trace(profiled.end_profiling(), runs)
        return {
            "source": "onnxruntime profiler (enable_profiling)",
            "runs": runs,
            "layers": layers,
            "wall_ms": float(np.mean(run_ms)),
        }

    def end_profiling(self) -> str:
        """Stop the profiler enabled by `profile_prefix`; returns the path of its JSON trace."""
        return self.session.end_profiling()


def read_trace(path: str | Path, last_runs: int) -> tuple[list[dict], list[float]]:
    """Mean kernel time per node over the last `last_runs` model_run events, and those runs' durations (ms)."""
    events = json.loads(Path(path).read_text())
    model_runs = [e for e in events if e.get("name") == "model_run"][-last_runs:]
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in model_runs]
    totals: dict[str, list] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        if any(start <= event["ts"] <= end for start, end in windows):
            entry = totals.setdefault(name[: -len(KERNEL_SUFFIX)], [event["args"].get("op_name", "?"), 0.0])
            entry[1] += event["dur"] / 1e3
    layers = [{"name": name, "op_type": op, "ms": total / len(windows)} for name, (op, total) in totals.items()]
    return layers, [e["dur"] / 1e3 for e in model_runs]
