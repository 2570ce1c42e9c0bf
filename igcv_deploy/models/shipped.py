"""Models whose trained weights ship inside the package."""

from __future__ import annotations

import json

import torch

from . import digits
from .igcv3 import igcv3_cifar
from .layers import ConvNet
from .registry import ModelConfig, register_model

# Written by scripts/train_digits.py next to the weights it trained.
_DIGITS = json.loads(digits.METADATA.read_text())


@register_model(
    ModelConfig(
        name="igcv3-digits",
        input_size=(3, 32, 32),
        mean=(digits.MEAN,) * 3,
        std=(digits.STD,) * 3,
        crop_pct=1.0,
        num_classes=10,
        family="igcv3",
        dataset="sklearn-digits",
        labels=tuple("0123456789"),
        notes=(
            f"IGCV3-D {digits.WIDTH} CIFAR layout trained by scripts/train_digits.py on scikit-learn's digits "
            "(8x8 scaled to 0..1, bilinear to 32x32, grey replicated to 3 channels); held-out split from "
            "igcv_deploy.models.digits.load_digits_split()"
        ),
        extra={
            "width": digits.WIDTH,
            "heldout_accuracy": _DIGITS["heldout_accuracy"],
            "heldout_images": _DIGITS["heldout_images"],
            "weights": {
                "source": "packaged",
                "file": digits.WEIGHTS.name,
                "format": "native",
                "sha256": _DIGITS["sha256"],
            },
        },
    )
)
def igcv3_digits(num_classes: int = 10, pretrained: bool = True, permute: bool = True) -> ConvNet:
    model = igcv3_cifar(num_classes, width=digits.WIDTH, permute=permute)
    if pretrained:
        model.load_state_dict(torch.load(digits.WEIGHTS, map_location="cpu", weights_only=True))
    return model
