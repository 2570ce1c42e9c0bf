"""The one table of runtimes: name -> runner class, the files it loads, and what to install for it.

Every `--runtime` choice (igcv-profile, its crosscheck, the emulated-ARM harness) and the runtime of each
export target (igcv_deploy.targets) are names from this table. Runner modules are imported only when a
runner is opened, so a device needs only the runtime it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class RuntimeSpec:
    name: str
    runner: str  # "module:Class" inside igcv_deploy.runtimes, imported lazily
    suffixes: tuple[str, ...]  # the model files it loads; the first runtime listing a suffix is its default
    install: str  # what to pip install for it
    needs_gpu: bool = False
    description: str = ""


RUNTIMES: tuple[RuntimeSpec, ...] = (
    RuntimeSpec("onnxruntime", "onnxruntime:OnnxRuntimeRunner", (".onnx", ".ort"), "onnxruntime"),
    RuntimeSpec("openvino", "openvino:OpenVINORunner", (".xml", ".onnx"), "openvino"),
    RuntimeSpec("tensorrt", "tensorrt:TensorRTRunner", (".engine",), "tensorrt (or tensorrt-rtx-cu13)", needs_gpu=True),
    RuntimeSpec(
        "torch",
        "torch_eager:TorchEagerRunner",
        (),
        "torch==2.13.0",
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


def default_runtime(suffix: str) -> str | None:
    """The runtime that runs a file with this suffix when none is asked for."""
    return next((spec.name for spec in RUNTIMES if suffix in spec.suffixes), None)


def known_suffixes() -> tuple[str, ...]:
    return tuple(sorted({suffix for spec in RUNTIMES for suffix in spec.suffixes}))
