"""Parameter and MAC checksums against the official MXNet symbols (IGCV1 ImageNet, IGCV3-D
and its width multipliers) and canonical references."""

from __future__ import annotations

import pytest
from torch import nn

from igcv_deploy.models import create_model, get_config
from igcv_deploy.models.complexity import count_macs, count_params
from igcv_deploy.models.layers import ChannelShuffle


def _macs_m(name: str) -> float:
    return round(count_macs(create_model(name), get_config(name).input_size) / 1e6, 1)


@pytest.mark.parametrize(
    "name, params, macs_m",
    [
        ("igcv3", 3_491_688, 313.0),
        ("igcv3-0.75", 2_638_084, 189.9),
        ("igcv3-0.5", 1_985_528, 96.9),
        ("igcv3-0.25", 1_534_020, 34.0),
        ("igcv3-mxnet", 3_491_688, 313.0),
        ("mobilenetv2", 3_504_872, 300.8),
        ("mobilenetv1", 4_231_976, 568.7),
    ],
)
def test_params_and_macs(name, params, macs_m):
    assert count_params(create_model(name)) == params
    assert _macs_m(name) == macs_m


def test_igcv3_official_symbol_breakdown():
    """98 bias-free convs with 2,146,144 weights, 64,544 BN gamma+beta, 32 shuffles of 2 groups [J]."""
    model = create_model("igcv3")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    shuffles = [m for m in model.modules() if isinstance(m, ChannelShuffle)]
    assert len(convs) == 98 and all(c.bias is None for c in convs)
    assert sum(c.weight.numel() for c in convs) == 2_146_144
    assert sum(b.weight.numel() + b.bias.numel() for b in bns) == 64_544
    assert len(shuffles) == 32 and {s.groups for s in shuffles} == {2}
    assert sum(1 for m in model.modules() if isinstance(m, nn.ReLU6)) == 1 + 32 + 1


def test_igcv3_permute_false_is_the_same_network_without_shuffles():
    model = create_model("igcv3", permute=False)
    assert count_params(model) == 3_491_688
    assert not any(isinstance(m, ChannelShuffle) for m in model.modules())


def test_igcv3_cifar_backbone():
    """Official block in the CIFAR layout: 2,210,688 params without the FC."""
    model = create_model("igcv3-cifar")
    assert count_params(model) - count_params(model.classifier) == 2_210_688


def test_igc_l100m2_weights():
    model = create_model("igcv1-l100m2")
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert weights == 8_606_700
    assert count_params(model) == 8_637_900
    assert all(m.eps == 2e-5 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
