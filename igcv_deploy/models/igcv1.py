"""IGCV1: Interleaved Group Convolutions (Zhang et al., ICCV 2017), as in the official MXNet code
(hellozting/InterleavedGroupConvolutions: network/*.py and the released ImageNet symbol JSONs).

IGC block (width C = L*M): 3x3 conv with L groups -> shuffle(C, L) (`Reorder(L)`) -> 1x1 conv with
M groups -> shuffle(C, M) (`Reorder(M)`, the inverse) -> BN (eps 2e-5) [-> ReLU]. No BN or ReLU
between the two convs: the chain is one linear map. Convs have no bias.

Templates:
- plain_igc (CIFAR, `igcv1-cifar`): 3x3 stem to C; stages C, 2C, 4C of (D-2)/3 IGC blocks; L fixed,
  M doubles; stride 2 in the first block of stages 2 and 3; global pool, FC. Default D=38, L=24, M=2
  (the repo README's training command).
- resnet_igc (CIFAR, `igcv1-resnet-cifar`): same stem; stages C, 2C, 4C of (D-2)/6 units; a unit is
  IGC -> IGC without ReLU, + shortcut, -> ReLU; the shortcut is a 1x1 conv (stride 2, L groups) + BN
  where the width changes. Kept quirk of the official code: the first IGC of a widening unit has
  C_in/L secondary groups (not C_out/L). Default D=20, L=24, M=2.
- resnet_igc_imgnet_d18 (ImageNet, `igcv1-l100m2`): 7x7/2 conv + BN + ReLU + 3x3/2 max-pool, four
  stages of two units (stride 2 in stages 2-4), 1x1 projection shortcut with L groups where the
  width changes. IGC-L100M2: stem 100, widths 200/400/800/1600, L = 100/200/400/800, M = 2;
  8,606,700 conv+fc weights (8,637,900 with BN and fc bias).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvNet, InterleavedGroupConv, conv_bn, plain_stages
from .registry import ModelConfig, register_model

BN_EPS = 2e-5


def igc_block(
    c_in: int, c_out: int, primary_groups: int, secondary_groups: int, stride: int = 1, relu: bool = True
) -> InterleavedGroupConv:
    """3x3 conv (L groups) -> Reorder(L) -> 1x1 conv (M groups) -> Reorder(M) -> BN [-> ReLU]."""
    convs = ((c_out, 3, primary_groups), (c_out, 1, secondary_groups))
    return InterleavedGroupConv(c_in, convs, stride, nn.ReLU if relu else None, BN_EPS)


class IGCResidualUnit(nn.Module):
    """IGC -> IGC without ReLU, + shortcut (identity, or 1x1 conv with L groups + BN where the width
    changes), -> ReLU. `first_secondary_groups` is the first IGC's M (the templates differ there)."""

    def __init__(self, c_in: int, c_out: int, stride: int, primary_groups: int, first_secondary_groups: int):
        super().__init__()
        self.shortcut = (
            nn.Identity() if c_in == c_out else conv_bn(c_in, c_out, 1, stride, groups=primary_groups, eps=BN_EPS)
        )
        self.igc1 = igc_block(c_in, c_out, primary_groups, first_secondary_groups, stride)
        self.igc2 = igc_block(c_out, c_out, primary_groups, c_out // primary_groups, relu=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.igc2(self.igc1(x)))


def igc_cifar(
    primary: int = 24, secondary: int = 2, depth: int = 38, template: str = "plain", num_classes: int = 10
) -> ConvNet:
    """CIFAR IGC-L{primary}M{secondary} with the official plain_igc or resnet_igc template."""

    def plain(c_in: int, c_out: int, stride: int) -> nn.Module:
        return igc_block(c_in, c_out, primary, c_out // primary, stride)

    def resnet(c_in: int, c_out: int, stride: int) -> nn.Module:  # official quirk: C_in/L, not C_out/L
        return IGCResidualUnit(c_in, c_out, stride, primary, c_in // primary)

    templates = {"plain": (plain, 1), "resnet": (resnet, 2)}
    if template not in templates:
        raise ValueError(f"unknown IGCV1 template {template!r} (plain or resnet)")
    block, layers_per_block = templates[template]
    width = primary * secondary
    blocks = plain_stages(width, (width, 2 * width, 4 * width), depth, block, layers_per_block)
    return ConvNet(conv_bn(3, width, 3, act=nn.ReLU, eps=BN_EPS), blocks, 4 * width, num_classes)


def igc_resnet18(
    stem: int = 100,
    widths: tuple[int, ...] = (200, 400, 800, 1600),
    groups: tuple[int, ...] = (100, 200, 400, 800),
    num_classes: int = 1000,
) -> ConvNet:
    """resnet_igc_imgnet_d18: ResNet-18 layout (2-2-2-2) of IGC residual units, L = `groups` per stage."""
    blocks = []
    c_in = stem
    for stage, (c_out, primary) in enumerate(zip(widths, groups)):
        for unit in range(2):
            stride = 2 if stage and not unit else 1
            blocks.append(IGCResidualUnit(c_in, c_out, stride, primary, c_out // primary))
            c_in = c_out
    stem_layers = nn.Sequential(*conv_bn(3, stem, 7, 2, act=nn.ReLU, eps=BN_EPS), nn.MaxPool2d(3, 2, 1))
    return ConvNet(stem_layers, blocks, c_in, num_classes)


_CIFAR = {
    "input_size": (3, 32, 32),
    "mean": (125.307, 122.950, 113.865),
    "std": (62.993, 62.089, 66.705),
    "pixel_range": 255.0,
    "crop_pct": 1.0,
    "num_classes": 10,
    "family": "igcv1",
    "dataset": "cifar10",
}


@register_model(ModelConfig(name="igcv1-cifar", notes="IGC-L24M2 plain_igc, depth 38 (official template)", **_CIFAR))
def igcv1_cifar(num_classes: int = 10, primary: int = 24, secondary: int = 2, depth: int = 38) -> ConvNet:
    return igc_cifar(primary, secondary, depth, "plain", num_classes)


@register_model(
    ModelConfig(name="igcv1-resnet-cifar", notes="IGC-L24M2 resnet_igc, depth 20 (official template)", **_CIFAR)
)
def igcv1_resnet_cifar(num_classes: int = 10, primary: int = 24, secondary: int = 2, depth: int = 20) -> ConvNet:
    return igc_cifar(primary, secondary, depth, "resnet", num_classes)


@register_model(
    ModelConfig(
        name="igcv1-l100m2",
        mean=(123.370, 112.757, 99.406),
        std=(68.998, 66.093, 68.292),
        pixel_range=255.0,
        family="igcv1",
        notes=(
            "IGC-L100M2+Ident. (official ImageNet symbol, 8,606,700 conv+fc weights). Preprocessing is the "
            "official default (mean/std computed on the training set, 0-255 RGB); whether the released weights "
            "used it or --fb-mean is UNVERIFIED"
        ),
        extra={"weight_formats": ("native", "mxnet-igcv1")},
    )
)
def igcv1_l100m2(num_classes: int = 1000) -> ConvNet:
    return igc_resnet18(num_classes=num_classes)
