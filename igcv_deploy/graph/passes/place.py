"""Put each permutation that could not be absorbed where it costs least.

After slide_up a permutation sits at the top of the channel-wise path it can slide over; walk that
path downward (without changing anything), then move it to the smallest tensor on it. Ties go to the
later position (just before the consumer that blocks it, e.g. IGCV3's grouped projection conv).
"""

from __future__ import annotations

import onnx_ir as ir

from ..ir_tools import is_permute, numel, perm_of
from ..perm_algebra import is_identity
from ..rules import push_down
from .base import FoldPass
from .slide_down import move_down


class Place(FoldPass):
    name = "place"

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        graph, modified = model.graph, False
        for node in [n for n in graph if is_permute(n)]:
            sizes = _path_sizes(node)
            best = max(i for i, size in enumerate(sizes) if size == min(sizes))
            self.ctx.record(node=node.name, length=len(perm_of(node)), path_sizes=sizes, moves=best)
            for _ in range(best):
                node = move_down(graph, node, self.ctx)
            modified |= best > 0
        return ir.passes.PassResult(model, modified)


def _path_sizes(node: ir.Node) -> list[int]:
    """Tensor size at every position the permutation could take going down, starting where it is."""
    value, perm, sizes = node.outputs[0], perm_of(node), [numel(node.outputs[0])]
    while len(value.uses()) == 1 and not value.is_graph_output():
        consumer, index = value.uses()[0]
        crossing = None if is_permute(consumer) else push_down(consumer, index, perm)
        if crossing is None or is_identity(crossing.perm):
            break
        value, perm = consumer.outputs[0], crossing.perm
        sizes.append(numel(value))
    return sizes
