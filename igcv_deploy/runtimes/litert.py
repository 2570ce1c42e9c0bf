"""LiteRT runner (.tflite files) through ai-edge-litert's Interpreter, with the XNNPACK delegate it applies by default.

Takes NCHW float batches like every runner: a model with an NHWC input (`--input-layout nhwc`) gets them
transposed, and a full-integer model gets them quantised with its input's scale and zero point (outputs are
dequantised). The Python Interpreter exposes no per-operator profiler, so `layer_times` is not offered; on a
phone LiteRT's benchmark_model tool (`--enable_op_profiling`) gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from .base import Runner


def operator_counts(path: str | Path) -> dict[str, int]:
    """{builtin operator name: how many} in a .tflite, read from its flatbuffer."""
    from collections import Counter

    flatbuffer = require("ai_edge_litert.tools.flatbuffer_utils", "litert-runtime")
    model = flatbuffer.read_model(str(path))
    counts = Counter(
        flatbuffer.opcode_to_name(model, op.opcodeIndex) for graph in model.subgraphs for op in graph.operators
    )
    return dict(sorted(counts.items()))


def is_nhwc(shape: list[int]) -> bool:
    """An image input whose channels come last (1 or 3 of them, and more than that many rows)."""
    return len(shape) == 4 and shape[3] in (1, 3) and shape[1] not in (1, 3)


class LiteRTRunner(Runner):
    name = "litert"

    def __init__(self, path: str | Path, threads: int | None = None):
        super().__init__(path, threads)
        interpreter = require("ai_edge_litert.interpreter", "litert-runtime")
        try:
            self.interpreter = interpreter.Interpreter(model_path=str(path), num_threads=threads)
            self.interpreter.allocate_tensors()
        except Exception as exc:  # the interpreter raises ValueError/RuntimeError with LiteRT's message
            raise IGCVError(
                f"LiteRT cannot load '{path}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                "re-export the model with this ai-edge-litert version",
            ) from exc
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.nhwc = is_nhwc([int(d) for d in self.input["shape"]])

    @property
    def version(self) -> str:
        from importlib import metadata

        return metadata.version("ai-edge-litert")

    def _feed(self, inputs: np.ndarray) -> np.ndarray:
        """NCHW float32 -> what the model's input takes (layout, and int8 quantisation)."""
        x = np.asarray(inputs, dtype=np.float32)
        if self.nhwc:
            x = x.transpose(0, 2, 3, 1)
        dtype = self.input["dtype"]
        if dtype != np.float32:
            scale, zero_point = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
        return np.ascontiguousarray(x, dtype=dtype)

    def _fetch(self) -> np.ndarray:
        y = self.interpreter.get_tensor(self.output["index"])
        if self.output["dtype"] != np.float32:
            scale, zero_point = self.output["quantization"]
            return (y.astype(np.float32) - zero_point) * scale
        return y.copy()

    def run(self, inputs: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], self._feed(inputs))
        self.interpreter.invoke()
        return self._fetch()

    def input_shape(self) -> list[int | None]:
        """NCHW, whatever layout the file takes (the runner transposes)."""
        shape = [int(d) for d in self.input["shape"]]
        return [shape[0], shape[3], shape[1], shape[2]] if self.nhwc else shape

    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        """A zero-argument call that runs one synchronous inference on these pre-set inputs."""
        self.interpreter.set_tensor(self.input["index"], self._feed(inputs))
        return self.interpreter.invoke

    def config(self) -> dict:
        return {
            "threads": self.threads or "default (LiteRT: one thread per core for XNNPACK)",
            "delegate": "XNNPACK (ai-edge-litert default)",
            "input_layout": "NHWC" if self.nhwc else "NCHW",
            "input_dtype": np.dtype(self.input["dtype"]).name,
        }
