"""Pull permutations toward the inputs.

Through channel-wise ops (re-indexing their parameters) and into dense producers (absorbed: the
producer's output rows and bias are permuted). What cannot be absorbed ends at the top of the
channel-wise path it can slide over, where `place` picks its final spot. One sweep per call.
"""

from __future__ import annotations

import onnx_ir as ir

from ..ir_tools import attr, is_permute, make_permute, perm_of, replace_value, set_const_input
from ..perm_algebra import is_identity
from ..rules import pull_up
from .compose import Sweep


class SlideUp(Sweep):
    name = "slide_up"

    def step(self, graph: ir.Graph, node: ir.Node) -> bool:
        x = node.inputs[0]
        producer = x.producer()
        if producer is None or is_permute(producer) or len(x.uses()) != 1 or x.is_graph_output():
            return False
        crossing = pull_up(producer, perm_of(node))
        if crossing is None:
            return False
        reindexed = [set_const_input(self.ctx, graph, producer, i, array) for i, array in crossing.params.items()]
        absorbed = is_identity(crossing.perm)
        if not absorbed:
            source = producer.inputs[crossing.index]
            moved = make_permute(self.ctx, source, crossing.perm, attr(node, "origin"), source)
            graph.insert_before(producer, moved)
            producer.replace_input_with(crossing.index, moved.outputs[0])
        self.ctx.record(
            node=node.name,
            origin=attr(node, "origin"),
            length=len(crossing.perm),
            through=producer.name,
            op=producer.op_type,
            reindexed=reindexed,
            absorbed=absorbed,
        )
        replace_value(node.outputs[0], x)
        graph.remove(node, safe=True)
        return True
