"""Building blocks shared by every family, including the one permutation primitive."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn


def shuffle_indices(channels: int, groups: int) -> list[int]:
    """Source index of every output channel of shuffle(C, g): out[k] = in[src[k]]."""
    if channels % groups:
        raise ValueError(f"shuffle: {channels} channels not divisible by {groups} groups")
    per_group = channels // groups
    return [(k % groups) * per_group + k // groups for k in range(channels)]


class ChannelShuffle(nn.Module):
    """shuffle(C, g): view channels as (g, C/g), transpose, flatten.

    Written as view/transpose/reshape with constant shapes (not nn.ChannelShuffle, which the
    TorchScript exporter cannot handle), so it exports to Reshape->Transpose->Reshape, a
    pattern the graph passes recognise. Keeping it a named module keeps it visible in FX/export.
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        if channels % groups:
            raise ValueError(f"shuffle: {channels} channels not divisible by {groups} groups")
        self.channels = channels
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        x = x.reshape(n, self.groups, self.channels // self.groups, h, w)
        return x.transpose(1, 2).reshape(n, self.channels, h, w)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, groups={self.groups}"


def conv_bn(
    c_in: int,
    c_out: int,
    kernel: int = 1,
    stride: int = 1,
    groups: int = 1,
    act: type[nn.Module] | None = None,
    eps: float = 1e-5,
) -> nn.Sequential:
    """Conv (no bias) -> BN [-> activation], the unit every family is made of."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, eps=eps),
    ]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class InterleavedGroupConv(nn.Sequential):
    """A chain of group convs with no BN or activation in between, then BN [-> activation].

    Every conv with 1 < g < C_out groups is followed by shuffle(C_out, g): the digit rotation that
    hands each of its branches' channels to different branches of the next conv (IGCV1's Reorder,
    IGCV2's P_l). `convs` lists (out channels, kernel, groups); the first conv carries the stride.
    Children are named conv1, shuffle1, conv2, ..., bn, act.
    """

    def __init__(
        self,
        c_in: int,
        convs: Sequence[tuple[int, int, int]],
        stride: int = 1,
        act: type[nn.Module] | None = None,
        eps: float = 1e-5,
    ):
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (c_out, kernel, groups) in enumerate(convs, 1):
            layers[f"conv{i}"] = nn.Conv2d(
                c_in, c_out, kernel, stride if i == 1 else 1, kernel // 2, groups=groups, bias=False
            )
            if 1 < groups < c_out:
                layers[f"shuffle{i}"] = ChannelShuffle(c_out, groups)
            c_in = c_out
        layers["bn"] = nn.BatchNorm2d(c_in, eps=eps)
        if act is not None:
            layers["act"] = act(inplace=True)
        super().__init__(layers)


def plain_stages(c_in: int, widths: Sequence[int], depth: int, block, layers_per_block: int = 1) -> list[nn.Module]:
    """The blocks of a `depth`-layer CIFAR net (stem and FC count 2) in the official IGCV1 templates:
    equal stages of `block(c_in, c_out, stride)`, stride 2 where the width changes."""
    per_stage, rest = divmod(depth - 2, len(widths) * layers_per_block)
    if rest or per_stage < 1:
        raise ValueError(f"depth {depth} is not 2 + {len(widths) * layers_per_block}*n")
    blocks = []
    for c_out in widths:
        for _ in range(per_stage):
            blocks.append(block(c_in, c_out, 1 if c_in == c_out else 2))
            c_in = c_out
    return blocks


class ClassifierHead(nn.Module):
    """Global average pool -> flatten -> FC."""

    def __init__(self, c_in: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


class ConvNet(nn.Module):
    """stem -> blocks -> [head] -> global pool -> [dropout] -> FC: the skeleton of every zoo network.

    State-dict keys are stem.*, blocks.<i>.*, head.*, classifier.fc.* for every family, which is
    what the checkpoint converters map onto.
    """

    def __init__(
        self,
        stem: nn.Module,
        blocks: Sequence[nn.Module],
        c_out: int,
        num_classes: int,
        head: nn.Module | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.head = head if head is not None else nn.Identity()
        self.classifier = ClassifierHead(c_out, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.blocks(self.stem(x))))
