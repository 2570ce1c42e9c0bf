"""What gets quantised in an FP32 ONNX graph, and a batched copy of it for fast evaluation."""

from __future__ import annotations

import onnx
from onnx import numpy_helper

from ..errors import UsageError

# Compute ops whose inputs get Q/DQ. Reshape/Transpose/Gather/Flatten/pooling stay float and unquantised:
# runtimes propagate the scales through them, so a Q/DQ pair never sits around a permutation.
WEIGHTED_OPS = ("Conv", "Gemm", "MatMul")


def initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {init.name: init for init in model.graph.initializer}


def quantizable_layers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Convs, Gemms and MatMuls with constant weights, and residual Adds (two activation inputs)."""
    constants = initializers(model)
    layers = []
    for node in model.graph.node:
        if (
            node.op_type in WEIGHTED_OPS
            and node.input[1] in constants
            or node.op_type == "Add"
            and not any(name in constants for name in node.input)
        ):
            layers.append(node)
    return layers


def activation_inputs(model: onnx.ModelProto, layers: list[onnx.NodeProto]) -> list[str]:
    """The activation tensors the Q/DQ graph quantises (per tensor), in graph order, each once."""
    constants = initializers(model)
    names: list[str] = []
    for node in layers:
        inputs = residual_inputs(model, node) if node.op_type == "Add" else node.input[:1]
        names += [name for name in inputs if name not in constants and name not in names]
    return names


def residual_inputs(model: onnx.ModelProto, add: onnx.NodeProto) -> list[str]:
    """The Add inputs to quantise: not a weighted op's output that feeds only this Add.

    TensorRT fuses such an Add into the producing conv as an epilogue with the other (residual) input in
    int8 ("quantise the residual input"); a Q/DQ on the conv's own output would block that fusion.
    """
    producers = {out: node for node in model.graph.node for out in node.output}
    uses = [name for node in model.graph.node for name in node.input]
    fused = [
        name
        for name in add.input
        if producers.get(name) is not None and producers[name].op_type in WEIGHTED_OPS and uses.count(name) == 1
    ]
    return [name for name in add.input if name not in fused[:1]]


def weight_axis(node: onnx.NodeProto, rank: int) -> int:
    """The output-channel axis of a weighted op's weight (per-channel Q/DQ must use exactly this one)."""
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return rank - 1 if node.op_type == "MatMul" else 0


def layer_units(layers: list[onnx.NodeProto], max_layers: int = 40) -> dict[str, list[str]]:
    """Sensitivity units: each layer, or for deep nets each block (`/blocks/blocks.3/...` -> `/blocks/blocks.3`)."""
    names = [node.name for node in layers]
    if len(names) <= max_layers or not all(name.count("/") >= 3 for name in names):
        return {name: [name] for name in names}
    units: dict[str, list[str]] = {}
    for name in names:
        units.setdefault("/".join(name.split("/")[:3]), []).append(name)
    return units


def resolve_layers(requested, layers: list[onnx.NodeProto]) -> list[str]:
    """Node names matching each requested name or block prefix; unknown names are a usage error."""
    names = [node.name for node in layers]
    chosen = []
    for entry in requested:
        matches = [name for name in names if name == entry or name.startswith(entry.rstrip("/") + "/")]
        if not matches:
            raise UsageError(f"no quantisable layer named '{entry}'", f"layers look like '{names[0]}'")
        chosen += [name for name in matches if name not in chosen]
    return chosen


def batched(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose batch dimension is free, so evaluation runs many images per call.

    Exports have a static batch and Reshape targets such as [1, 2, C/2, H, W]; a leading batch-sized
    constant becomes 0 (copy the input's dimension), and a Reshape that read 0 literally (allowzero=1, as torch's
    dynamo exporter writes) is told to copy it instead. Only used for measuring; artifacts keep their shapes.
    Callers check the copy against the original (calibration.evaluate.evaluation_model): a batch baked in elsewhere
    is not found here.
    """
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    graph = copy.graph
    batch = graph.input[0].type.tensor_type.shape.dim[0].dim_value
    for value in [*graph.input, *graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del graph.value_info[:]
    if batch:
        shapes = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
        tensors = [(init.name, init) for init in graph.initializer]
        tensors += [(node.output[0], node.attribute[0].t) for node in graph.node if node.op_type == "Constant"]
        freed = {name for name, tensor in tensors if name in shapes and _free_batch(tensor, batch)}
        for node in graph.node:
            if node.op_type == "Reshape" and node.input[1] in freed:
                _copy_zeros(node)
    return copy


def _free_batch(tensor: onnx.TensorProto, batch: int) -> bool:
    shape = numpy_helper.to_array(tensor).copy()
    if shape.ndim == 1 and len(shape) > 1 and shape[0] == batch and 0 not in shape[1:]:
        shape[0] = 0
        tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
        return True
    return False


def _copy_zeros(reshape: onnx.NodeProto) -> None:
    for attribute in reshape.attribute:
        if attribute.name == "allowzero":
            attribute.i = 0
