"""fx_lowering: the grouped-conv lowering on a PyTorch module (the ExecuTorch path). Every variant is exact
(<= 1e-5 relative to the original module) on every registered model and on small named modules, removes the
shuffles it should, follows a per-signature plan, and leaves what it cannot trace alone."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from igcv_deploy.graph.fx_lowering import SHUFFLES, Branches, lower_module
from igcv_deploy.graph.passes.grouped_conv_lowering import VARIANTS
from igcv_deploy.models import create_model, list_models
from igcv_deploy.models.layers import ChannelShuffle

TOL = 1e-5
REWRITES = [v for v in VARIANTS if v != "native"]


def randomize_batchnorm(model: nn.Module) -> nn.Module:
    """Non-trivial BN statistics, so a wrongly re-indexed BN cannot hide behind identical channels."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                for tensor in (module.running_mean, module.weight, module.bias):
                    tensor.copy_(torch.randn(tensor.shape, generator=generator))
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
    return model.eval()


def rel_error(reference: torch.Tensor, value: torch.Tensor) -> float:
    return float(((reference - value).abs().max() / reference.abs().max().clamp_min(1e-12)).detach())


def shuffles_left(module: nn.Module) -> int:
    return sum(isinstance(m, SHUFFLES) for m in module.modules())


class NamedBlock(nn.Module):
    """grouped 1x1 -> BN -> ReLU6 -> shuffle -> depthwise 3x3 (bias) -> BN -> ReLU -> grouped 1x1 (bias)."""

    def __init__(self, shuffle: nn.Module, groups: int = 2, c_in: int = 8, mid: int = 16, c_out: int = 12):
        super().__init__()
        self.expand = nn.Conv2d(c_in, mid, 1, groups=groups, bias=False)
        self.above = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU6())
        self.shuffle = shuffle
        self.below = nn.Sequential(nn.Conv2d(mid, mid, 3, 2, 1, groups=mid), nn.BatchNorm2d(mid), nn.ReLU())
        self.project = nn.Conv2d(mid, c_out, 1, groups=groups)

    def forward(self, x):
        return self.project(self.below(self.shuffle(self.above(self.expand(x)))))


@pytest.mark.parametrize("variant", REWRITES)
@pytest.mark.parametrize(
    "shuffle", [ChannelShuffle(16, 2), nn.ChannelShuffle(2), ChannelShuffle(16, 4)], ids=["ours-g2", "torch-g2", "g4"]
)
def test_variants_exact_on_a_named_block(variant, shuffle):
    groups = 2 if shuffle.groups == 2 else 4
    model = randomize_batchnorm(NamedBlock(shuffle, groups=groups))
    x = torch.randn(2, 8, 8, 8)
    lowered, log, how = lower_module(model, x, {"*": variant})
    assert rel_error(model(x), lowered(x)) <= TOL
    assert [e["variant"] for e in log] == [variant] and "1 IGC blocks" in how
    assert log[0]["signature"] == f"8-16-12 g{groups}/{groups} 8x8->4x4"
    assert shuffles_left(lowered) == 0 and shuffles_left(model) == 1  # the original is untouched
    densified = {"dense_expansion": (model.expand, 8 * 8), "dense_projection": (model.project, 4 * 4)}
    conv, pixels = densified.get(variant, (None, 0))
    assert log[0]["added_macs"] == (0 if conv is None else conv.weight.numel() * (groups - 1) * pixels)
    if variant == "split":
        assert sum(len(m.branches) for m in lowered.modules() if isinstance(m, Branches)) == groups
    json.dumps(log)


@pytest.mark.parametrize("name", list_models())
def test_variants_exact_on_every_registered_model(name):
    model = randomize_batchnorm(create_model(name))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        reference = model(x)
        for variant in REWRITES:
            lowered, log, _ = lower_module(model, x, {"*": variant})
            assert rel_error(reference, lowered(x)) <= TOL, variant
            assert all(e["variant"] in (variant, "native") for e in log)
            rewritten = sum(e["variant"] == variant for e in log)
            assert shuffles_left(lowered) == shuffles_left(model) - rewritten


def test_plan_by_signature_and_native_default():
    model = randomize_batchnorm(create_model("igcv3-0.25"))
    x = torch.randn(1, 3, 64, 64)
    _, log, _ = lower_module(model, x, {})
    assert len(log) == 32 and {e["variant"] for e in log} == {"native"}
    chosen = log[5]["signature"]
    lowered, log, _ = lower_module(model, x, {chosen: "split", "*": "native"})
    assert {e["signature"] for e in log if e["variant"] == "split"} == {chosen}
    assert rel_error(model(x), lowered(x)) <= TOL


def test_untraceable_model_is_left_alone():
    class DataDependent(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    model = DataDependent()
    lowered, log, how = lower_module(model, torch.ones(1, 3, 4, 4), {"*": "split"})
    assert lowered is model and log == [] and how.startswith("not lowered: torch.fx cannot trace")


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown grouped-conv variant"):
        lower_module(nn.Identity(), torch.ones(1), {"*": "sparse"})
