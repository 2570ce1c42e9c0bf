"""ExecuTorch runner (.pte files) through ExecuTorch's Python runtime, with the XNNPACK delegate it ships.

The pip wheel's runtime is built without the event tracer, so ETDump per-operator times are not available here
(`layer_times` raises the base class error); on a phone use ExecuTorch's own devtools.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner


class ExecuTorchRunner(Runner):
    name = "executorch"

    def __init__(self, path: str | Path, threads: int | None = None):
        super().__init__(path, threads)
        runtime = require("executorch.runtime", "executorch")
        self._torch = require("torch", "executorch")  # ExecuTorch's Python runtime takes and returns torch tensors
        self._pybind = require("executorch.extension.pybindings.portable_lib", "executorch")
        if threads:
            self._pybind._unsafe_reset_threadpool(threads)  # XNNPACK's shared threadpool
        try:
            program = runtime.Runtime.get().load_program(Path(path))
            self.method = program.load_method("forward")
        except Exception as exc:  # the runtime raises RuntimeError/ValueError with ExecuTorch error codes
            raise IGCVError(
                f"ExecuTorch cannot load '{path}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                "re-export the model with this executorch version",
            ) from exc
        self.meta = self.method.metadata

    @property
    def version(self) -> str:
        from importlib import metadata

        return metadata.version("executorch")

    def _tensor(self, inputs: np.ndarray):
        return self._torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.run_all(inputs)[0]

    def run_all(self, inputs: np.ndarray) -> list[np.ndarray]:
        return [output.numpy().copy() for output in self.method.execute((self._tensor(inputs),))]

    def input_shape(self) -> list[int | None]:
        return [int(dim) for dim in self.meta.input_tensor_meta(0).sizes()]

    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        """A zero-argument call that runs one synchronous inference on these pre-allocated inputs."""
        return partial(self.method.execute, (self._tensor(inputs),))

    def config(self) -> dict:
        return {
            "threads": self._pybind._threadpool_get_thread_count(),
            "threads_requested": self.threads or "default (ExecuTorch threadpool: all cores)",
            "delegate": "XnnpackBackend",
            "registered_backends": list(self._pybind._get_registered_backend_names()),
        }
