"""Property-based: random chains of convs, BN, activations, residual adds and permutations in every
spelling fold to a model that computes the same thing with no more permutation ops."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igcv_deploy.graph import RUNTIMES, count_permutations, fold_permutations
from igcv_deploy.graph.perm_algebra import inverse, shuffle

from .builders import Net, spellings_for
from .conftest import rel_error, run_ort, run_ov, sample_input

WIDTHS = (4, 6, 8, 12)
CHANNEL_WISE = ("bn", "act", "channel_const", "depthwise", "pool", "perm")
LAYERS = CHANNEL_WISE + ("perm", "perm", "conv", "grouped", "residual", "same_perm_add")


def divisors(n: int) -> list[int]:
    return [d for d in range(2, n) if n % d == 0]


@st.composite
def permutations(draw, channels: int) -> np.ndarray:
    kind = draw(st.sampled_from(["shuffle", "inverse_shuffle", "digits", "random"]))
    if kind == "random" or not divisors(channels):
        seed = draw(st.integers(0, 2**16))
        return np.random.default_rng(seed).permutation(channels)
    if kind == "digits":
        first = draw(st.sampled_from(divisors(channels)))
        rest = channels // first
        second = draw(st.sampled_from(divisors(rest) or [rest]))
        radices = [first, second, rest // second] if rest // second > 1 else [first, rest]
        axes = draw(st.permutations(range(len(radices))))
        return np.arange(channels).reshape(radices).transpose(axes).ravel()
    groups = shuffle(channels, draw(st.sampled_from(divisors(channels))))
    return groups if kind == "shuffle" else inverse(groups)


def add_permutation(draw, net: Net, x: str, perm=None) -> str:
    perm = draw(permutations(net.channels(x))) if perm is None else perm
    return net.permute(x, perm, draw(st.sampled_from(spellings_for(perm))))


def add_layer(draw, net: Net, x: str, layer: str) -> str:
    channels, size = net.channels(x), net.shapes[x][2]
    if layer == "perm":
        return add_permutation(draw, net, x)
    if layer == "bn":
        return net.bn(x)
    if layer == "act":
        return net.act(x, draw(st.sampled_from(["Relu", "Clip", "Sigmoid", "LeakyRelu", "HardSwish"])))
    if layer == "channel_const":
        return net.channel_const(x, draw(st.sampled_from(["Add", "Mul"])), draw(st.sampled_from([3, 4])))
    if layer == "depthwise":
        return net.depthwise(x, draw(st.sampled_from([1, 2])) if size >= 4 else 1)
    if layer == "pool":
        return net.pool(x, "AveragePool" if size >= 4 and draw(st.booleans()) else "MaxPool")
    if layer == "conv":
        return net.conv(x, draw(st.sampled_from(WIDTHS)), draw(st.sampled_from([1, 3])))
    if layer == "grouped":
        groups = draw(st.sampled_from(divisors(channels) or [1]))
        return net.conv(x, groups * draw(st.sampled_from([1, 2, 3])), groups=groups)
    if layer == "same_perm_add":
        perm = draw(permutations(channels))
        return net.add(add_permutation(draw, net, x, perm), add_permutation(draw, net, net.act(x), perm))
    inner = x  # residual: a channel- and size-preserving branch added back
    for sub in draw(st.lists(st.sampled_from(CHANNEL_WISE[:-2] + ("perm",)), min_size=1, max_size=3)):
        inner = net.depthwise(inner) if sub == "depthwise" else add_layer(draw, net, inner, sub)
    return net.add(x, inner)


@st.composite
def chains(draw):
    net = Net(draw(st.sampled_from(WIDTHS)), 8, seed=draw(st.integers(0, 2**16)), dynamic_batch=draw(st.booleans()))
    x = "x"
    for layer in draw(st.lists(st.sampled_from(LAYERS), min_size=2, max_size=7)):
        x = add_layer(draw, net, x, layer)
    if draw(st.booleans()):
        x = net.head(x)
    return net.model(x)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=chains(), runtime=st.sampled_from(RUNTIMES))
def test_folding_preserves_numerics_and_never_adds_permutations(model, runtime):
    folded, log = fold_permutations(model, runtime)
    x = sample_input(model, batch=2)
    assert rel_error(run_ort(model, x), run_ort(folded, x)) <= 1e-5
    before, after = count_permutations(model), count_permutations(folded)
    assert after["total"] <= before["total"]
    if runtime == "openvino":
        assert after["gather"] == 0
        assert rel_error(run_ort(model, x), run_ov(folded, x)) <= 1e-4
    assert all(node.domain in ("", "ai.onnx") for node in folded.graph.node)
