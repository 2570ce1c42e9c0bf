"""A ShuffleNet V2 written the way torchvision writes it: your own model, exported by igcv-export.

    igcv-export --model examples/shufflenet_v2.py:build --target openvino --imgsz 96
    python examples/shufflenet_v2.py model.pt2      # a torch.export program of it, for --model model.pt2

Its channel shuffles are spelled view -> transpose -> view after a chunk + cat, as in torchvision; igcv-export
recognises and folds them like the permutations of the IGCV models it ships.
"""

from __future__ import annotations

import sys

import torch
from torch import nn


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    return torch.transpose(x, 1, 2).contiguous().view(batch, -1, height, width)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if relu else []))


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride, branch = stride, c_out // 2
        self.branch1 = (
            nn.Sequential(conv_bn(c_in, c_in, 3, stride, c_in, relu=False), conv_bn(c_in, branch, 1))
            if stride > 1
            else nn.Identity()
        )
        branch_in = c_in if stride > 1 else branch
        self.branch2 = nn.Sequential(
            conv_bn(branch_in, branch, 1),
            conv_bn(branch, branch, 3, stride, branch, relu=False),
            conv_bn(branch, branch, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, stages=(2, 2), channels=(24, 48, 96, 256), num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, channels[0], 3, 2), nn.MaxPool2d(3, 2, 1))
        blocks, c_in = [], channels[0]
        for repeats, c_out in zip(stages, channels[1:]):
            blocks += [InvertedResidual(c_in, c_out, 2)] + [
                InvertedResidual(c_out, c_out, 1) for _ in range(repeats - 1)
            ]
            c_in = c_out
        self.stages = nn.Sequential(*blocks, conv_bn(c_in, channels[-1], 1))
        self.fc = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stages(self.stem(x)).mean((2, 3)))


def build(num_classes: int = 1000) -> ShuffleNetV2:
    """The callable igcv-export calls (with num_classes when --num-classes is given)."""
    torch.manual_seed(0)  # an example without trained weights: seeded, so its bundles are reproducible
    return ShuffleNetV2(num_classes=num_classes).eval()


if __name__ == "__main__":
    program = torch.export.export(build(), (torch.zeros(1, 3, 96, 96),))
    torch.export.save(program, sys.argv[1] if len(sys.argv) > 1 else "shufflenet_v2.pt2")
