"""The one small base class every backend runner implements."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

# artifact suffix -> (module, class). Modules are imported only when a file of that kind is run.
_RUNNERS = {
    ".onnx": ("igcv_deploy.runtimes.onnxruntime", "OnnxRuntimeRunner"),
    ".ort": ("igcv_deploy.runtimes.onnxruntime", "OnnxRuntimeRunner"),
    ".xml": ("igcv_deploy.runtimes.openvino", "OpenVINORunner"),
    ".engine": ("igcv_deploy.runtimes.tensorrt", "TensorRTRunner"),
}


class Runner(ABC):
    """Loads one artifact and runs it on numpy inputs."""

    name: str = ""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        self.threads = threads

    @abstractmethod
    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run the model on one NCHW batch and return its first output."""

    @property
    @abstractmethod
    def version(self) -> str:
        """Version of the runtime library."""

    def run_batches(self, images: np.ndarray, batch: int = 1) -> np.ndarray:
        """Run a stack of images through a static-batch model, `batch` at a time."""
        if len(images) % batch:
            raise ValueError(f"{len(images)} images cannot be split into batches of {batch}")
        return np.concatenate([self.run(images[i : i + batch]) for i in range(0, len(images), batch)])


def load_runner(path: str | Path, **options) -> Runner:
    """Pick the runner for an artifact by its suffix."""
    suffix = Path(path).suffix
    if suffix not in _RUNNERS:
        from ..errors import IGCVError

        raise IGCVError(f"no runner for '{path}'", f"expected one of {', '.join(sorted(_RUNNERS))}")
    module, cls = _RUNNERS[suffix]
    return getattr(importlib.import_module(module), cls)(path, **options)
