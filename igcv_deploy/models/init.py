"""Seeded random initialisation for exports without --weights.

PyTorch's default conv init shrinks activations layer by layer; across IGCV3-D's 100 layers the
logits become nearly constant and parity checks lose their teeth. We use a variance-preserving init
(normal, std 1/sqrt(fan_in): most IGCV convs are linear, so He's factor 2 would blow activations up
until every ReLU6 saturates and rounding noise dominates) and give every BatchNorm non-trivial
statistics and affine parameters, so a permutation applied to the wrong channels, or a mis-folded
BN, shows up in the outputs.
"""

from __future__ import annotations

import torch
from torch import nn


def init_random_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, fan_in**-0.5, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                channels = module.num_features
                module.weight.copy_(torch.rand(channels, generator=generator) * 0.4 + 0.8)
                module.bias.copy_(torch.randn(channels, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(channels, generator=generator) * 0.4 + 0.8)
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 0.01, generator=generator)
                module.bias.zero_()
    return model
