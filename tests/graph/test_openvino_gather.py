"""OpenVINO 2026.4.1's CPU plugin folds a channel Gather with constant indices feeding a Conv into the
conv weights with the inverse permutation (docs/openvino.md). Reproduce it, and show the folded graph is right.

Measured here: it hits a Gather whose only consumer is a dense (group=1) Conv; a Gather feeding a
depthwise or grouped conv, or more than one consumer, comes out right."""

from __future__ import annotations

import numpy as np
import pytest

from igcv_deploy.graph import count_permutations, fold_permutations
from igcv_deploy.graph.perm_algebra import shuffle

from .builders import Net
from .conftest import rel_error, run_ort, run_ov, sample_input

SWAP = np.r_[[12], 1:12, [0], 13:24]  # swaps channels 0 and 12: no reshape form, mixes the g=2 halves


def dense_conv(net, x):
    """x -> g=2 conv -> Gather(shuffle(24, 3)) -> dense conv: the spelling OpenVINO gets wrong."""
    return net.conv(net.permute(net.conv(x, 24, groups=2), shuffle(24, 3), "gather"), 12, 3)


def igcv_chain(net, x):
    """IGCV3-style blocks with Gather shuffles (a shuffle and a general swap), then the dense case."""
    for perm in (shuffle(24, 2), SWAP):
        x = net.permute(net.conv(x, 24, groups=2), perm, "gather")
        x = net.act(net.depthwise(x), "Clip")
    return dense_conv(net, x)


CASES = {"dense_conv": (dense_conv, 0), "igcv_chain": (igcv_chain, 2)}  # (graph, permutations left)


@pytest.mark.parametrize("case", CASES)
def test_openvino_gather_miscompile_and_folded_fix(case):
    build, left = CASES[case]
    net = Net(12, 8, seed=3)
    model = net.model(build(net, "x"))
    data = sample_input(model)
    truth = run_ort(model, data)
    unfolded = rel_error(truth, run_ov(model, data))
    folded, _ = fold_permutations(model, "openvino")
    fixed = rel_error(truth, run_ov(folded, data))
    print(f"{case}: OpenVINO rel. error unfolded {unfolded:.3g}, folded {fixed:.3g}, {count_permutations(folded)}")
    assert unfolded > 0.05, "OpenVINO computed the Gather shuffle right: the miscompile is gone"
    assert fixed <= 1e-5
    remaining = count_permutations(folded)
    assert remaining["gather"] == 0 and remaining["total"] == left
    assert remaining["reshape_transpose"] == remaining["concat"] == left // 2
