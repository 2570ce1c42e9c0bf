"""IGCV3-D (Sun et al., BMVC 2018), built exactly like the released official symbol.

Block: 1x1 group conv (g=2) expand -> BN -> shuffle(2) -> 3x3 depthwise (stride here) -> BN ->
ReLU6 -> 1x1 group conv (g=2) project -> BN [-> + input on non-first units of a stage].
The t=1 first unit keeps its 32->32 g=2 expansion conv; no ReLU after the expansion.
"""

from __future__ import annotations

from functools import partial

from .layers import ConvNet
from .mobilenet import InvertedResidual, inverted_residual_net
from .registry import ModelConfig, register_model

# (expansion t, output channels c, repeats n, first stride s) of IGCV3-D: MobileNetV2's table with
# every interior stage's repeat count doubled (1,2,3,4,3,3,1 -> 1,4,6,8,6,6,1).
IGCV3_D_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 4, 2),
    (6, 32, 6, 2),
    (6, 64, 8, 2),
    (6, 96, 6, 1),
    (6, 160, 6, 2),
    (6, 320, 1, 1),
)
# CIFAR layout (xxradon port, downsampling 8): stem and the 24-channel stage keep stride 1.
CIFAR_STRIDES = (1, 1, 2, 2, 1, 2, 1)


def igcv3_d(
    width: float = 1.0,
    num_classes: int = 1000,
    stem_stride: int = 2,
    strides: tuple[int, ...] | None = None,
    dropout: float = 0.0,
    permute: bool = True,
) -> ConvNet:
    """IGCV3-D at `width` (osmr rounding); permute=False drops the shuffles (the no-permutation control)."""
    block = partial(InvertedResidual, groups=2, permute=permute)
    return inverted_residual_net(IGCV3_D_STAGES, block, width, num_classes, stem_stride, strides, dropout)


def _register_width(name: str, width: float, pytorchcv_name: str) -> None:
    config = ModelConfig(
        name=name,
        family="igcv3",
        notes="IGCV3-D, official released block (one shuffle(2) per block); imports pytorchcv weights",
        extra={"width": width, "weight_formats": ("native", "pytorchcv-igcv3"), "pytorchcv": pytorchcv_name},
    )

    @register_model(config)
    def factory(num_classes: int = 1000, permute: bool = True, **kw) -> ConvNet:
        return igcv3_d(width, num_classes, permute=permute, **kw)


for _name, _width, _osmr in (
    ("igcv3", 1.0, "igcv3_w1"),
    ("igcv3-0.75", 0.75, "igcv3_w3d4"),
    ("igcv3-0.5", 0.5, "igcv3_wd2"),
    ("igcv3-0.25", 0.25, "igcv3_wd4"),
):
    _register_width(_name, _width, _osmr)


@register_model(
    ModelConfig(
        name="igcv3-mxnet",
        mean=(123.68, 116.779, 103.939),
        std=(1.0, 1.0, 1.0),
        pixel_range=255.0,
        family="igcv3",
        notes="IGCV3-D 1.0 for the official MXNet weights (homles11/IGCV3): 0-255 RGB, mean subtraction only",
        extra={"width": 1.0, "weight_formats": ("native", "mxnet-igcv3")},
    )
)
def igcv3_mxnet(num_classes: int = 1000, permute: bool = True, **kw) -> ConvNet:
    return igcv3_d(1.0, num_classes, permute=permute, **kw)


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
def igcv3_cifar(num_classes: int = 10, width: float = 1.0, permute: bool = True, **kw) -> ConvNet:
    return igcv3_d(width, num_classes, stem_stride=1, strides=CIFAR_STRIDES, permute=permute, **kw)
