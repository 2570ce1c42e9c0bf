"""Checks shared by the calibration tests: TensorRT Q/DQ rules, Q/DQ placement, a TensorRT-RTX build."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

COMPUTE = ("Conv", "Gemm", "MatMul", "Add")


def placement_problems(model: onnx.ModelProto) -> list[str]:
    """Q/DQ sits only on inputs of compute ops: never in front of a Reshape/Transpose/Flatten/pool."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return [
        f"{dq.name} feeds {user.op_type} {user.name}"
        for dq in model.graph.node
        if dq.op_type == "DequantizeLinear"
        for user in consumers[dq.output[0]]
        if user.op_type not in COMPUTE
    ]


def check_rules(model: onnx.ModelProto) -> list[str]:
    """Our own rule and placement checks, plus the full TensorRT rule checker where it exists (TensorRT work)."""
    problems = basic_rules(model) + placement_problems(model)
    try:
        from igcv_deploy.calibration.qdq_rules import check_qdq_rules
    except ImportError:
        return problems
    return problems + check_qdq_rules(model)


def basic_rules(model: onnx.ModelProto) -> list[str]:
    """int8, zero-point 0, positive scales; per-channel only on constant weights, along axis 0."""
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    problems = []
    for node in (n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")):
        scale, zero = constants[node.input[1]], constants[node.input[2]]
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if zero.dtype != np.int8 or zero.any() or (scale <= 0).any():
            problems.append(f"{node.name}: not symmetric int8 with positive scales")
        if scale.size > 1 and (node.input[0] not in constants or axis != 0):
            problems.append(f"{node.name}: per-channel scale on an activation or on axis {axis}")
    return problems


def build_with_tensorrt_rtx(path) -> None:
    """Parse and build an engine with TensorRT-RTX (CPU-only ahead-of-time build, no GPU needed)."""
    import tensorrt_rtx as trt

    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(path)), [parser.get_error(i).desc() for i in range(parser.num_errors)]
    assert builder.build_serialized_network(network, builder.create_builder_config()) is not None
