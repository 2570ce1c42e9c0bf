"""IGCV2: Interleaved Structured Sparse Convolution (Xie et al., CVPR 2018), built from the paper's kernel
and permutation definitions (below).

There is no official IGCV2 code. The kernel is W = P_L W_L ... P_2 W_2 P_1 W_1: W_1 a 3x3 depthwise
conv (K_1 = 1), W_2..W_L 1x1 group convs with K_l channels per branch (C/K_l groups), and P_l the
digit rotation shuffle(C, C/K_l) after W_l, which routes the channels of one branch to different
branches of the next conv. Families:
- IGCV2(Cx): L = 3, K_2 * K_3 = C (one path between every input and output channel);
- IGCV2*(Cx): K_l = 8, L = ceil(log8 C) + 1 (at least one path when C is not a power of 8).

UNVERIFIED choices (the paper's layer tables were not available):
1. Nonlinearity: one BN -> ReLU after the whole chain, none between the factors (IGCV1's official
   convention).
2. P_1 is the identity (any permutation suits a depthwise W_1); the final P_L is applied too. For
   IGCV2(Cx) it restores the input channel order, like IGCV1's Reorder(M).
3. IGCV2(Cx) when C is not a square: K_2 = the largest divisor of C <= sqrt(C), K_3 = C / K_2 (the
   balance condition as closely as the divisors allow).
4. Width change inside a block (C_in -> C_out): the factors work at C_in and the last group conv
   maps C_in -> C_out with the same number of groups.
5. `igcv2-cifar`: IGCV1's plain_igc template (3x3 stem; stages C, 2C, 4C of (D-2)/3 blocks; stride 2
   where the width changes) with IGCV2*(Cx) blocks, C = 64, D = 20. Not the paper's CIFAR networks.
6. `igcv2-1.0/0.5/0.25`: MobileNetV1's stem, widths (times the multiplier) and strides, with every
   depthwise-separable block replaced by an IGCV2(Cx) block. This is a like-for-like yardstick
   against MobileNetV1, not the paper's network: the paper's 564/156/46 MFLOPs (ShuffleNet V2,
   Table 8) are NOT reproduced (this build at 224: 1.0 = 1.34M params / 93.9M MACs,
   0.5 = 0.63M / 36.7M, 0.25 = 0.30M / 15.4M).
"""

from __future__ import annotations

from functools import partial
from math import isqrt

from torch import nn

from .layers import ConvNet, InterleavedGroupConv, conv_bn, plain_stages
from .mobilenet import mobilenet_v1_layout
from .registry import ModelConfig, register_model

STAR_BRANCH = 8


def cx_branch_sizes(channels: int) -> tuple[int, ...]:
    """IGCV2(Cx): (K_2, K_3) with K_2 * K_3 = C, as balanced as C's divisors allow."""
    k2 = max(d for d in range(1, isqrt(channels) + 1) if channels % d == 0)
    return k2, channels // k2


def star_branch_sizes(channels: int, branch: int = STAR_BRANCH) -> tuple[int, ...]:
    """IGCV2*(Cx): ceil(log_K C) group convs with K channels per branch."""
    branch = min(branch, channels)
    if channels % branch:
        raise ValueError(f"IGCV2*: {channels} channels are not a multiple of the branch size {branch}")
    count, reach = 1, branch
    while reach < channels:
        count, reach = count + 1, reach * branch
    return (branch,) * count


BRANCH_SIZES = {"cx": cx_branch_sizes, "star": star_branch_sizes}


def igcv2_block(c_in: int, c_out: int, stride: int = 1, variant: str = "cx") -> InterleavedGroupConv:
    """3x3 depthwise (stride) -> [1x1 group conv -> digit rotation] x (L-1) -> BN -> ReLU."""
    branches = BRANCH_SIZES[variant](c_in)
    convs = [(c_in, 3, c_in)] + [(c_in, 1, c_in // k) for k in branches]
    convs[-1] = (c_out, 1, c_in // branches[-1])
    return InterleavedGroupConv(c_in, convs, stride, nn.ReLU)


@register_model(
    ModelConfig(
        name="igcv2-cifar",
        input_size=(3, 32, 32),
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        crop_pct=1.0,
        num_classes=10,
        family="igcv2",
        dataset="cifar10",
        notes="IGCV2*(C64), K=8, plain 20-layer CIFAR net; layout UNVERIFIED (see igcv2.py)",
    )
)
def igcv2_cifar(num_classes: int = 10, width: int = 64, depth: int = 20, variant: str = "star") -> ConvNet:
    blocks = plain_stages(width, (width, 2 * width, 4 * width), depth, partial(igcv2_block, variant=variant))
    return ConvNet(conv_bn(3, width, 3, act=nn.ReLU), blocks, 4 * width, num_classes)


def _register_width(name: str, width: float) -> None:
    config = ModelConfig(
        name=name,
        family="igcv2",
        notes=f"MobileNetV1-{width} layout with IGCV2(Cx) blocks; not the paper's table (UNVERIFIED, see igcv2.py)",
        extra={"width": width},
    )

    @register_model(config)
    def factory(num_classes: int = 1000, variant: str = "cx") -> ConvNet:
        return mobilenet_v1_layout(partial(igcv2_block, variant=variant), width, num_classes)


for _name, _width in (("igcv2-1.0", 1.0), ("igcv2-0.5", 0.5), ("igcv2-0.25", 0.25)):
    _register_width(_name, _width)
