"""IGC blocks for grouped_conv_lowering: find them, name them by shape, densify and slice their convs.

A block is a grouped 1x1 expansion -> channel-wise ops -> ChannelPermute -> grouped 1x1 projection,
every tensor in it read by one consumer only (so the block can be rewritten without side effects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from ..ir_tools import FoldContext, add_const, attr, const_array, dims, is_permute, perm_of, set_const_input
from ..perm_algebra import block_diagonal, splits_evenly
from ..rules import POINTWISE
from .slide_down import move_down


@dataclass
class Block:
    expansion: ir.Node
    chain: list[ir.Node]  # channel-wise ops between the expansion and the permutation
    permute: ir.Node
    projection: ir.Node

    @property
    def signature(self) -> str:
        """Shape key: blocks with equal signatures cost the same, so one measurement serves all of them."""
        n, c_in, h, w = dims(self.expansion.inputs[0])
        mid, c_out = dims(self.expansion.outputs[0])[1], dims(self.projection.outputs[0])[1]
        h_out, w_out = dims(self.projection.outputs[0])[2:]
        groups = attr(self.expansion, "group", 1), attr(self.projection, "group", 1)
        return f"{c_in}-{mid}-{c_out} g{groups[0]}/{groups[1]} {h}x{w}->{h_out}x{w_out}"

    def added_macs(self, variant: str) -> int:
        """Extra multiply-accumulates of a variant (the zeros a densified conv multiplies)."""
        conv = {"dense_projection": self.projection, "dense_expansion": self.expansion}.get(variant)
        return 0 if conv is None else conv_macs(conv) * (attr(conv, "group", 1) - 1)

    def splittable(self) -> bool:
        """Every projection group reads equally many channels of every expansion group."""
        return splits_evenly(perm_of(self.permute), attr(self.expansion, "group", 1), attr(self.projection, "group", 1))


def conv_macs(conv: ir.Node) -> int:
    weight, out = const_array(conv.inputs[1]), dims(conv.outputs[0])
    return int(weight.size * np.prod(out[2:]))


def is_grouped_1x1(node: ir.Node | None) -> bool:
    if node is None or node.op_type != "Conv" or node.domain or const_array(node.inputs[1]) is None:
        return False
    weight = const_array(node.inputs[1])
    return 1 < attr(node, "group", 1) < weight.shape[0] and weight.shape[2:] == (1, 1)


def is_channelwise(node: ir.Node | None) -> bool:
    """Depthwise conv, BN, or a pointwise op whose other inputs are constants."""
    if node is None or node.domain or len(node.outputs) != 1:
        return False
    if any(v is not None and const_array(v) is None for v in node.inputs[1:]):
        return False
    if node.op_type == "Conv":
        weight = const_array(node.inputs[1])
        return weight.shape[1] == 1 and attr(node, "group", 1) == weight.shape[0]
    return node.op_type in POINTWISE or node.op_type == "BatchNormalization"


def _single_use(value: ir.Value) -> bool:
    return len(value.uses()) == 1 and not value.is_graph_output()


def find_blocks(graph: ir.Graph, ctx: FoldContext) -> tuple[list[Block], bool]:
    """Every block of the graph, none sharing a conv (IGCV2 chains convs: one block's projection is the next one's
    expansion), and whether finding them moved a permutation: one above channel-wise ops is first moved down onto
    the projection."""
    blocks, claimed, moved = [], set(), False
    for node in [n for n in graph if is_permute(n)]:
        while _single_use(node.outputs[0]) and is_channelwise(node.outputs[0].uses()[0].node):
            node, moved = move_down(graph, node, ctx), True
        if node is None or not _single_use(node.outputs[0]) or not is_grouped_1x1(node.outputs[0].uses()[0].node):
            continue
        chain, value = [], node.inputs[0]
        while _single_use(value) and is_channelwise(value.producer()):
            chain.insert(0, value.producer())
            value = value.producer().inputs[0]
        if not (_single_use(value) and is_grouped_1x1(value.producer())):
            continue
        block = Block(value.producer(), chain, node, node.outputs[0].uses()[0].node)
        shaped = all(len(dims(v) or ()) == 4 for v in (block.expansion.inputs[0], value, block.projection.outputs[0]))
        if shaped and not claimed & {block.expansion, block.projection}:  # chained IGC convs: every other block
            claimed |= {block.expansion, block.projection}
            blocks.append(block)
    return blocks, moved


def densify(ctx: FoldContext, graph: ir.Graph, conv: ir.Node) -> None:
    """A grouped conv as one dense conv whose weight is zero outside the diagonal blocks."""
    set_const_input(ctx, graph, conv, 1, block_diagonal(const_array(conv.inputs[1]), attr(conv, "group", 1)))
    conv.attributes["group"] = ir.AttrInt64("group", 1)


def slice_channelwise(
    ctx: FoldContext, graph: ir.Graph, node: ir.Node, x: ir.Value, channels: np.ndarray, before: ir.Node
) -> ir.Value:
    """A copy of `node` reading x and computing only the output `channels` (per-channel constants sliced)."""
    attributes = {name: a.value for name, a in node.attributes.items()}
    inputs = [x]
    for value in node.inputs[1:]:
        per_channel = value is not None and (node.op_type == "BatchNormalization" or node.op_type == "Conv")
        inputs.append(add_const(ctx, graph, value.name, const_array(value)[channels]) if per_channel else value)
    if node.op_type == "Conv" and attr(node, "group", 1) == const_array(node.inputs[1]).shape[0]:
        attributes["group"] = len(channels)
    copy = ir.node(node.op_type, inputs, attributes, name=ctx.fresh(node.name))
    out = copy.outputs[0]
    out.name, out.type = ctx.fresh(f"{node.name}_out"), node.outputs[0].type
    shape = list(node.outputs[0].shape)
    out.shape = ir.Shape([shape[0], len(channels), *shape[2:]])
    graph.insert_before(before, copy)
    return out
