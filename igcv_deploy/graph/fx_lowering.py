"""The grouped-conv lowering on a PyTorch module, for targets that start from PyTorch (ExecuTorch).

The same block and the same exact forms as the ONNX pass (passes/grouped_conv_lowering.py): a grouped 1x1
expansion -> channel-wise modules -> channel shuffle -> channel-wise modules -> grouped 1x1 projection, found in
the module's FX graph (torch.fx, shuffles kept as leaf calls) and rewritten on a copy of its modules:

  dense_expansion   the shuffle's rows climb into a dense expansion (the modules above it re-indexed)
  dense_projection  the shuffle slides down (the modules below it re-indexed) into a dense projection's columns
  split             one branch per projection group, concatenated: the shuffle becomes the branches' wiring

Modules with per-channel parameters (BatchNorm2d, depthwise Conv2d) are re-indexed; activations commute.
A module FX cannot trace, or one with no such block, is left as it is and the log says why.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch
from torch import fx, nn

from ..models.layers import ChannelShuffle
from .passes.grouped_conv_lowering import NAME, VARIANTS
from .perm_algebra import block_diagonal, inverse, shuffle, splits_evenly

ELEMENTWISE = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Hardswish, nn.SiLU, nn.GELU, nn.Sigmoid, nn.Identity, nn.Dropout)
SHUFFLES = (ChannelShuffle, nn.ChannelShuffle)


class ShuffleLeafTracer(fx.Tracer):
    def is_leaf_module(self, module: nn.Module, qualname: str) -> bool:
        return isinstance(module, SHUFFLES) or super().is_leaf_module(module, qualname)


def is_grouped_1x1(module) -> bool:
    return isinstance(module, nn.Conv2d) and 1 < module.groups < module.out_channels and module.kernel_size == (1, 1)


def is_channelwise(module) -> bool:
    depthwise = isinstance(module, nn.Conv2d) and module.groups == module.in_channels == module.out_channels
    return depthwise or isinstance(module, (nn.BatchNorm2d, *ELEMENTWISE))


def reindexed(module: nn.Module, channels: np.ndarray) -> nn.Module:
    """A copy computing only the output `channels`, in that order (per-channel parameters and buffers indexed)."""
    if isinstance(module, ELEMENTWISE):
        return module
    index = torch.from_numpy(np.asarray(channels))
    out = copy.deepcopy(module)
    for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
        if tensor is not None and tensor.dim() > 0:
            picked = tensor.detach()[index]
            setattr(out, name, nn.Parameter(picked) if isinstance(tensor, nn.Parameter) else picked)
    if isinstance(out, nn.Conv2d):
        out.in_channels = out.out_channels = out.groups = len(channels)
    elif isinstance(out, nn.BatchNorm2d):
        out.num_features = len(channels)
    return out


def conv_from(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None, groups: int) -> nn.Conv2d:
    out = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], 1, conv.stride, 0, groups=groups, bias=bias is not None)
    out.weight = nn.Parameter(weight.detach().clone())
    if bias is not None:
        out.bias = nn.Parameter(bias.detach().clone())
    return out


def dense_weight(conv: nn.Conv2d) -> torch.Tensor:
    return torch.from_numpy(block_diagonal(conv.weight.detach().numpy(), conv.groups))


class Block:
    """expansion -> above -> shuffle -> below -> projection, as FX nodes of one traced module."""

    def __init__(self, gm: fx.GraphModule, nodes: list[fx.Node], perm: np.ndarray):
        self.gm, self.nodes, self.perm = gm, nodes, perm
        self.shuffle_at = next(i for i, n in enumerate(nodes) if isinstance(self.module(n), SHUFFLES))

    def module(self, node: fx.Node) -> nn.Module:
        return self.gm.get_submodule(node.target)

    @property
    def expansion(self) -> nn.Conv2d:
        return self.module(self.nodes[0])

    @property
    def projection(self) -> nn.Conv2d:
        return self.module(self.nodes[-1])

    @property
    def above(self) -> list[nn.Module]:
        return [self.module(n) for n in self.nodes[1 : self.shuffle_at]]

    @property
    def below(self) -> list[nn.Module]:
        return [self.module(n) for n in self.nodes[self.shuffle_at + 1 : -1]]

    def signature(self, shape_in: tuple[int, ...], shape_out: tuple[int, ...]) -> str:
        """The ONNX pass's signature for the same block, so one plan serves both paths."""
        e, p = self.expansion, self.projection
        (h, w), (h_out, w_out) = shape_in[2:], shape_out[2:]
        return f"{e.in_channels}-{e.out_channels}-{p.out_channels} g{e.groups}/{p.groups} {h}x{w}->{h_out}x{w_out}"

    def splittable(self) -> bool:
        return splits_evenly(self.perm, self.expansion.groups, self.projection.groups)

    def added_macs(self, variant: str, shape_in: tuple[int, ...], shape_out: tuple[int, ...]) -> int:
        """Extra multiply-accumulates of a variant: the zeros a densified conv multiplies."""
        conv, shape = {
            "dense_projection": (self.projection, shape_out),
            "dense_expansion": (self.expansion, shape_in),
        }.get(variant, (None, None))
        return 0 if conv is None else conv.weight.numel() * (conv.groups - 1) * int(np.prod(shape[2:]))


