"""Gather(axis=1) with constant indices that permute all channels."""

from __future__ import annotations

import onnx_ir as ir

from ..ir_tools import attr, const_array, dims, replace_with_permute
from ..perm_algebra import is_permutation
from .base import FoldPass


class CanonicalizeGather(FoldPass):
    name = "canonicalize_gather"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, modified = model.graph, False
        for gather in [n for n in graph if n.op_type == "Gather" and n.domain == ""]:
            shape = dims(gather.inputs[0])
            indices = const_array(gather.inputs[1])
            if not shape or len(shape) < 2 or shape[1] is None or indices is None or indices.ndim != 1:
                continue
            perm = indices % shape[1]
            if attr(gather, "axis", 0) % len(shape) == 1 and len(perm) == shape[1] and is_permutation(perm):
                replace_with_permute(self.ctx, graph, gather.inputs[0], perm, [gather], "gather")
                modified = True
        return ir.passes.PassResult(model, modified)
