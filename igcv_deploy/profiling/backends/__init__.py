"""One timing backend per runtime, all behind the small `Backend` base class.

A backend loads one artifact with one thread setting and offers: the input shape, a bound
zero-argument call for the timing loop, and (optionally) per-layer times. Runtime modules are
imported only when their backend is opened, so a device needs only the runtime it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...errors import IGCVError, UsageError

# runtime name -> (module, class) inside this package
BACKENDS = {
    "onnxruntime": ("ort", "OnnxRuntimeBackend"),
    "openvino": ("ov", "OpenVINOBackend"),
    "tensorrt": ("trt", "TensorRTBackend"),
    "torch": ("eager", "EagerBackend"),
}
DEFAULT_RUNTIME = {".onnx": "onnxruntime", ".ort": "onnxruntime", ".xml": "openvino", ".engine": "tensorrt"}
RUNS = {"onnxruntime": {".onnx", ".ort"}, "openvino": {".onnx", ".xml"}, "tensorrt": {".engine"}}


@dataclass(frozen=True)
class Options:
    """Runtime settings from the command line; each backend uses the ones that apply to it."""

    precision: str = "f32"  # OpenVINO INFERENCE_PRECISION_HINT (f32, bf16, f16, default)
    hint: str = "latency"  # OpenVINO PERFORMANCE_HINT
    streams: int | None = None  # OpenVINO NUM_STREAMS

    def for_runtime(self, runtime: str) -> dict:
        """The requested settings that apply to this runtime (all of them are OpenVINO's)."""
        return asdict(self) if runtime == "openvino" else {}


class Backend:
    """Base class: `runtime`, `version`, `precision` and the methods the harness calls."""

    runtime = ""
    version = ""
    precision: str | None = None  # None: the artifact's own precision (the runtime runs it as stored)

    def input_shape(self) -> list[int | None]:
        raise NotImplementedError

    def prepare(self, inputs: np.ndarray) -> Callable[[], object]:
        """Bind pre-allocated inputs; return the call the timing loop repeats."""
        raise NotImplementedError

    def config(self) -> dict:
        """The settings actually in effect (read back from the runtime where it tells)."""
        return {}

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """Extra fields for a run that just timed `timed` calls (CUDA phase times, asynchronous throughput)."""
        return {}

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """{source, runs, layers: [{name, op_type, ms}], ...}: mean per-layer times over `runs` inferences."""
        raise IGCVError(f"per-layer profiling is not available for {self.runtime}")


def runtime_for(path: Path, runtime: str | None) -> str:
    """The runtime to use for an artifact file: the one asked for, or the default for its suffix."""
    runtime = runtime or DEFAULT_RUNTIME.get(path.suffix)
    if runtime is None:
        raise UsageError(f"no runtime for '{path.name}'", f"expected one of {', '.join(sorted(DEFAULT_RUNTIME))}")
    if runtime not in BACKENDS:
        raise UsageError(f"unknown runtime '{runtime}'", f"choose one of {', '.join(BACKENDS)}")
    if runtime != "torch" and path.suffix not in RUNS[runtime]:
        raise UsageError(f"{runtime} cannot run '{path.name}'", f"it runs {', '.join(sorted(RUNS[runtime]))} files")
    return runtime


def open_backend(runtime: str, artifact, threads: int | None, options: Options) -> Backend:
    """Load `artifact` (a profiling.artifact.Artifact) with the named runtime."""
    module, cls = BACKENDS[runtime]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(artifact, threads, options)