class Branches(nn.Module):
    """split: the branches side by side, outputs concatenated on channels."""

    def __init__(self, branches: list[nn.Module]):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


def _dense_expansion(block: Block) -> nn.Module:
    e, perm = block.expansion, block.perm
    bias = None if e.bias is None else e.bias.detach()[perm]
    expansion = conv_from(e, dense_weight(e)[perm], bias, 1)
    return nn.Sequential(expansion, *[reindexed(m, perm) for m in block.above], *block.below, block.projection)


def _dense_projection(block: Block) -> nn.Module:
    p, back = block.projection, inverse(block.perm)
    projection = conv_from(p, dense_weight(p)[:, back], None if p.bias is None else p.bias.detach(), 1)
    return nn.Sequential(block.expansion, *block.above, *[reindexed(m, back) for m in block.below], projection)


def _split(block: Block) -> nn.Module:
    e, p, back = block.expansion, block.projection, inverse(block.perm)
    rows = p.out_channels // p.groups
    branches = []
    for j, source in enumerate(block.perm.reshape(p.groups, -1)):
        channels = np.sort(source)
        expansion = conv_from(
            e, e.weight.detach()[channels], None if e.bias is None else e.bias.detach()[channels], e.groups
        )
        block_rows = slice(j * rows, (j + 1) * rows)
        weight = p.weight.detach()[block_rows][:, np.argsort(source)]
        projection = conv_from(p, weight, None if p.bias is None else p.bias.detach()[block_rows], 1)
        above = [reindexed(m, channels) for m in block.above]
        below = [reindexed(m, back[channels]) for m in block.below]
        branches.append(nn.Sequential(expansion, *above, *below, projection))
    return Branches(branches)


REWRITES = {"dense_expansion": _dense_expansion, "dense_projection": _dense_projection, "split": _split}


def _single_user(node: fx.Node) -> bool:
    return len(node.users) == 1


def _module(gm: fx.GraphModule, node: fx.Node | None) -> nn.Module | None:
    return gm.get_submodule(node.target) if node is not None and node.op == "call_module" else None


def _block_at(gm: fx.GraphModule, shuffle_node: fx.Node) -> Block | None:
    """The block around a shuffle call, or None when the shuffle is not between two grouped 1x1 convs."""
    above, node = [], shuffle_node.args[0]
    while isinstance(node, fx.Node) and _single_user(node) and is_channelwise(_module(gm, node)):
        above.insert(0, node)
        node = node.args[0]
    if not (isinstance(node, fx.Node) and _single_user(node) and is_grouped_1x1(_module(gm, node))):
        return None
    expansion, below, user = node, [], shuffle_node
    while _single_user(user) and is_channelwise(_module(gm, next(iter(user.users)))):
        user = next(iter(user.users))
        below.append(user)
    projection = next(iter(user.users)) if _single_user(user) else None
    if not is_grouped_1x1(_module(gm, projection)):
        return None
    channels = _module(gm, expansion).out_channels
    return Block(
        gm, [expansion, *above, shuffle_node, *below, projection], shuffle(channels, _module(gm, shuffle_node).groups)
    )


def find_blocks(gm: fx.GraphModule) -> list[Block]:
    """Every block, none sharing a conv (chained group convs: every other block)."""
    blocks, claimed = [], set()
    for node in list(gm.graph.nodes):
        if not isinstance(_module(gm, node), SHUFFLES):
            continue
        block = _block_at(gm, node)
        ends = {block.nodes[0], block.nodes[-1]} if block else set()
        if block and not claimed & ends:
            claimed |= ends
            blocks.append(block)
    return blocks


