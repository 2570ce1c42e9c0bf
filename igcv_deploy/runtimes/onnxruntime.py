"""ONNX Runtime CPU runner (.onnx and .ort files)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None, profile_prefix: str | None = None):
        super().__init__(path, threads)
        self._ort = require("onnxruntime", "ort")
        options = self._ort.SessionOptions()
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
        return self.session.run(None, {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)})[0]

    def input_shape(self) -> list[int | None]:
        """Shape of the first input; symbolic dimensions (a dynamic batch) are None."""
        return [dim if isinstance(dim, int) else None for dim in self.session.get_inputs()[0].shape]

    def bind(self, inputs: np.ndarray) -> Callable[[], list]:
        """A zero-argument call that runs one synchronous inference on these pre-allocated inputs."""
        feed = {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)}
        return partial(self.session.run, None, feed)

    def end_profiling(self) -> str:
        """Stop the profiler enabled by `profile_prefix`; returns the path of its JSON trace."""
        return self.session.end_profiling()
