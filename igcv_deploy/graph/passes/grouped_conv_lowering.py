"""Lower each IGC block's grouped 1x1 convs and the permutation between them, per block, exactly.

A block is: grouped 1x1 expansion -> channel-wise ops (depthwise conv, BN, Clip) -> ChannelPermute
-> grouped 1x1 projection (where `place` leaves IGCV3's shuffle). The permutation mixes channels
across the groups, so neither grouped conv can absorb it as it is; the variants (docs/performance.md):

  native            leave it: grouped convs plus the permutation (lowered by `lower`)
  dense_projection  the projection becomes one dense conv with block-structured zeros that absorbs
                    the permutation (g x the projection's MACs)
  dense_expansion   the same on the expansion side: the permutation climbs the channel-wise ops
                    (re-indexing them) into a dense expansion (g x the expansion's MACs)
  split             one branch per projection group, outputs concatenated: branch j computes just
                    the channels group j reads (a slice of the grouped expansion and of the
                    channel-wise ops, then a dense conv); the permutation disappears into the wiring

Each block's variant comes from a plan {block signature or "*": variant} (measured on the device by
`igcv-profile tune`, or the exporter's default for the runtime and precision), else native. Every
choice is logged, JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx_ir as ir

from ..ir_tools import FoldContext, add_const, attr, bypass, const_array, perm_of, replace_value, set_const_input
from ..rules import pull_up, push_down
from .base import FoldPass
from .grouped_conv_blocks import Block, densify, find_blocks, slice_channelwise

NAME = "grouped_conv_lowering"
VARIANTS = ("native", "dense_projection", "dense_expansion", "split")


class GroupedConvLowering(FoldPass):
    name = NAME

    def __init__(self, ctx: FoldContext, plan: Mapping[str, str]):
        super().__init__(ctx)
        for key, variant in plan.items():
            if variant not in VARIANTS:
                raise ValueError(f"unknown grouped-conv variant {variant!r} for {key!r}")
        self.plan = dict(plan)

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        blocks, modified = find_blocks(model.graph, self.ctx)
        for block in blocks:
            variant = self.plan.get(block.signature, self.plan.get("*", "native"))
            if variant == "split" and not block.splittable():
                variant = "native"
            record = {
                "block": block.projection.name,
                "signature": block.signature,
                "variant": variant,
                "added_macs": block.added_macs(variant),
                "input": block.expansion.inputs[0].name,
                "output": block.projection.outputs[0].name,
            }
            LOWERINGS[variant](model.graph, block, self.ctx)
            self.ctx.record(**record)
            modified |= variant != "native"
        return ir.passes.PassResult(model, modified)


def _absorb(graph: ir.Graph, node: ir.Node, crossing, ctx: FoldContext) -> np.ndarray:
    for index, array in crossing.params.items():
        set_const_input(ctx, graph, node, index, array)
    return crossing.perm


def _dense_projection(graph: ir.Graph, block: Block, ctx: FoldContext) -> None:
    densify(ctx, graph, block.projection)
    _absorb(graph, block.projection, push_down(block.projection, 0, perm_of(block.permute)), ctx)
    bypass(graph, block.permute)


def _dense_expansion(graph: ir.Graph, block: Block, ctx: FoldContext) -> None:
    densify(ctx, graph, block.expansion)
    perm = perm_of(block.permute)
    for node in [block.expansion, *block.chain][::-1]:
        perm = _absorb(graph, node, pull_up(node, perm), ctx)
    bypass(graph, block.permute)


def _split(graph: ir.Graph, block: Block, ctx: FoldContext) -> None:
    perm, projection = perm_of(block.permute), block.projection
    groups = attr(projection, "group", 1)
    weight = const_array(projection.inputs[1])
    bias = (
        const_array(projection.inputs[2]) if len(projection.inputs) > 2 and projection.inputs[2] is not None else None
    )
    rows = weight.shape[0] // groups
    attributes = {name: a.value for name, a in projection.attributes.items()} | {"group": 1}
    outputs = []
    for j, source in enumerate(perm.reshape(groups, -1)):
        channels = np.sort(source)
        value = block.expansion.inputs[0]
        for node in [block.expansion, *block.chain]:
            value = slice_channelwise(ctx, graph, node, value, channels, projection)
        block_rows = slice(j * rows, (j + 1) * rows)
        inputs = [value, add_const(ctx, graph, f"{projection.name}/w{j}", weight[block_rows][:, np.argsort(source)])]
        if bias is not None:
            inputs.append(add_const(ctx, graph, f"{projection.name}/b{j}", bias[block_rows]))
        outputs.append(
            _insert(ctx, graph, ir.node("Conv", inputs, attributes), projection, f"{projection.name}/branch{j}")
        )
    joined = _insert(ctx, graph, ir.node("Concat", outputs, {"axis": 1}), projection, f"{projection.name}/concat")
    joined.type, joined.shape = projection.outputs[0].type, projection.outputs[0].shape
    replace_value(projection.outputs[0], joined)
    for node in [projection, block.permute, *block.chain[::-1], block.expansion]:
        graph.remove(node, safe=True)


def _insert(ctx: FoldContext, graph: ir.Graph, node: ir.Node, before: ir.Node, name: str) -> ir.Value:
    node.name = ctx.fresh(name)
    node.outputs[0].name = ctx.fresh(f"{name}_out")
    graph.insert_before(before, node)
    return node.outputs[0]


LOWERINGS = {
    "native": lambda graph, block, ctx: None,
    "dense_projection": _dense_projection,
    "dense_expansion": _dense_expansion,
    "split": _split,
}
