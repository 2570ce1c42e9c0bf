"""The one table of runtimes: name -> runner class, the files it loads, and what to install for it.

Every `--runtime` choice (igcv-profile, its tune and crosscheck, the emulated-ARM harness) and the runtime of
each export target (igcv_deploy.targets) are names from this table. Runner modules are imported only when a
runner is opened, so a device needs only the runtime it uses.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .base import Runner


@dataclass(frozen=True)
class RuntimeSpec:
    name: str
    runner: str  # "module:Class" inside igcv_deploy.runtimes, imported lazily
    # the model files it loads; the first runtime listing a suffix is its default. () = any file of a bundle
    # (the model is rebuilt from the bundle's manifest, not loaded from the file)
    suffixes: tuple[str, ...]
    install: str  # what to pip install for it
    needs_gpu: bool = False
    layer_times: bool = True  # its runner reports per-layer times (igcv-profile --per-layer)
    description: str = ""

    def loads(self, suffix: str) -> bool:
        return not self.suffixes or suffix in self.suffixes


RUNTIMES: tuple[RuntimeSpec, ...] = (
    RuntimeSpec("onnxruntime", "onnxruntime:OnnxRuntimeRunner", (".onnx", ".ort"), "onnxruntime"),
    RuntimeSpec("openvino", "openvino:OpenVINORunner", (".xml", ".onnx"), "openvino"),
    RuntimeSpec("tensorrt", "tensorrt:TensorRTRunner", (".engine",), "tensorrt (or tensorrt-rtx-cu13)", needs_gpu=True),
    # the PyPI wheel is built without ExecuTorch's event tracer (ETDump): no per-operator times
    RuntimeSpec("executorch", "executorch:ExecuTorchRunner", (".pte",), "executorch==1.5.1", layer_times=False),
    # the Python Interpreter has no per-operator profiler (LiteRT's benchmark_model has, on the device)
    RuntimeSpec("litert", "litert:LiteRTRunner", (".tflite",), "ai-edge-litert==2.3.0", layer_times=False),
    RuntimeSpec(
        "torch",
        "torch_eager:TorchEagerRunner",
        (),
        "torch==2.13.0",
        layer_times=False,
        description="PyTorch eager baseline rebuilt from a bundle's manifest (timing only)",
    ),
)
_BY_NAME = {spec.name: spec for spec in RUNTIMES}


def runtime_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def get_runtime(name: str) -> RuntimeSpec:
    if name not in _BY_NAME:
        raise UsageError(f"unknown runtime '{name}'", f"choose one of {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def runtimes_listing(suffix: str) -> tuple[str, ...]:
    """The runtimes that list this suffix among their files, its default first."""
    return tuple(spec.name for spec in RUNTIMES if suffix in spec.suffixes)


def default_runtime(suffix: str) -> str | None:
    """The runtime that runs a file with this suffix when none is asked for."""
    return next(iter(runtimes_listing(suffix)), None)


def known_suffixes() -> tuple[str, ...]:
    return tuple(sorted({suffix for spec in RUNTIMES for suffix in spec.suffixes}))


def runtime_for(path: str | Path, runtime: str | None = None) -> str:
    """The runtime to use for a model file: the one asked for, or the default for its suffix; checked it loads it."""
    path = Path(path)
    runtime = runtime or default_runtime(path.suffix)
    if runtime is None:
        raise UsageError(f"no runtime for '{path.name}'", f"expected one of {', '.join(known_suffixes())}")
    spec = get_runtime(runtime)
    if not spec.loads(path.suffix):
        raise UsageError(f"{runtime} cannot run '{path.name}'", f"it runs {', '.join(sorted(spec.suffixes))} files")
    return runtime


def load_runner(path: str | Path, runtime: str | None = None, **options) -> Runner:
    """Open `path` with the runtime asked for (default: by suffix); `options` go to that runner's constructor."""
    module, cls = get_runtime(runtime_for(path, runtime)).runner.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(path, **options)
