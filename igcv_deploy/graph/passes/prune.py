"""Remove what the other passes left dead (matched patterns, shape noise, replaced weights)."""

from __future__ import annotations

import onnx_ir as ir
import onnx_ir.passes.common as common

from ..ir_tools import DOMAIN
from .base import FoldPass


class Prune(FoldPass):
    name = "prune"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        before = model.graph.num_nodes(), len(model.graph.initializers)
        results = [common.RemoveUnusedNodesPass()(model), common.RemoveUnusedOpsetsPass()(model)]
        dropped_domain = model.opset_imports.pop(DOMAIN, None) is not None
        after = model.graph.num_nodes(), len(model.graph.initializers)
        self.ctx.record(removed_nodes=before[0] - after[0], removed_initializers=before[1] - after[1])
        return ir.passes.PassResult(model, dropped_domain or any(result.modified for result in results))

    def ensures(self, model: ir.Model) -> None:
        if any(node.domain == DOMAIN for node in model.graph):
            raise ir.passes.PostconditionError("an internal ChannelPermute node is left: run 'lower' before 'prune'")
