"""Compose adjacent permutations, merge equal permutations of one tensor, delete identities.

An inverse pair composes to the identity and disappears.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from ..ir_tools import FoldContext, attr, bypass, is_permute, perm_of, set_perm
from ..perm_algebra import compose, is_identity


def run(model: ir.Model, ctx: FoldContext) -> None:
    simplify(model.graph, ctx)


def move_until_stable(model: ir.Model, ctx: FoldContext, step) -> None:
    """Apply `step(graph, permute_node, ctx) -> moved?` to every permutation until none moves."""
    graph = model.graph
    changed = True
    while changed:
        changed = False
        for node in [n for n in graph if is_permute(n)]:
            changed = node.graph is graph and step(graph, node, ctx) or changed
        simplify(graph, ctx)


def simplify(graph: ir.Graph, ctx: FoldContext) -> None:
    for node in [n for n in graph if is_permute(n)]:
        if node.graph is not graph:
            continue
        _absorb_producer(graph, node, ctx)
        if is_identity(perm_of(node)):
            ctx.record(node=node.name, action="delete_identity", length=len(perm_of(node)))
            bypass(graph, node)
    order = {node: i for i, node in enumerate(graph)}
    for node in sorted((n for n in graph if is_permute(n)), key=order.get):
        if node.graph is graph:
            _merge_siblings(graph, node, ctx)


def _absorb_producer(graph: ir.Graph, node: ir.Node, ctx: FoldContext) -> None:
    """P2(P1(x)) -> P(x) with P = P1 then P2."""
    while is_permute(first := node.inputs[0].producer()):
        set_perm(node, compose(perm_of(first), perm_of(node)))
        node.attributes["origin"] = ir.AttrString("origin", f"{attr(first, 'origin')}+{attr(node, 'origin')}")
        node.replace_input_with(0, first.inputs[0])
        ctx.record(node=node.name, action="compose", merged=first.name, length=len(perm_of(node)))
        if not first.outputs[0].uses() and not first.outputs[0].is_graph_output():
            graph.remove(first, safe=True)


def _merge_siblings(graph: ir.Graph, node: ir.Node, ctx: FoldContext) -> None:
    """Two equal permutations of the same tensor: keep the first."""
    for use in list(node.inputs[0].uses()):
        twin = use.node
        if twin is node or not is_permute(twin) or twin.outputs[0].is_graph_output():
            continue
        if np.array_equal(perm_of(twin), perm_of(node)):
            ctx.record(node=node.name, action="merge_duplicate", merged=twin.name, length=len(perm_of(node)))
            twin.outputs[0].replace_all_uses_with(node.outputs[0])
            graph.remove(twin, safe=True)
