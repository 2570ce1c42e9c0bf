"""Make weights and shapes visible: drop Identity nodes (the TorchScript exporter routes weights
through them), constant-fold shape arithmetic with onnxscript's folder (so e.g. the Slice bounds
of a torch chunk() become constants and the sliced tensors get static shapes), and lift Constant
nodes to initializers.

Reshape nodes and their target computations are left as exported, so that count_permutations
reports the spelling a runtime would see; canonicalisation resolves them from inferred shapes.
"""

from __future__ import annotations

import onnx_ir as ir
import onnx_ir.passes.common as common
from onnxscript.optimizer import fold_constants

from .base import FoldPass


class Normalize(FoldPass):
    name = "normalize"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        before = model.graph.num_nodes()
        results = [
            common.IdentityEliminationPass()(model),
            fold_constants(model, onnx_shape_inference=True, should_fold=_keep_reshapes),
            common.RemoveUnusedNodesPass()(model),
            common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(model),
        ]
        self.ctx.record(removed_nodes=before - model.graph.num_nodes())
        return ir.passes.PassResult(model, any(result.modified for result in results))


def _keep_reshapes(node: ir.Node) -> bool | None:
    feeds_target = any(use.node.op_type == "Reshape" and use.idx == 1 for out in node.outputs for use in out.uses())
    return False if node.op_type == "Reshape" or feeds_target else None
