"""Tiny hand-built FP32 ONNX graphs with the IGCV3 block's structure, for fast calibration tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from igcv_deploy.calibration.data import CalibrationSet

SHAPE = (3, 8, 8)
CLASSES = 4


def block_net(fragile: float = 1.0, seed: int = 0) -> onnx.ModelProto:
    """conv1 -> channel shuffle (Reshape/Transpose/Reshape) -> conv2 (1x1) -> ReLU6 -> depthwise conv3
    -> residual Add(conv3, conv2) -> GlobalAveragePool -> Flatten -> fc.

    `fragile` scales conv1's output channel 0 up and conv2's matching input weights down: the FP32
    function is unchanged, but conv2's input then has one outlier channel that per-tensor INT8 ruins.
    """
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(0, 0.5, (8, 3, 3, 3)), rng.normal(0, 0.1, 8)
    w2, w3, fc = rng.normal(0, 0.4, (8, 8, 1, 1)), rng.normal(0, 0.4, (8, 1, 3, 3)), rng.normal(0, 1, (CLASSES, 8))
    w1[0], b1[0] = w1[0] * fragile, b1[0] * fragile
    w2[:, 0] /= fragile  # the shuffle (groups 2) keeps channel 0 at position 0
    values = {
        "w1": w1,
        "b1": b1,
        "w2": w2,
        "b2": np.zeros(8),
        "w3": w3,
        "b3": np.zeros(8),
        "fc": fc,
        "fc_b": np.zeros(CLASSES),
        "lo": np.array(0.0),
        "hi": np.array(6.0),
    }
    shapes = {"split": [1, 2, 4, 8, 8], "merge": [1, 8, 8, 8]}
    node = helper.make_node
    nodes = [
        node("Conv", ["input", "w1", "b1"], ["c1"], "/conv1", pads=[1, 1, 1, 1]),
        node("Reshape", ["c1", "split"], ["r1"], "/shuffle/reshape"),
        node("Transpose", ["r1"], ["t1"], "/shuffle/transpose", perm=[0, 2, 1, 3, 4]),
        node("Reshape", ["t1", "merge"], ["s1"], "/shuffle/reshape_1"),
        node("Conv", ["s1", "w2", "b2"], ["c2"], "/conv2"),
        node("Clip", ["c2", "lo", "hi"], ["a2"], "/relu6"),
        node("Conv", ["a2", "w3", "b3"], ["c3"], "/conv3", pads=[1, 1, 1, 1], group=8),
        node("Add", ["c3", "c2"], ["sum"], "/add"),
        node("GlobalAveragePool", ["sum"], ["pool"], "/pool"),
        node("Flatten", ["pool"], ["flat"], "/flatten"),
        node("Gemm", ["flat", "fc", "fc_b"], ["logits"], "/fc", transB=1),
    ]
    return _model(nodes, values, shapes)


def saturating_net() -> onnx.ModelProto:
    """conv1 (positive weights 2) -> ReLU6 -> conv2 -> pool -> fc: inputs above 3 saturate anyway."""
    rng = np.random.default_rng(0)
    values = {
        "w1": np.full((4, 3, 1, 1), 2.0),
        "w2": rng.normal(0, 0.5, (4, 4, 1, 1)),
        "fc": rng.normal(0, 1, (CLASSES, 4)),
        "lo": np.array(0.0),
        "hi": np.array(6.0),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["input", "w1"], ["c1"], "/conv1"),
        node("Clip", ["c1", "lo", "hi"], ["a1"], "/relu6"),
        node("Conv", ["a1", "w2"], ["c2"], "/conv2"),
        node("GlobalAveragePool", ["c2"], ["pool"], "/pool"),
        node("Flatten", ["pool"], ["flat"], "/flatten"),
        node("Gemm", ["flat", "fc"], ["logits"], "/fc", transB=1),
    ]
    return _model(nodes, values)


def _model(nodes: list, values: dict, shapes: dict | None = None) -> onnx.ModelProto:
    initializers = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in values.items()]
    initializers += [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in (shapes or {}).items()]
    graph = helper.make_graph(
        nodes,
        "test_net",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, *SHAPE])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, CLASSES])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(model: onnx.ModelProto, folder, name: str = "fp32.onnx"):
    path = folder / name
    onnx.save(model, str(path))
    return path


def random_set(count: int = 64, seed: int = 0, labels: np.ndarray | None = None) -> CalibrationSet:
    images = np.random.default_rng(seed).normal(0, 1, (count, *SHAPE)).astype(np.float32)
    return CalibrationSet(images, labels, "random normal images", "0" * 64)
