"""Exporters' shape arithmetic, read on the dims shape inference found (used by the normalize pass).

A dynamic-batch export computes reshape targets from Shape ops (torchvision's channel_shuffle reads
b, c, h, w = x.size(): Shape -> Gather -> Div -> Unsqueeze -> Concat, then view(b, -1, h, w)). ONNX shape
inference loses the dims at a Div, at a -1 beside the symbolic batch, and in opsets before 13 altogether
(no data propagation for Gather-1/Unsqueeze-1). Here a read of static dims becomes a constant, and a
Reshape's output shape is computed from its target evaluated as a vector of dims (int, or a symbol
such as the batch), so the channel counts stay known along the graph.
"""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from .ir_tools import FoldContext, attr, const_array, dims

Dim = int | str | None  # a static dim, a named symbol, or unknown


def feeds_reshape_target(node: ir.Node) -> bool:
    return any(use.node.op_type == "Reshape" and use.idx == 1 for out in node.outputs for use in out.uses())


def resolve_static_reads(graph: ir.Graph, ctx: FoldContext) -> int:
    """Replace Shape(x), or else each Gather/Slice of it, that reads static dims of x only by a constant (never
    one that is itself a Reshape target: those stay as exported); returns how many were replaced."""
    count = 0
    for node in [n for n in graph if n.op_type == "Shape" and n.domain == ""]:
        shape = dims(node.inputs[0])
        if shape is None:
            continue
        full = [-1 if d is None else d for d in shape][_shape_range(node)]
        readers = [node] if min(full, default=0) >= 0 else [use.node for use in node.outputs[0].uses()]
        for reader in readers:
            value = np.array(full, dtype=object) if reader is node else _read(reader, full)
            if value is None or np.any(value < 0) or feeds_reshape_target(reader) or reader.graph is not graph:
                continue
            constant = ir.node("Constant", [], {"value": ir.tensor(np.asarray(value).astype(np.int64))})
            constant.name = ctx.fresh(f"{reader.name}/static")
            constant.outputs[0].name = ctx.fresh(f"{reader.outputs[0].name}/static")
            graph.insert_before(reader, constant)
            reader.outputs[0].replace_all_uses_with(constant.outputs[0])
            count += 1
    return count


def complete_reshapes(graph: ir.Graph, seen: dict[str, tuple]) -> int:
    """Set each Reshape's output shape from its target evaluated on dims, where that tells more than shape
    inference did; returns how many shapes are new (`seen`: the shapes set before, by output name, so that one
    shape inference dropped again is restored without counting as progress)."""
    count = 0
    for node in [n for n in graph if n.op_type == "Reshape" and n.domain == ""]:
        before = _symbols(node.inputs[0])
        target = _evaluate(node.inputs[1])
        if before is None or target is None or len(target) > len(before) and 0 in target[len(before) :]:
            continue
        out = [before[i] if d == 0 and not attr(node, "allowzero", 0) else d for i, d in enumerate(target)]
        if out.count(-1) == 1:
            out[out.index(-1)] = _solve(before, [d for d in out if d != -1])
        known = node.outputs[0].shape
        if -1 in out or (known is not None and _static(known) >= _static(out)):
            continue
        node.outputs[0].shape = ir.Shape([ir.SymbolicDim(d) if not isinstance(d, int) else d for d in out])
        count += seen.get(node.outputs[0].name) != tuple(out)
        seen[node.outputs[0].name] = tuple(out)
    return count


def _static(shape) -> int:
    return sum(isinstance(d, int) for d in shape)


def _solve(before: list[Dim], others: list[Dim]) -> Dim:
    """The dim a -1 stands for: equal element counts, the symbols on both sides cancelling."""
    symbols = sorted(str(d) for d in before if not isinstance(d, int))
    if None in before or None in others or symbols != sorted(str(d) for d in others if not isinstance(d, int)):
        return None
    static_in = math.prod(d for d in before if isinstance(d, int))
    static_out = math.prod(d for d in others if isinstance(d, int))
    return static_in // static_out if static_out and not static_in % static_out else None


def _symbols(value: ir.Value) -> list[Dim] | None:
    if value.shape is None:
        return None
    return [d if isinstance(d, int) else d.value for d in value.shape]


def _evaluate(value: ir.Value, depth: int = 0) -> list[Dim] | None:
    """A 0-D/1-D integer tensor as a list of dims, through Shape, Gather, Slice, Concat, (Un)Squeeze, Cast."""
    constant = const_array(value)
    if constant is not None:
        return [int(v) for v in np.ravel(constant)] if constant.ndim <= 1 else None
    node = value.producer()
    if node is None or node.domain or depth > 16:
        return None
    if node.op_type == "Shape":
        shape = _symbols(node.inputs[0])
        return None if shape is None else shape[_shape_range(node)]
    args = [_evaluate(v, depth + 1) if v is not None else None for v in node.inputs[:1]]
    if node.op_type in ("Unsqueeze", "Squeeze", "Cast", "Identity"):
        return args[0]
    if node.op_type == "Concat":
        parts = [_evaluate(v, depth + 1) for v in node.inputs]
        return None if None in parts else [d for part in parts for d in part]
    read = None if args[0] is None else _read(node, args[0])
    return None if read is None else list(np.ravel(read))


def _read(reader: ir.Node, vector: list) -> np.ndarray | None:
    """What a Gather (axis 0) or Slice of a shape vector reads, when its indices are constants; an object array
    of the reader's output rank (a scalar index reads a 0-D value)."""
    if reader.domain or reader.op_type not in ("Gather", "Slice") or reader.inputs[0] is None:
        return None
    args = [None if v is None else const_array(v) for v in reader.inputs[1:]]
    if any(a is None and v is not None for a, v in zip(args, reader.inputs[1:])):
        return None
    array = np.empty(len(vector), dtype=object)
    array[:] = vector
    if reader.op_type == "Gather":
        return (
            None
            if args[0] is None or attr(reader, "axis", 0) != 0
            else np.asarray(array[args[0].astype(np.int64)], dtype=object)
        )
    if len(reader.inputs) == 1:  # Slice-1 (opset < 10): attributes
        args = [attr(reader, "starts"), attr(reader, "ends")]
    starts, ends, _, steps = [*args, None, None][:4]
    step = 1 if steps is None else int(steps[0])
    return None if starts is None or ends is None else array[slice(int(starts[0]), int(ends[0]), step)]


def _shape_range(node: ir.Node) -> slice:
    return slice(attr(node, "start", 0), attr(node, "end", None))
