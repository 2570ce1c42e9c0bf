"""Write the one Q/DQ ONNX every backend builds from, following TensorRT's explicit-quantisation rules.

int8 only, zero-points 0, positive scales, per-channel weights on the output-channel axis, per-tensor
activations, float biases, Q/DQ only on the inputs of compute ops (none around reshapes/permutations).
onnxruntime's quantize_static with the equivalent options writes the same convs and Gemms (tested), but
also quantises the conv side of residual Adds, which blocks TensorRT's Conv+Add fusion, and quantises
weights one channel at a time in Python (~5 s for igcv3-cifar): sensitivity and the budget write dozens.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import UsageError
from .quantizable import initializers, residual_inputs, weight_axis

MIN_OPSET = 13  # per-channel DequantizeLinear needs the `axis` attribute
# Weights in [-63, 63] by default: x86 int8 kernels without VNNI (AVX2, AVX-512 before Cascade Lake) add
# pairs of u8 x s8 products in saturating int16, which 8-bit weights overflow. Measured on an AVX2 host,
# igcv3-digits lost 3.9 (onnxruntime) and 16.7 (OpenVINO) top-1 points with 8-bit weights, 0.6 with 7-bit.
# Targets without that limit (TensorRT on GPUs, ARM dot-product, VNNI) can ask for 8.
WEIGHT_BITS = 7


def write_qdq(
    model: onnx.ModelProto,
    amax: dict[str, float],
    layers,
    switches: dict[str, str] | None = None,
    weight_bits: int = WEIGHT_BITS,
) -> onnx.ModelProto:
    """A copy of `model` with Q/DQ on the inputs of the named layers, activations scaled by amax / 127.

    `switches` (measuring only) maps layers to boolean scalar graph inputs: the layer reads its quantised
    inputs where its switch is true and its float inputs elsewhere, so one session measures every layer.
    """
    _check_opset(model)
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    writer = _Writer(initializers(result), amax, 2 ** (weight_bits - 1) - 1)
    nodes = []
    for node in graph.node:
        if node.name in layers:
            quantized = residual_inputs(model, node) if node.op_type == "Add" else node.input[:2]
            for index in [i for i, name in enumerate(node.input) if name in quantized]:
                dequantized = writer.dequantized(node, index, nodes)
                if switches:
                    dequantized = _switch(node.input[index], dequantized, switches[node.name], nodes)
                node.input[index] = dequantized
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(writer.new_initializers)
    flags = sorted(set((switches or {}).values()))
    graph.input.extend(helper.make_tensor_value_info(flag, TensorProto.BOOL, []) for flag in flags)
    _drop_unused_initializers(graph)
    return result


def _switch(original: str, dequantized: str, flag: str, nodes: list) -> str:
    output = f"{dequantized}_{flag}"
    if not any(output in node.output for node in nodes):
        nodes.append(helper.make_node("Where", [flag, dequantized, original], [output], f"{output}_Where"))
    return output


class _Writer:
    def __init__(self, constants: dict[str, TensorProto], amax: dict[str, float], weight_max: int):
        self.constants = constants
        self.amax = amax
        self.weight_max = weight_max
        self.new_initializers: list[TensorProto] = []
        self.done: dict[str, str] = {}  # tensor -> its DequantizeLinear output (shared by all consumers)

    def dequantized(self, node: onnx.NodeProto, index: int, nodes: list) -> str:
        name = node.input[index]
        if name not in self.done:
            if name in self.constants:
                nodes.append(self._weight(node, name))
            else:
                nodes += self._activation(name)
        return self.done[name]

    def _activation(self, name: str) -> list[onnx.NodeProto]:
        amax = self.amax[name]
        scale, zero = self._params(name, np.float32(amax / 127 if amax > 0 else 1.0), np.int8(0))
        self.done[name] = f"{name}_dequantized"
        return [
            helper.make_node("QuantizeLinear", [name, scale, zero], [f"{name}_quantized"], f"{name}_QuantizeLinear"),
            helper.make_node(
                "DequantizeLinear", [f"{name}_quantized", scale, zero], [self.done[name]], f"{name}_DequantizeLinear"
            ),
        ]

    def _weight(self, node: onnx.NodeProto, name: str) -> onnx.NodeProto:
        weight = numpy_helper.to_array(self.constants[name])
        axis = weight_axis(node, weight.ndim)
        others = tuple(i for i in range(weight.ndim) if i != axis)
        amax = np.abs(weight).max(axis=others)
        scale = np.where(amax > 0, amax / self.weight_max, 1.0).astype(np.float32)
        shape = [-1 if i == axis else 1 for i in range(weight.ndim)]
        limit = self.weight_max
        quantized = np.clip(np.round(weight / scale.reshape(shape)), -limit, limit).astype(np.int8)
        self.new_initializers.append(numpy_helper.from_array(quantized, f"{name}_quantized"))
        scale_name, zero_name = self._params(name, scale, np.zeros(len(scale), np.int8))
        self.done[name] = f"{name}_dequantized"
        return helper.make_node(
            "DequantizeLinear",
            [f"{name}_quantized", scale_name, zero_name],
            [self.done[name]],
            f"{name}_DequantizeLinear",
            axis=axis,
        )

    def _params(self, name: str, scale: np.ndarray, zero: np.ndarray) -> tuple[str, str]:
        self.new_initializers += [
            numpy_helper.from_array(np.asarray(scale), f"{name}_scale"),
            numpy_helper.from_array(np.asarray(zero), f"{name}_zero_point"),
        ]
        return f"{name}_scale", f"{name}_zero_point"


def _check_opset(model: onnx.ModelProto) -> None:
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise UsageError(
            f"INT8 Q/DQ needs ONNX opset {MIN_OPSET} or newer, the model has {opset}",
            f"export with --opset {MIN_OPSET} or newer",
        )


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