def _replace(gm: fx.GraphModule, block: Block, module: nn.Module, name: str) -> None:
    gm.add_submodule(name, module)
    first, last = block.nodes[0], block.nodes[-1]
    with gm.graph.inserting_after(last):
        new = gm.graph.call_module(name, (first.args[0],))
    last.replace_all_uses_with(new)
    for node in reversed(block.nodes):
        gm.graph.erase_node(node)


def _replacement_name(gm: fx.GraphModule, block: Block, index: int) -> str:
    """'blocks.3.lowered' for a block whose convs are blocks.3.expand.0 and blocks.3.project.0: layer names in the
    manifest (INT8 float layers) still say which block they are in. Unique: chained blocks share a parent."""
    first, last = block.nodes[0].target.split("."), block.nodes[-1].target.split(".")
    common = next((i for i, (a, b) in enumerate(zip(first, last)) if a != b), min(len(first), len(last)))
    name = ".".join([*first[:common], "lowered"])
    taken = {path for path, _ in gm.named_modules()}
    return name if common and name not in taken else f"{name}_{index}"


def lower_module(model: nn.Module, example: torch.Tensor, plan: Mapping[str, str]) -> tuple[nn.Module, list[dict], str]:
    """(the lowered copy of `model`, one record per block, a line saying what was done)."""
    for key, variant in plan.items():
        if variant not in VARIANTS:
            raise ValueError(f"unknown grouped-conv variant {variant!r} for {key!r}")
    try:
        root = copy.deepcopy(model)
        gm = fx.GraphModule(root, ShuffleLeafTracer().trace(root))
    except Exception as error:  # torch.fx raises many types on untraceable Python (control flow on tensors, ...)
        return model, [], f"not lowered: torch.fx cannot trace the model ({type(error).__name__})"
    log = []
    for index, (block, signature, shape_in, shape_out) in enumerate(_shaped_blocks(gm, example)):
        variant = plan.get(signature, plan.get("*", "native"))
        if variant == "split" and not block.splittable():
            variant = "native"
        log.append(
            {
                "pass": NAME,
                "block": block.nodes[-1].target,
                "signature": signature,
                "variant": variant,
                "added_macs": block.added_macs(variant, shape_in, shape_out),
            }
        )
        if variant != "native":
            _replace(gm, block, REWRITES[variant](block), _replacement_name(gm, block, index))
    found = f"{len(log)} IGC blocks" if log else "no IGC block (grouped 1x1 -> shuffle -> grouped 1x1) found"
    if all(entry["variant"] == "native" for entry in log):  # nothing rewritten: keep the user's code and names
        return model, log, f"lowered on the PyTorch module: {found}"
    gm.graph.lint()
    gm.delete_all_unused_submodules()  # the replaced convs would otherwise travel as unused weights
    gm.recompile()
    return gm.train(model.training), log, f"lowered on the PyTorch module: {found}"


def block_forms(model: nn.Module, example: torch.Tensor) -> dict[str, tuple[dict[str, nn.Module], torch.Tensor]]:
    """{signature: ({variant: the first such block cut out as a module, in that form}, a random block input)}: what
    tuning times; empty when there is none, or torch.fx cannot trace the model."""
    try:
        gm = fx.GraphModule(model, ShuffleLeafTracer().trace(model))
    except Exception:  # as in lower_module
        return {}
    forms = {}
    for block, signature, shape_in, _ in _shaped_blocks(gm, example):
        if signature in forms:
            continue
        native = nn.Sequential(*[block.module(n) for n in block.nodes])
        variants = {"native": native} | {v: REWRITES[v](block) for v in VARIANTS if v != "native"}
        if not block.splittable():
            del variants["split"]
        forms[signature] = ({v: m.eval() for v, m in variants.items()}, torch.randn(shape_in))
    return forms


def _shaped_blocks(gm: fx.GraphModule, example: torch.Tensor):
    """(block, signature, input shape, output shape) for every block, shapes from one pass over `example`."""
    from torch.fx.passes.shape_prop import ShapeProp

    ShapeProp(gm).propagate(example)
    for block in find_blocks(gm):
        shape_in = tuple(block.nodes[0].args[0].meta["tensor_meta"].shape)
        shape_out = tuple(block.nodes[-1].meta["tensor_meta"].shape)
        yield block, block.signature(shape_in, shape_out), shape_in, shape_out
