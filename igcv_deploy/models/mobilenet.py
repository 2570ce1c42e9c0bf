"""MobileNetV1 and MobileNetV2: the reference yardsticks, and the skeletons IGCV2 and IGCV3 reuse."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .layers import ChannelShuffle, ConvNet, conv_bn
from .registry import ModelConfig, register_model

# (output channels, depthwise stride) of MobileNetV1's 13 separable blocks; the stem is 3x3/2 to 32.
MOBILENET_V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
# (expansion t, output channels c, repeats n, first stride s) of MobileNetV2.
MOBILENET_V2_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_even(value: float) -> int:
    """osmr-style width rounding: truncate, then bump odd widths to even (g=2 convs need it)."""
    width = int(value)
    return width + (width % 2)


def mobilenet_v1_layout(
    block: Callable[[int, int, int], nn.Module], width: float = 1.0, num_classes: int = 1000
) -> ConvNet:
    """MobileNetV1's stem, widths and strides with `block(c_in, c_out, stride)` in place of each separable block."""
    c_in = int(32 * width)
    blocks = []
    for c, stride in MOBILENET_V1_BLOCKS:
        blocks.append(block(c_in, int(c * width), stride))
        c_in = int(c * width)
    return ConvNet(conv_bn(3, int(32 * width), 3, 2, act=nn.ReLU), blocks, c_in, num_classes)


def depthwise_separable(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(c_in, c_in, 3, stride, groups=c_in, act=nn.ReLU), conv_bn(c_in, c_out, act=nn.ReLU))


class InvertedResidual(nn.Module):
    """[1x1 expand (g groups) -> BN [-> act] [-> shuffle(g)]] -> 3x3 depthwise (stride) -> BN -> ReLU6
    -> 1x1 project (g groups) -> BN [-> + input]: MobileNetV2's unit (g=1) and IGCV3's (g=2, shuffle)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int,
        expansion: float,
        residual: bool,
        groups: int = 1,
        expand: bool = True,
        expand_act: type[nn.Module] | None = None,
        permute: bool = False,
    ):
        super().__init__()
        mid = round(c_in * expansion) if expand else c_in
        self.residual = residual
        self.expand = conv_bn(c_in, mid, groups=groups, act=expand_act) if expand else nn.Identity()
        self.shuffle = ChannelShuffle(mid, groups) if permute else nn.Identity()
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid, act=nn.ReLU6)
        self.project = conv_bn(mid, c_out, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.shuffle(self.expand(x))))
        return x + y if self.residual else y


def inverted_residual_net(
    stages,
    block: Callable[..., nn.Module],
    width: float = 1.0,
    num_classes: int = 1000,
    stem_stride: int = 2,
    strides: tuple[int, ...] | None = None,
    dropout: float = 0.0,
) -> ConvNet:
    """MobileNetV2's skeleton: 3x3 stem, `block(c_in, c_out, stride, t, residual)` units (residual on every
    non-first unit of a stage), 1x1 head to 1280 (scaled only for width > 1), pool, FC."""
    strides = strides or tuple(s for *_, s in stages)
    c_in = make_even(32 * width)
    stem = conv_bn(3, c_in, 3, stem_stride, act=nn.ReLU6)
    blocks = []
    for (t, c, n, _), stride in zip(stages, strides):
        c_out = make_even(c * width)
        for unit in range(n):
            blocks.append(block(c_in, c_out, stride if unit == 0 else 1, t, unit > 0))
            c_in = c_out
    c_head = 1280 if width <= 1.0 else make_even(1280 * width)
    return ConvNet(stem, blocks, c_head, num_classes, head=conv_bn(c_in, c_head, act=nn.ReLU6), dropout=dropout)


def mobilenet_v2_block(c_in: int, c_out: int, stride: int, expansion: float, residual: bool) -> InvertedResidual:
    # The canonical t=1 unit has no expansion conv (unlike IGCV3's and the IGCV3 repo's own MNv2 symbol).
    return InvertedResidual(c_in, c_out, stride, expansion, residual, expand=expansion != 1, expand_act=nn.ReLU6)


@register_model(
    ModelConfig(name="mobilenetv2", family="mobilenet", notes="MobileNetV2-1.0, canonical (torchvision layout)")
)
def mobilenetv2(num_classes: int = 1000, dropout: float = 0.2) -> ConvNet:
    return inverted_residual_net(MOBILENET_V2_STAGES, mobilenet_v2_block, num_classes=num_classes, dropout=dropout)


@register_model(ModelConfig(name="mobilenetv1", family="mobilenet", notes="MobileNetV1-1.0 (Howard et al. 2017)"))
def mobilenetv1(num_classes: int = 1000) -> ConvNet:
    return mobilenet_v1_layout(depthwise_separable, 1.0, num_classes)
