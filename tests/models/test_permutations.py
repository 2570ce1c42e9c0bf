"""The one permutation primitive, IGCV1's Reorder, and the complementary condition of every IGC block."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from igcv_deploy.models.igcv1 import igc_block
from igcv_deploy.models.igcv2 import cx_branch_sizes, igcv2_block, star_branch_sizes
from igcv_deploy.models.layers import ChannelShuffle, shuffle_indices
from igcv_deploy.models.mobilenet import InvertedResidual


def test_shuffle_8_2():
    assert shuffle_indices(8, 2) == [0, 4, 1, 5, 2, 6, 3, 7]
    x = torch.arange(8.0).reshape(1, 8, 1, 1)
    assert ChannelShuffle(8, 2)(x).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


@pytest.mark.parametrize("channels, groups", [(8, 2), (12, 3), (200, 100), (64, 8)])
def test_inverse_is_shuffle_by_the_cofactor(channels, groups):
    x = torch.randn(2, channels, 3, 3)
    back = ChannelShuffle(channels, channels // groups)(ChannelShuffle(channels, groups)(x))
    assert torch.equal(back, x)


def mxnet_reorder(data: np.ndarray, branch_factor: int) -> np.ndarray:
    """IGCV1's custom Reorder op, ported step by step from its mshadow Forward (src/reorder-inl.h)."""
    n, c, h, w = data.shape
    temp = np.swapaxes(data, 1, 0).reshape(branch_factor, c // branch_factor, n * h * w)
    out = np.swapaxes(temp, 1, 0).reshape(c, n, h, w)
    return np.swapaxes(out, 1, 0)


@pytest.mark.parametrize("channels, branch", [(8, 2), (8, 4), (48, 24), (200, 100)])
def test_igcv1_reorder_is_shuffle(channels, branch):
    x = np.random.default_rng(0).standard_normal((2, channels, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        ChannelShuffle(channels, branch)(torch.from_numpy(x)).numpy(), mxnet_reorder(x, branch)
    )


def path_counts(block: nn.Module, c_in: int, drop_shuffles: bool = False) -> np.ndarray:
    """[input, output] number of paths through a block's convs (all weights 1, at one pixel)."""
    block = block.eval()
    with torch.no_grad():
        for name, module in block.named_modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0)
            elif isinstance(module, nn.BatchNorm2d):
                module.eps = 0.0
            elif drop_shuffles and isinstance(module, ChannelShuffle):
                parent, _, child = name.rpartition(".")
                setattr(block.get_submodule(parent) if parent else block, child, nn.Identity())
        out = block(torch.eye(c_in).reshape(c_in, c_in, 1, 1))
    return out.reshape(c_in, -1).round().numpy()


@pytest.mark.parametrize(
    "block, c_in",
    [
        (igc_block(8, 8, 4, 2), 8),  # IGCV1 L4M2: exactly one path between every input and output
        (igc_block(48, 48, 24, 2), 48),
        (igcv2_block(64, 64, variant="cx"), 64),  # IGCV2(C64): 8 x 8
        (igcv2_block(32, 64, variant="cx"), 32),  # 4 x 8, widening
        (igcv2_block(512, 512, variant="star"), 512),  # IGCV2*: 8 x 8 x 8
    ],
)
def test_strict_complementary_condition(block, c_in):
    counts = path_counts(block, c_in)
    assert (counts == 1).all()


@pytest.mark.parametrize("c_in", [32, 128, 1024])
def test_igcv2_star_reaches_every_channel(c_in):
    """When C is not a power of 8 the condition becomes 'at least one path'."""
    assert (path_counts(igcv2_block(c_in, c_in, variant="star"), c_in) >= 1).all()


@pytest.mark.parametrize(
    "block, c_in",
    [
        (igc_block(8, 8, 4, 2), 8),
        (igcv2_block(64, 64), 64),
        (
            InvertedResidual(8, 8, 1, 6, False, groups=2, permute=True),
            8,
        ),  # IGCV3: shuffle between grouped 1x1s
    ],
)
def test_without_the_permutation_the_block_is_not_dense(block, c_in):
    assert (path_counts(block, c_in) > 0).all()
    assert not (path_counts(block, c_in, drop_shuffles=True) > 0).all()


def test_branch_sizes():
    assert cx_branch_sizes(64) == (8, 8) and cx_branch_sizes(32) == (4, 8) and cx_branch_sizes(512) == (16, 32)
    assert star_branch_sizes(64) == (8, 8) and star_branch_sizes(1024) == (8, 8, 8, 8) and star_branch_sizes(8) == (8,)
