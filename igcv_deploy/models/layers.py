"""Building blocks shared by every family, including the one permutation primitive."""

from __future__ import annotations

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


class ClassifierHead(nn.Module):
    """Global average pool -> flatten -> FC."""

    def __init__(self, c_in: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))
