"""Lower each ChannelPermute to standard ONNX ops for the runtime.

Default: constant-shape 4-D Reshape -> Transpose(0, 2, 1, 3) -> Reshape (one ShuffleChannels in
OpenVINO, one shuffle layer in TensorRT), batch copied with 0 when symbolic. A permutation that is
not such a digit transpose becomes Gather(axis=1), except on OpenVINO: its CPU plugin folds a channel
Gather feeding a dense Conv into the conv weights with the inverse permutation (wrong results,
tests/graph/test_openvino_gather.py), so there it becomes Split + Concat of contiguous source runs
(measured exact in OpenVINO 2026.4.1, as is the 4-D form with a merged batch).
"""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from ..ir_tools import add_const, attr, dims, is_permute, output_like, perm_of, replace_value
from ..perm_algebra import as_swap4d, source_runs
from .base import FoldPass


class Lower(FoldPass):
    name = "lower"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        permutes = [n for n in model.graph if is_permute(n)]
        for node in permutes:
            self._lower(model, node)
        return ir.passes.PassResult(model, bool(permutes))

    def _lower(self, model: ir.Model, node: ir.Node) -> None:
        ctx, graph = self.ctx, model.graph
        x, perm, name = node.inputs[0], perm_of(node), attr(node, "origin")
        shapes = _swap_shapes(dims(x), perm)
        if shapes is not None:
            spelling, new = "reshape_transpose", _reshape_transpose(ctx, graph, x, name, *shapes)
        elif ctx.runtime == "openvino":
            opset = model.opset_imports.get("", 1)
            spelling, new = "split_concat", _split_concat(ctx, graph, x, perm, name, opset)
        else:
            indices = add_const(ctx, graph, f"{name}/indices", perm)
            spelling, new = "gather", [ir.node("Gather", [x, indices], {"axis": 1})]
        for part in new:
            part.name = ctx.fresh(f"{name}/{part.op_type}")
            for out in part.outputs:
                out.name = ctx.fresh(f"{part.name}_out")
        graph.insert_before(node, new)
        output_like(new[-1].outputs[0], node.outputs[0])
        replace_value(node.outputs[0], new[-1].outputs[0])
        graph.remove(node, safe=True)
        ctx.record(node=node.name, origin=name, length=len(perm), spelling=spelling, nodes=[n.name for n in new])


def _swap_shapes(shape: list[int | None] | None, perm) -> tuple[list[int], list[int]] | None:
    """Constant targets of the 4-D Reshape -> Transpose -> Reshape, or None if there is none."""
    swap = as_swap4d(perm)
    if swap is None or not shape or len(shape) < 2 or None in shape[1:]:
        return None
    batch, rest = shape[0], shape[1:]
    inner = swap.inner * math.prod(shape[2:])
    if batch is not None:
        return [batch * swap.outer, swap.rows, swap.cols, inner], shape
    if swap.outer == 1:
        return [0, swap.rows, swap.cols, inner], [0, *rest]
    return [-1, swap.rows, swap.cols, inner], [-1, *rest]


def _reshape_transpose(ctx, graph, x, name, split_shape, restore_shape) -> list[ir.Node]:
    split = ir.node("Reshape", [x, add_const(ctx, graph, f"{name}/split_shape", np.array(split_shape))])
    swap = ir.node("Transpose", split.outputs, {"perm": [0, 2, 1, 3]})
    restore = ir.node("Reshape", [swap.outputs[0], add_const(ctx, graph, f"{name}/shape", np.array(restore_shape))])
    return [split, swap, restore]


def _split_concat(ctx, graph, x, perm, name, opset) -> list[ir.Node]:
    runs = source_runs(perm)
    by_start = sorted(runs)
    sizes = [length for _, length in by_start]
    if opset >= 13:
        inputs, attributes = [x, add_const(ctx, graph, f"{name}/split", np.array(sizes))], {"axis": 1}
    else:
        inputs, attributes = [x], {"axis": 1, "split": sizes}
    split = ir.node("Split", inputs, attributes, num_outputs=len(runs))
    pieces = [split.outputs[by_start.index(run)] for run in runs]
    return [split, ir.node("Concat", pieces, {"axis": 1})]
