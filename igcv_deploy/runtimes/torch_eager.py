"""PyTorch eager baseline for bundles: the model rebuilt from the bundle's manifest (timing only).

The only runner that imports torch, and only in its constructor: importing this module loads none.
The weights are not loaded: eager latency does not depend on their values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import UsageError, require
from .base import Runner


class TorchEagerRunner(Runner):
    name = "torch"
    precision = "fp32"

    def __init__(self, path: str | Path, threads: int | None = None):
        super().__init__(path, threads)
        manifest = self.path.parent / "manifest.json"
        if not manifest.is_file():
            raise UsageError("--runtime torch needs a bundle", "pass a bundle folder written by igcv-export")
        manifest = json.loads(manifest.read_text())
        self.torch = require("torch", "export")
        from ..models import create_model

        if threads:
            self.torch.set_num_threads(threads)
        self.torch.set_grad_enabled(False)
        self.model = create_model(manifest["model"]["name"], num_classes=manifest["num_classes"])
        self.shape = [None, *manifest["inputs"][0]["shape"][1:]]

    @property
    def version(self) -> str:
        return self.torch.__version__

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.model(self.torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))).numpy()

    def input_shape(self) -> list[int | None]:
        return self.shape

    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        tensor = self.torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
        return lambda: self.model(tensor)

    def config(self) -> dict:
        return {"num_threads": self.torch.get_num_threads(), "weights": "not loaded (timing only)"}
