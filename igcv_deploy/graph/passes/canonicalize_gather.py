"""Gather(axis=1) with constant indices that permute all channels, and the same gather spelled between two
Transposes: the dynamo exporter writes torch's advanced indexing x[:, perm] as Transpose(1, 0, ...) ->
GatherND(indices [C, 1]) -> Transpose(1, 0, ...), and a Gather on the axis the channels were moved to reads
the same. Both become one ChannelPermute with spelling "gather"; the log names the nodes replaced.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from ..ir_tools import attr, const_array, dims, replace_with_permute
from ..perm_algebra import is_permutation
from .base import FoldPass


class CanonicalizeGather(FoldPass):
    name = "canonicalize_gather"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, modified = model.graph, False
        for gather in [n for n in graph if n.op_type in ("Gather", "GatherND") and n.domain == ""]:
            if gather.graph is not graph:
                continue
            match = _direct(gather) if gather.op_type == "Gather" else None
            match = match or _between_transposes(gather)
            if match is not None:
                x, perm, matched = match
                replace_with_permute(self.ctx, graph, x, perm, matched, "gather")
                modified = True
        return ir.passes.PassResult(model, modified)


def _direct(gather: ir.Node):
    perm = _channel_indices(gather, 1)
    return None if perm is None else (gather.inputs[0], perm, [gather])


def _between_transposes(gather: ir.Node):
    """Transpose -> gather along the axis the channels went to -> the inverse Transpose."""
    before = gather.inputs[0].producer()
    uses = gather.outputs[0].uses()
    after = uses[0].node if len(uses) == 1 and not gather.outputs[0].is_graph_output() else None
    if any(t is None or t.op_type != "Transpose" or t.domain for t in (before, after)):
        return None
    if len(before.outputs[0].uses()) != 1 or before.outputs[0].is_graph_output():
        return None
    axes = attr(before, "perm")
    back = attr(after, "perm")
    if axes is None or back is None or len(axes) != len(back) or 1 not in axes:
        return None
    if [axes[b] for b in back] != list(range(len(axes))):
        return None
    axis = list(axes).index(1)
    if gather.op_type == "GatherND" and (axis != 0 or attr(gather, "batch_dims", 0) != 0):
        return None
    perm = _channel_indices(gather, axis)
    return None if perm is None else (before.inputs[0], perm, [before, gather, after])


def _channel_indices(gather: ir.Node, axis: int) -> np.ndarray | None:
    """The channel permutation a gather of its data's `axis` applies (which holds the channels), or None."""
    shape = dims(gather.inputs[0])
    indices = const_array(gather.inputs[1])
    if not shape or len(shape) < 2 or indices is None:
        return None
    if gather.op_type == "GatherND":
        if indices.ndim != 2 or indices.shape[1] != 1:
            return None
        indices = indices[:, 0]
    elif attr(gather, "axis", 0) % len(shape) != axis:
        return None
    channels = shape[axis]
    if channels is None or indices.ndim != 1 or len(indices) != channels:
        return None
    perm = indices % channels
    return perm if is_permutation(perm) else None
