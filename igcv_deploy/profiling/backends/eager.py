"""PyTorch eager baseline for bundles: the model rebuilt from the manifest (timing only).

The only module of the profiler that imports torch, and only when `--runtime torch` is asked
for. The weights are not loaded: eager latency does not depend on their values.
"""

from __future__ import annotations

import numpy as np

from ...errors import UsageError, require
from . import Backend, Options


class EagerBackend(Backend):
    runtime = "torch"
    precision = "fp32"

    def __init__(self, artifact, threads: int | None, options: Options):
        if artifact.manifest is None:
            raise UsageError("--runtime torch needs a bundle", "pass a bundle folder written by igcv-export")
        self.torch = require("torch", "export")
        from ...models import create_model

        if threads:
            self.torch.set_num_threads(threads)
        self.torch.set_grad_enabled(False)
        self.model = create_model(artifact.manifest["model"]["name"], num_classes=artifact.manifest["num_classes"])
        self.shape = [None, *artifact.manifest["inputs"][0]["shape"][1:]]
        self.version = self.torch.__version__

    def input_shape(self) -> list[int | None]:
        return self.shape

    def prepare(self, inputs: np.ndarray):
        tensor = self.torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
        return lambda: self.model(tensor)

    def config(self) -> dict:
        return {"num_threads": self.torch.get_num_threads(), "weights": "not loaded (timing only)"}
