"""Compose adjacent permutations, merge equal permutations of one tensor, delete identities.

An inverse pair composes to the identity and disappears. The sliding passes simplify the same way
after every sweep (Sweep), so permutations that meet while moving compose at once.
"""

from __future__ import annotations

import abc

import numpy as np
import onnx_ir as ir

from ..ir_tools import FoldContext, attr, bypass, is_permute, perm_of, set_perm
from ..perm_algebra import compose, is_identity
from .base import FoldPass


class Compose(FoldPass):
    name = "compose"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        return ir.passes.PassResult(model, simplify(model.graph, self.ctx))


class Sweep(FoldPass):
    """Try to move every permutation one op, then simplify: one sweep, repeated by the pipeline until stable."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, moved = model.graph, False
        for node in [n for n in graph if is_permute(n)]:
            moved = node.graph is graph and self.step(graph, node) or moved
        simplified = simplify(graph, self.ctx)
        return ir.passes.PassResult(model, moved or simplified)

    @abc.abstractmethod
    def step(self, graph: ir.Graph, node: ir.Node) -> bool:
        """Move one permutation; whether it moved."""


def simplify(graph: ir.Graph, ctx: FoldContext) -> bool:
    """Compose, delete identities and merge duplicates; whether anything changed."""
    changed = False
    for node in [n for n in graph if is_permute(n)]:
        if node.graph is not graph:
            continue
        changed |= _absorb_producer(graph, node, ctx)
        if is_identity(perm_of(node)):
            ctx.record(node=node.name, action="delete_identity", length=len(perm_of(node)))
            bypass(graph, node)
            changed = True
    order = {node: i for i, node in enumerate(graph)}
    for node in sorted((n for n in graph if is_permute(n)), key=order.get):
        if node.graph is graph:
            changed |= _merge_siblings(graph, node, ctx)
    return changed


def _absorb_producer(graph: ir.Graph, node: ir.Node, ctx: FoldContext) -> bool:
    """P2(P1(x)) -> P(x) with P = P1 then P2."""
    changed = False
    while is_permute(first := node.inputs[0].producer()):
        set_perm(node, compose(perm_of(first), perm_of(node)))
        node.attributes["origin"] = ir.AttrString("origin", f"{attr(first, 'origin')}+{attr(node, 'origin')}")
        node.replace_input_with(0, first.inputs[0])
        ctx.record(node=node.name, action="compose", merged=first.name, length=len(perm_of(node)))
        if not first.outputs[0].uses() and not first.outputs[0].is_graph_output():
            graph.remove(first, safe=True)
        changed = True
    return changed


def _merge_siblings(graph: ir.Graph, node: ir.Node, ctx: FoldContext) -> bool:
    """Two equal permutations of the same tensor: keep the first."""
    changed = False
    for use in list(node.inputs[0].uses()):
        twin = use.node
        if twin is node or not is_permute(twin) or twin.outputs[0].is_graph_output():
            continue
        if np.array_equal(perm_of(twin), perm_of(node)):
            ctx.record(node=node.name, action="merge_duplicate", merged=twin.name, length=len(perm_of(node)))
            twin.outputs[0].replace_all_uses_with(node.outputs[0])
            graph.remove(twin, safe=True)
            changed = True
    return changed
