"""ONNX Runtime CPU runner (.onnx and .ort files)."""

from __future__ import annotations

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
            raise IGCVError(f"onnxruntime cannot load '{path}': {str(exc).splitlines()[0]}", "re-export the model") from exc
        self.input_name = self.session.get_inputs()[0].name

    @property
    def version(self) -> str:
        return self._ort.__version__

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)})[0]
