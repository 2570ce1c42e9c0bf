"""A tiny ONNX classifier built in code (1x1 Conv, global average pool, flatten) and its numpy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CHANNELS, CLASSES, SIZE = 3, 4, 8
WEIGHT = np.random.default_rng(1).standard_normal((CLASSES, CHANNELS, 1, 1)).astype(np.float32)
BIAS = np.arange(CLASSES, dtype=np.float32)


def reference(x: np.ndarray) -> np.ndarray:
    """What the tiny model computes: the pooled 1x1 conv is the conv of the pooled input."""
    return x.mean(axis=(2, 3)) @ WEIGHT[:, :, 0, 0].T + BIAS


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "weight", "bias"], ["conv"], name="conv"),
            helper.make_node("GlobalAveragePool", ["conv"], ["pool"], name="pool"),
            helper.make_node("Flatten", ["pool"], ["logits"], name="flatten"),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", CHANNELS, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES])],
        [numpy_helper.from_array(WEIGHT, "weight"), numpy_helper.from_array(BIAS, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((4, CHANNELS, SIZE, SIZE), dtype=np.float32)
