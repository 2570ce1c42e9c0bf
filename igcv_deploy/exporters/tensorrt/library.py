"""The TensorRT library a build uses, and the few facts about its version the build depends on."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from ...errors import IGCVError
from ...runtimes.tensorrt import cuda_compute_capabilities, import_tensorrt, make_logger


@dataclass
class Library:
    trt: ModuleType
    logger: object = field(repr=False)

    @property
    def name(self) -> str:
        return self.trt.__name__

    @property
    def version(self) -> str:
        return self.trt.__version__

    @property
    def rtx(self) -> bool:
        return self.name == "tensorrt_rtx"

    @property
    def strongly_typed(self) -> bool:
        """TensorRT-RTX and TensorRT 11 take precisions from the ONNX only (no FP16/INT8 builder flags)."""
        return self.rtx or int(self.version.split(".")[0]) >= 11

    @property
    def label(self) -> str:
        return f"TensorRT-RTX {self.version}" if self.rtx else f"TensorRT {self.version}"


def load_library(name: str) -> Library:
    trt = import_tensorrt(name)
    return Library(trt, make_logger(trt))


def load_builder(name: str) -> Library:
    """A library that can build here: TensorRT builds on the GPU it targets, TensorRT-RTX needs none."""
    library = load_library(name)
    if not library.rtx and not cuda_compute_capabilities():
        raise IGCVError("no CUDA device: TensorRT builds an engine on the GPU that will run it", "run it on the device")
    return library
