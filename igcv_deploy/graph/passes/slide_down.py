"""Push permutations toward the outputs.

Through channel-wise ops (re-indexing their parameters), into dense consumers (absorbed: the
consumer's input-channel axis is permuted), and through an elementwise op whose operands all carry
the same permutation. One sweep per call, composing permutations that meet.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from ..ir_tools import FoldContext, append_after, attr, dims, is_permute, make_permute, perm_of, set_const_input
from ..perm_algebra import is_identity
from ..rules import Crossing, push_down
from .compose import Sweep

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Max", "Min"}


class SlideDown(Sweep):
    name = "slide_down"

    def step(self, graph: ir.Graph, node: ir.Node) -> bool:
        changed = False
        for use in list(node.outputs[0].uses()):
            crossing = None if is_permute(use.node) else push_down(use.node, use.idx, perm_of(node))
            if crossing is not None and is_identity(crossing.perm):
                _cross(graph, node, use.node, use.idx, crossing, self.ctx)
                changed = True
        uses = node.outputs[0].uses() if node.graph is graph else ()
        if len(uses) != 1 or node.outputs[0].is_graph_output() or is_permute(uses[0].node):
            return changed
        consumer, index = uses[0]
        crossing = push_down(consumer, index, perm_of(node))
        if crossing is not None:
            _cross(graph, node, consumer, index, crossing, self.ctx)
            return True
        return _through_elementwise(graph, consumer, self.ctx) or changed


def move_down(graph: ir.Graph, node: ir.Node, ctx: FoldContext) -> ir.Node | None:
    """Move a permutation across its only consumer; returns the permutation on the far side."""
    use = node.outputs[0].uses()[0]
    return _cross(graph, node, use.node, use.idx, push_down(use.node, use.idx, perm_of(node)), ctx)


def _cross(graph: ir.Graph, node: ir.Node, consumer: ir.Node, index: int, crossing: Crossing, ctx: FoldContext):
    """Apply a crossing: the consumer reads the unpermuted tensor, the far-side permutation follows it."""
    reindexed = [set_const_input(ctx, graph, consumer, i, array) for i, array in crossing.params.items()]
    consumer.replace_input_with(index, node.inputs[0])
    absorbed = is_identity(crossing.perm)
    ctx.record(
        node=node.name,
        origin=attr(node, "origin"),
        length=len(crossing.perm),
        through=consumer.name,
        op=consumer.op_type,
        reindexed=reindexed,
        absorbed=absorbed,
    )
    _drop_if_unused(graph, node)
    return None if absorbed else _follow(graph, consumer, crossing.perm, attr(node, "origin"), ctx)


def _through_elementwise(graph: ir.Graph, consumer: ir.Node, ctx: FoldContext) -> bool:
    """Px + Py = P(x + y), when every operand carries the same permutation and nothing else reads it."""
    perms = [v.producer() for v in consumer.inputs]
    if consumer.op_type not in ELEMENTWISE or consumer.domain or len(perms) != 2 or not all(map(is_permute, perms)):
        return False
    same = np.array_equal(perm_of(perms[0]), perm_of(perms[1]))
    private = all(u.node is consumer for p in perms for u in p.outputs[0].uses())
    ranks = {len(dims(p.outputs[0]) or ()) for p in perms}
    if not same or not private or ranks != {len(dims(consumer.outputs[0]) or ())}:
        return False
    for index, perm in enumerate(perms):
        consumer.replace_input_with(index, perm.inputs[0])
    length = len(perm_of(perms[0]))
    ctx.record(node=perms[0].name, merged=perms[1].name, through=consumer.name, op=consumer.op_type, length=length)
    for perm in dict.fromkeys(perms):
        _drop_if_unused(graph, perm)
    _follow(graph, consumer, perm_of(perms[0]), attr(perms[0], "origin"), ctx)
    return True


def _follow(graph: ir.Graph, producer: ir.Node, perm, origin: str, ctx: FoldContext) -> ir.Node:
    out = producer.outputs[0]
    node = make_permute(ctx, out, perm, origin, out)
    append_after(graph, node)
    return node


def _drop_if_unused(graph: ir.Graph, node: ir.Node) -> None:
    if not node.outputs[0].uses() and not node.outputs[0].is_graph_output():
        graph.remove(node, safe=True)
