"""Reshape -> Transpose -> Reshape that permutes channels (any rank, constant or computed shapes).

The index vector is found by running the pattern on an index tensor of the input's shape (batch 2
when it is symbolic), so 4-D/5-D forms, -1/0 in the targets and exporter shape noise (resolved by
shape inference with data propagation) are all one case.
"""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from ..ir_tools import attr, const_array, dims, replace_with_permute
from .base import FoldPass


class CanonicalizeReshapeTranspose(FoldPass):
    name = "canonicalize_reshape_transpose"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, modified = model.graph, False
        for transpose in [n for n in graph if n.op_type == "Transpose" and n.domain == ""]:
            match = _match(transpose)
            if match is None:
                continue
            first, last, perm, rank = match
            static4d = int(rank == 4 and all(const_array(n.inputs[1]) is not None for n in (first, last)))
            x, matched = first.inputs[0], [first, transpose, last]
            replace_with_permute(self.ctx, graph, x, perm, matched, "reshape_transpose", static4d=static4d)
            modified = True
        return ir.passes.PassResult(model, modified)


def _single_consumer(value: ir.Value, op_type: str) -> ir.Node | None:
    uses = value.uses()
    node = uses[0].node if len(uses) == 1 and not value.is_graph_output() else None
    return node if node is not None and node.op_type == op_type and node.domain == "" else None


def _match(transpose: ir.Node):
    """(first Reshape, last Reshape, perm, rank of the transposed tensor) when the three permute channels only."""
    first = transpose.inputs[0].producer()
    last = _single_consumer(transpose.outputs[0], "Reshape")
    if first is None or first.op_type != "Reshape" or first.domain or last is None:
        return None
    if _single_consumer(first.outputs[0], "Transpose") is None:
        return None
    shape = dims(first.inputs[0])
    if not shape or len(shape) < 2 or None in shape[1:]:
        return None
    concrete = [shape[0] or 2, *shape[1:]]
    middle = _target(first, concrete)
    axes = attr(transpose, "perm") or list(reversed(range(len(middle or ()))))
    if middle is None or len(axes) != len(middle):
        return None
    if _target(last, [middle[a] for a in axes]) != concrete:
        return None
    index = np.arange(math.prod(concrete)).reshape(middle).transpose(axes).reshape(concrete[0], concrete[1], -1)
    spatial = index.shape[2]
    perm = index[0, :, 0] // spatial
    batch = np.arange(concrete[0])[:, None, None] * concrete[1] * spatial
    expected = batch + perm[:, None] * spatial + np.arange(spatial)
    return (first, last, perm, len(middle)) if np.array_equal(index, expected) else None


def _target(reshape: ir.Node, in_shape: list[int]) -> list[int] | None:
    """Concrete output shape of a Reshape applied to `in_shape` (constant target, else inferred dims)."""
    target = const_array(reshape.inputs[1])
    if target is not None:
        keep_zero = attr(reshape, "allowzero", 0)
        out = [in_shape[i] if d == 0 and not keep_zero else int(d) for i, d in enumerate(target)]
    elif (inferred := dims(reshape.outputs[0])) is not None:
        out = [-1 if d is None else d for d in inferred]
    else:
        return None
    if out.count(-1) == 1:
        known = math.prod(d for d in out if d != -1)
        out[out.index(-1)] = math.prod(in_shape) // known if known else -1
    return out if -1 not in out and math.prod(out) == math.prod(in_shape) else None
