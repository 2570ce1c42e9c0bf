"""ONNX Runtime (CPU EP) backend; per-layer times from its profiler (SessionOptions.enable_profiling)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ...runtimes.onnxruntime import OnnxRuntimeRunner
from . import Backend, Options

KERNEL_SUFFIX = "_kernel_time"


class OnnxRuntimeBackend(Backend):
    runtime = "onnxruntime"

    def __init__(self, artifact, threads: int | None, options: Options):
        self.path, self.threads = artifact.path, threads
        self.runner = OnnxRuntimeRunner(self.path, threads)
        self.version = self.runner.version

    def input_shape(self) -> list[int | None]:
        return self.runner.input_shape()

    def prepare(self, inputs: np.ndarray):
        return self.runner.bind(inputs)

    def config(self) -> dict:
        return {
            "intra_op_num_threads": self.threads or "default (physical cores)",
            "inter_op_num_threads": 1,
            "execution_provider": "CPUExecutionProvider",
        }

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """Profile `runs` inferences (after two unprofiled-by-us warm-ups) in a separate session."""
        with tempfile.TemporaryDirectory() as tmp:
            runner = OnnxRuntimeRunner(self.path, self.threads, profile_prefix=os.path.join(tmp, "ort"))
            call = runner.bind(inputs)
            for _ in range(2 + runs):
                call()
            layers, run_ms = read_trace(runner.end_profiling(), runs)
        return {
            "source": "onnxruntime profiler (enable_profiling)",
            "runs": runs,
            "layers": layers,
            "wall_ms": float(np.mean(run_ms)),
        }


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
