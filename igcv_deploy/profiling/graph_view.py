"""A runtime-neutral view of a model graph, read from ONNX (with `onnx`) or an OpenVINO IR.

Only what role classification needs: op type (OpenVINO types renamed to their ONNX names),
data inputs (constant subgraphs such as weights and their DequantizeLinear are folded away),
outputs, and the attributes of convolutions, transposes and gathers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OV_TO_ONNX = {
    "Convolution": "Conv",
    "GroupConvolution": "Conv",
    "Clamp": "Clip",
    "Multiply": "Mul",
    "Subtract": "Sub",
    "Divide": "Div",
    "Swish": "HardSwish",
    "HSwish": "HardSwish",
}


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]  # data (non-constant) inputs
    outputs: list[str]
    group: int = 1
    weight: tuple = ()  # Conv weight shape, ONNX layout: (C_out, C_in / group, kh, kw)
    axis: int | None = None  # Gather with constant indices, Concat: the axis
    perm: tuple = ()


def read_graph(path: str | Path) -> list[Node]:
    """Nodes in topological order: an .xml IR read with OpenVINO, an .onnx file with the `onnx` package."""
    return _from_openvino(path) if Path(path).suffix == ".xml" else _from_onnx(path)


def _from_onnx(path) -> list[Node]:
    import onnx
    from onnx import helper

    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {init.name: tuple(init.dims) for init in graph.initializer}
    nodes = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if all(i in constants for i in node.input if i):  # Constant, or DequantizeLinear of a weight, ...
            constants.update({out: _constant_shape(attrs, node.input, constants) for out in node.output})
            continue
        item = Node(node.name, node.op_type, [i for i in node.input if i and i not in constants], list(node.output))
        if node.op_type == "Conv":
            item.group, item.weight = attrs.get("group", 1), constants.get(node.input[1], ())
        elif node.op_type == "Gather" and node.input[1] in constants or node.op_type == "Concat":
            item.axis = attrs.get("axis", 0)
        elif node.op_type == "Transpose":
            item.perm = tuple(attrs.get("perm", ()))
        nodes.append(item)
    return nodes


def _constant_shape(attrs: dict, inputs, constants: dict) -> tuple:
    """Shape of a constant-folded node's output: its value, else its first input's (DequantizeLinear, Cast)."""
    if "value" in attrs:
        return tuple(attrs["value"].dims)
    return constants.get(inputs[0], ()) if inputs else ()


def _from_openvino(path) -> list[Node]:
    import openvino as ov

    constant_ids: set[str] = set()
    nodes = []
    for op in ov.Core().read_model(str(path)).get_ordered_ops():
        name, kind = op.get_friendly_name(), op.get_type_name()
        sources = [
            f"{i.get_source_output().get_node().get_friendly_name()}:{i.get_source_output().get_index()}"
            for i in op.inputs()
        ]
        outputs = [f"{name}:{i}" for i in range(op.get_output_size())]
        if kind == "Constant" or (sources and all(s in constant_ids for s in sources)):
            constant_ids.update(outputs)
            continue
        item = Node(name, OV_TO_ONNX.get(kind, kind), [s for s in sources if s not in constant_ids], outputs)
        _ov_attributes(item, op, kind)
        nodes.append(item)
    return nodes


def _ov_attributes(item: Node, op, kind: str) -> None:
    shapes = [tuple(i.get_partial_shape().to_shape()) if i.get_partial_shape().is_static else () for i in op.inputs()]
    if kind == "GroupConvolution":  # weights (G, C_out/G, C_in/G, kh, kw)
        g, c_out, c_in, *kernel = shapes[1]
        item.group, item.weight = g, (g * c_out, c_in, *kernel)
    elif kind == "Convolution":
        item.weight = shapes[1]
    elif kind == "Concat":
        item.axis = op.get_attributes().get("axis")
    elif kind in ("Gather", "Transpose"):
        values = [_constant(op.input_value(i)) for i in range(1, op.get_input_size())]
        if kind == "Transpose" and values[0] is not None:
            item.perm = tuple(int(v) for v in values[0].ravel())
        elif kind == "Gather" and values[0] is not None and values[1] is not None:
            item.axis = int(values[1].ravel()[0])


def _constant(output):
    node = output.get_node()
    return node.get_data() if node.get_type_name() == "Constant" else None
