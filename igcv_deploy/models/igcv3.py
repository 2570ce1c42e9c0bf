"""IGCV3-D (Sun et al., BMVC 2018), built exactly like the released official symbol.

Block: 1x1 group conv (g=2) expand -> BN -> shuffle(2) -> 3x3 depthwise (stride here) -> BN ->
ReLU6 -> 1x1 group conv (g=2) project -> BN [-> + input on non-first units of a stage].
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ChannelShuffle, ClassifierHead, conv_bn
from .registry import ModelConfig, register_model

# (expansion t, output channels c, repeats n, first stride s) of IGCV3-D: MobileNetV2's table with
# every interior stage's repeat count doubled (1,2,3,4,3,3,1 -> 1,4,6,8,6,6,1).
IGCV3_D_STAGES = ((1, 16, 1, 1), (6, 24, 4, 2), (6, 32, 6, 2), (6, 64, 8, 2), (6, 96, 6, 1), (6, 160, 6, 2), (6, 320, 1, 1))
# CIFAR layout (xxradon port, downsampling 8): stem and the 24-channel stage keep stride 1.
CIFAR_STRIDES = (1, 1, 2, 2, 1, 2, 1)


def make_even(value: float) -> int:
    """osmr-style width rounding: truncate, then bump odd widths to even (g=2 convs need it)."""
    width = int(value)
    return width + (width % 2)


class IGCV3Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int, residual: bool, permute: bool = True):
        super().__init__()
        mid = round(c_in * expansion)
        self.residual = residual
        self.expand = conv_bn(c_in, mid, groups=2)
        self.shuffle = ChannelShuffle(mid, 2) if permute else nn.Identity()
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid, act=nn.ReLU6)
        self.project = conv_bn(mid, c_out, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.shuffle(self.expand(x))))
        return x + y if self.residual else y


class IGCV3(nn.Module):
    def __init__(
        self,
        width: float = 1.0,
        num_classes: int = 1000,
        stem_stride: int = 2,
        strides: tuple[int, ...] | None = None,
        dropout: float = 0.0,
        permute: bool = True,
    ):
        super().__init__()
        strides = strides or tuple(s for *_, s in IGCV3_D_STAGES)
        c_in = make_even(32 * width)
        self.stem = conv_bn(3, c_in, 3, stem_stride, act=nn.ReLU6)
        blocks = []
        for (t, c, n, _), stride in zip(IGCV3_D_STAGES, strides):
            c_out = make_even(c * width)
            for unit in range(n):
                first = unit == 0
                blocks.append(IGCV3Block(c_in, c_out, stride if first else 1, t, residual=not first, permute=permute))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        c_head = 1280 if width <= 1.0 else make_even(1280 * width)
        self.head = conv_bn(c_in, c_head, act=nn.ReLU6)
        self.classifier = ClassifierHead(c_head, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.blocks(self.stem(x))))


_IMAGENET = dict(family="igcv3", notes="IGCV3-D, official released block (one shuffle(2) per block)")


def _register_width(name: str, width: float) -> None:
    @register_model(ModelConfig(name=name, extra={"width": width}, **_IMAGENET))
    def factory(num_classes: int = 1000, permute: bool = True, **kw) -> IGCV3:
        return IGCV3(width, num_classes, permute=permute, **kw)


for _name, _width in (("igcv3", 1.0), ("igcv3-0.75", 0.75), ("igcv3-0.5", 0.5), ("igcv3-0.25", 0.25)):
    _register_width(_name, _width)


@register_model(
    ModelConfig(
        name="igcv3-cifar",
        input_size=(3, 32, 32),
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        crop_pct=1.0,
        num_classes=10,
        family="igcv3",
        dataset="cifar10",
        notes="IGCV3-D 1.0 CIFAR layout (stride 1 stem and 24-ch stage; UNVERIFIED vs the paper)",
    )
)
def igcv3_cifar(num_classes: int = 10, width: float = 1.0, permute: bool = True, **kw) -> IGCV3:
    return IGCV3(width, num_classes, stem_stride=1, strides=CIFAR_STRIDES, dropout=0.0, permute=permute, **kw)
