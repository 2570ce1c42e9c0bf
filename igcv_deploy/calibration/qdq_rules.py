"""Static checks of a Q/DQ ONNX model against the rules TensorRT imposes (numpy + onnx only).

TensorRT rejects some violations when parsing (non-zero zero-points, int32 bias DequantizeLinear)
but accepts others silently and builds a different engine (per-channel weights on the wrong
axis), so every Q/DQ model the toolchain writes is checked here first.
"""

from __future__ import annotations

import numpy as np

from ..errors import IGCVError

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
MIN_OPSET = 13
# Weight input (index 1) of these ops -> the output-channel axis a per-channel scale must follow.
WEIGHT_AXIS = {
    "Conv": lambda node: 0,
    "ConvTranspose": lambda node: 1,
    "Gemm": lambda node: 0 if _attribute(node, "transB", 0) else 1,
    "MatMul": lambda node: 1,
}


def check_qdq_rules(model) -> list[str]:
    """Every rule violation in the model, one line each, naming the offending node."""
    nodes = [node for node in model.graph.node if node.op_type in QDQ_OPS]
    if not nodes:
        return []
    graph = _Graph(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    violations = []
    if opset < MIN_OPSET:
        violations.append(f"model: opset {opset} is below {MIN_OPSET} (per-channel Q/DQ needs the axis attribute)")
    for node in nodes:
        violations += [
            f"{node.name or node.output[0]} ({node.op_type}): {problem}" for problem in _node_problems(node, graph)
        ]
    return violations


def assert_qdq_rules(model) -> None:
    """Raise an IGCVError naming the first offending node (and how many more there are)."""
    violations = check_qdq_rules(model)
    if violations:
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise IGCVError(
            f"the Q/DQ model breaks a TensorRT rule: {violations[0]}{more}",
            "quantize symmetrically to int8 with float biases, per-channel weights on the output-channel axis "
            "and per-tensor activations",
        )


class _Graph:
    """Constant values and consumers of each tensor."""

    def __init__(self, model):
        from onnx import numpy_helper

        self.constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        self.producers, self.consumers = {}, {}
        for node in model.graph.node:
            if node.op_type == "Constant" and node.attribute[0].name == "value":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            for output in node.output:
                self.producers[output] = node
            for index, name in enumerate(node.input):
                self.consumers.setdefault(name, []).append((node, index))

    def weight(self, node):
        """The constant x quantizes, directly or through the QuantizeLinear feeding it; None for activations."""
        source = node.input[0]
        producer = self.producers.get(source)
        if source not in self.constants and producer is not None and producer.op_type == "QuantizeLinear":
            source = producer.input[0]
        return self.constants.get(source)

    def weight_consumers(self, node):
        """(op, expected axis) of ops that take this Q/DQ chain's output as their weight input."""
        outputs = [node.output[0]]
        if node.op_type == "QuantizeLinear":
            outputs = [
                dq.output[0] for dq, _ in self.consumers.get(node.output[0], []) if dq.op_type == "DequantizeLinear"
            ]
        return [
            (user, WEIGHT_AXIS[user.op_type](user))
            for name in outputs
            for user, index in self.consumers.get(name, [])
            if index == 1 and user.op_type in WEIGHT_AXIS
        ]


def _node_problems(node, graph: _Graph) -> list[str]:
    scale = graph.constants.get(node.input[1])
    problems = []
    if scale is None:
        return ["scale is not a constant initializer"]
    if not np.all(scale > 0):
        problems.append(f"scale has non-positive values (min {scale.min():g}); scales must be positive")
    problems += _type_problems(node, graph)
    if scale.size > 1:
        problems += _per_channel_problems(node, graph)
    return problems


def _type_problems(node, graph: _Graph) -> list[str]:
    zero_point = graph.constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    quantized = graph.constants.get(node.input[0]) if node.op_type == "DequantizeLinear" else None
    if quantized is not None:
        dtype = quantized.dtype
    elif zero_point is not None:
        dtype = zero_point.dtype
    else:  # QuantizeLinear without a zero-point outputs uint8 unless output_dtype (3 = INT8) says otherwise
        dtype = np.dtype(np.int8 if _attribute(node, "output_dtype", 0) == 3 else np.uint8)
    if dtype == np.int32:
        return ["int32 DequantizeLinear (a quantized bias): TensorRT cannot parse it; keep biases in float"]
    problems = []
    if dtype != np.int8:
        problems.append(f"{dtype} quantization: TensorRT supports int8 (uint8 Q/DQ is DLA-only)")
    if zero_point is not None and np.any(zero_point != 0):
        problems.append(
            f"zero-point is not 0 (max |zp| {int(np.abs(zero_point.astype(np.int64)).max())}): "
            "TensorRT is symmetric-only"
        )
    if quantized is not None and dtype == np.int8 and quantized.min() < -127:
        problems.append("int8 weights contain -128: TensorRT weights must lie in [-127, 127]")
    return problems


def _per_channel_problems(node, graph: _Graph) -> list[str]:
    weight = graph.weight(node)
    if weight is None:
        return ["per-channel scale on an activation: activations must be quantized per-tensor"]
    axis = _attribute(node, "axis", 1) % weight.ndim
    return [
        f"per-channel weights of {user.name or user.op_type} ({user.op_type}) on axis {axis}; "
        f"TensorRT needs the output-channel axis {expected}"
        for user, expected in graph.weight_consumers(node)
        if axis != expected
    ]


def _attribute(node, name: str, default):
    from onnx import helper

    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)
