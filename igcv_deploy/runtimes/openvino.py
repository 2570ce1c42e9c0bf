"""OpenVINO CPU runner (.xml IR, also .onnx when asked explicitly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner

# OpenVINO picks bf16/f16 by default on CPUs that have it: name the precision explicitly.
PRECISION_HINTS = {"f32": "f32", "bf16": "bf16", "f16": "f16", "default": None}


class OpenVINORunner(Runner):
    name = "openvino"

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        precision: str = "f32",
        hint: str = "LATENCY",
        streams: int | None = None,
        device: str = "CPU",
    ):
        super().__init__(path, threads)
        self._ov = require("openvino", "openvino")
        self.precision = precision
        config = {"PERFORMANCE_HINT": hint}
        if PRECISION_HINTS[precision]:
            config["INFERENCE_PRECISION_HINT"] = PRECISION_HINTS[precision]
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if streams:
            config["NUM_STREAMS"] = streams
        self.core = self._ov.Core()
        try:
            self.compiled = self.core.compile_model(str(path), device, config)
        except RuntimeError as exc:
            raise IGCVError(f"OpenVINO cannot compile '{path}': {str(exc).splitlines()[0]}", "re-export the model") from exc
        self.request = self.compiled.create_infer_request()

    @property
    def version(self) -> str:
        return self._ov.get_version()

    @property
    def execution_precision(self) -> str:
        return str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    def run(self, inputs: np.ndarray) -> np.ndarray:
        result = self.request.infer({0: np.ascontiguousarray(inputs, dtype=np.float32)})
        return np.array(result[self.compiled.output(0)])
