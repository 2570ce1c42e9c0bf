"""Make weights and shapes visible: drop Identity nodes (the TorchScript exporter routes weights
through them), constant-fold shape arithmetic with onnxscript's folder (so e.g. the Slice bounds
of a torch chunk() become constants and the sliced tensors get static shapes), and lift Constant
nodes to initializers.

Dims a dynamic-batch or old-opset export computes from Shape ops are resolved first
(graph/shape_arith.py): reads of static dims become constants and Reshape outputs get the shape
their targets describe, then the arithmetic is folded and shapes re-inferred, until nothing
changes. The batch stays symbolic.

Reshape nodes and their target computations are left as exported, so that count_permutations
reports the spelling a runtime would see; canonicalisation resolves them from inferred shapes.
"""

from __future__ import annotations

import onnx_ir as ir
import onnx_ir.passes.common as common
from onnxscript.optimizer import fold_constants

from ..shape_arith import complete_reshapes, feeds_reshape_target, resolve_static_reads
from .base import FoldPass

ROUNDS = 100  # each round makes more dims known; a graph takes about one per computed reshape in a chain


class Normalize(FoldPass):
    name = "normalize"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        before = model.graph.num_nodes()
        results = [
            common.IdentityEliminationPass()(model),
            fold_constants(model, onnx_shape_inference=True, should_fold=_keep_reshapes),
        ]
        resolved, completed = 0, {}
        for _ in range(ROUNDS):
            count = resolve_static_reads(model.graph, self.ctx) + complete_reshapes(model.graph, completed)
            if not count:
                break
            resolved += count
            fold_constants(model, onnx_shape_inference=True, should_fold=_keep_reshapes)
            common.RemoveUnusedNodesPass()(model)
            common.ShapeInferencePass(strict_mode=False, data_prop=True)(model)
        results += [
            common.RemoveUnusedNodesPass()(model),
            common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(model),
        ]
        fields = {"resolved_dims": resolved} if resolved else {}
        self.ctx.record(removed_nodes=before - model.graph.num_nodes(), **fields)
        return ir.passes.PassResult(model, bool(resolved) or any(result.modified for result in results))


def _keep_reshapes(node: ir.Node) -> bool | None:
    return False if node.op_type == "Reshape" or feeds_reshape_target(node) else None
