"""Remove what the other passes left dead (matched patterns, shape noise, replaced weights)."""

from __future__ import annotations

import onnx_ir as ir
import onnx_ir.passes.common as common

from ..ir_tools import DOMAIN, FoldContext


def run(model: ir.Model, ctx: FoldContext) -> None:
    before = model.graph.num_nodes(), len(model.graph.initializers)
    common.RemoveUnusedNodesPass()(model)
    common.RemoveUnusedOpsetsPass()(model)
    model.opset_imports.pop(DOMAIN, None)
    after = model.graph.num_nodes(), len(model.graph.initializers)
    if any(node.domain == DOMAIN for node in model.graph):
        raise RuntimeError("permutation folding left an internal ChannelPermute node (run 'lower' before 'prune')")
    ctx.record(removed_nodes=before[0] - after[0], removed_initializers=before[1] - after[1])
