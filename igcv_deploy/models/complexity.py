"""Parameter and MAC counts (conv + fc multiply-accumulates), as used in manifests and checksums."""

from __future__ import annotations

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Conv and Linear multiply-accumulates for one image (what papers call FLOPs)."""
    total = 0

    def on_conv(module: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k_h, k_w = module.kernel_size
        total += out.numel() // out.shape[0] * (module.in_channels // module.groups) * k_h * k_w

    def on_linear(module: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() // out.shape[0] * module.in_features

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(on_conv))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(on_linear))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size))
    finally:
        for hook in hooks:
            hook.remove()
    return total
