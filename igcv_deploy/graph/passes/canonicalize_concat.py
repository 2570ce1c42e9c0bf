"""Concat(axis=1) of Slice/Split pieces of one tensor that together permute its channels."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from ..ir_tools import attr, const_array, dims, replace_with_permute
from ..perm_algebra import is_permutation
from .base import FoldPass


class CanonicalizeConcat(FoldPass):
    name = "canonicalize_concat"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, modified = model.graph, False
        for concat in [n for n in graph if n.op_type == "Concat" and n.domain == ""]:
            rank = len(dims(concat.outputs[0]) or ())
            pieces = [_piece(v) for v in concat.inputs]
            if rank < 2 or attr(concat, "axis") % rank != 1 or len(pieces) < 2 or None in pieces:
                continue
            sources = {id(source) for source, _ in pieces}
            perm = np.concatenate([index for _, index in pieces])
            if len(sources) == 1 and len(perm) == dims(pieces[0][0])[1] and is_permutation(perm):
                producers = list(dict.fromkeys(v.producer() for v in concat.inputs))
                replace_with_permute(self.ctx, graph, pieces[0][0], perm, [*producers, concat], "concat")
                modified = True
        return ir.passes.PassResult(model, modified)


def _piece(value: ir.Value) -> tuple[ir.Value, np.ndarray] | None:
    """(source, channel indices of the source) when value is a channel slice of one tensor."""
    node = value.producer()
    if node is None or node.domain or node.op_type not in ("Split", "Slice"):
        return None
    shape = dims(node.inputs[0])
    if not shape or len(shape) < 2 or shape[1] is None:
        return None
    channels = np.arange(shape[1])
    if node.op_type == "Split" and attr(node, "axis", 0) % len(shape) == 1:
        sizes = _split_sizes(node, shape[1])
        offsets = np.cumsum([0, *sizes])
        return node.inputs[0], channels[offsets[value.index()] : offsets[value.index() + 1]]
    if node.op_type == "Slice":
        bounds = _slice_bounds(node)
        if bounds is None:
            return None
        starts, ends, axes, steps = bounds
        axes = np.arange(len(starts)) if axes is None else axes % len(shape)
        step = 1 if steps is None else int(steps[0])
        if list(axes) == [1]:
            return node.inputs[0], channels[slice(int(starts[0]), int(ends[0]), step)]
    return None


def _slice_bounds(node: ir.Node) -> tuple | None:
    """(starts, ends, axes, steps) of a Slice: constant inputs (opset 10+) or attributes (Slice-1, opset < 10)."""
    if len(node.inputs) == 1:
        starts, ends, axes = (attr(node, key) for key in ("starts", "ends", "axes"))
        if starts is None or ends is None:
            return None
        return starts, ends, None if axes is None else np.array(axes), None
    inputs = [*node.inputs[1:], None, None][:4]
    bounds = tuple(None if v is None else const_array(v) for v in inputs)
    if bounds[0] is None or bounds[1] is None or any(v is not None and b is None for v, b in zip(inputs, bounds)):
        return None
    return bounds


def _split_sizes(split: ir.Node, channels: int) -> list[int]:
    sizes = const_array(split.inputs[1]) if len(split.inputs) > 1 and split.inputs[1] is not None else None
    sizes = attr(split, "split") if sizes is None else sizes
    if sizes is None:
        parts = len(split.outputs)
        sizes = [-(-channels // parts)] * (parts - 1) + [channels - -(-channels // parts) * (parts - 1)]
    return [int(s) for s in sizes]
