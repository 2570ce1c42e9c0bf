"""canonicalize_* passes: every spelling becomes one ChannelPermute carrying its index vector."""

from __future__ import annotations

import numpy as np
import pytest

from igcv_deploy.graph import count_permutations
from igcv_deploy.graph.perm_algebra import shuffle
from igcv_deploy.graph.pipeline import CANONICALIZE, run_passes

from .builders import DIGIT_SPELLINGS, Net
from .conftest import op_types, permutes

SHUFFLE = shuffle(12, 3).tolist()


GATHERS = ("gather", "gather_nd", "transposed_gather")
CONCATS = ("slice_concat", "split_concat", "strided_slices", "slice1_concat")


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("spelling", [*DIGIT_SPELLINGS, "rtr_shape_ops", *GATHERS, *CONCATS])
def test_each_spelling_becomes_one_channel_permute(spelling, dynamic):
    net = Net(12, 4, dynamic_batch=dynamic, opset=9 if spelling == "slice1_concat" else 17)
    perm = SHUFFLE if spelling != "strided_slices" else np.concatenate([np.arange(j, 12, 4) for j in range(4)]).tolist()
    model = net.model(net.act(net.permute("x", perm, spelling)))
    graph_model, log = run_passes(model, CANONICALIZE)
    kind = "gather" if spelling in GATHERS else "concat" if spelling in CONCATS else "reshape_transpose"
    assert permutes(graph_model) == [perm]
    assert op_types(graph_model)[-1] == "Relu" and "Transpose" not in op_types(graph_model)
    assert [entry["spelling"] for entry in log if "spelling" in entry] == [kind]


def test_only_constant_4d_reshapes_count_as_static():
    for spelling, static in [("rtr4d", True), ("rtr5d", False), ("rtr_noise", False)]:
        net = Net(8, 4)
        model = net.model(net.permute("x", shuffle(8, 2), spelling))
        assert count_permutations(model) == {
            "total": 1,
            "reshape_transpose": 1,
            "gather": 0,
            "concat": 0,
            "all_4d_constant": static,
        }


def test_reversed_and_unequal_slices():
    net = Net(8, 4)
    forward = net._slice("x", 4, 8, 1)
    backward = net._slice("x", 3, -(2**63), -1)
    net.shapes[forward] = net.shapes[backward] = [1, 4, 4, 4]
    model = net.model(net.op("Concat", [forward, backward], [1, 8, 4, 4], axis=1))
    assert permutes(run_passes(model, CANONICALIZE)[0]) == [[4, 5, 6, 7, 3, 2, 1, 0]]


def test_lookalikes_are_left_alone():
    net = Net(8, 4)
    repeated = net.op("Gather", ["x", net.const(np.array([0, 0, 1, 2, 3, 4, 5, 6]))], [1, 8, 4, 4], axis=1)
    spatial = net.op("Gather", ["x", net.const(np.array([3, 2, 1, 0]))], [1, 8, 4, 4], axis=2)
    split = net.op("Reshape", ["x", net.const(np.array([1, 8, 2, 8]))], None)
    mixes_space = net.op(
        "Reshape",
        [net.op("Transpose", [split], None, perm=[0, 2, 1, 3]), net.const(np.array([1, 8, 4, 4]))],
        [1, 8, 4, 4],
    )
    halves = net.op("Split", ["x", net.const(np.array([4, 4]))], None, 2, axis=1)
    other = net.op("Concat", [halves[0], net._slice(net.act("x"), 4, 8, 1)], [1, 8, 4, 4], axis=1)
    channels_first = net.op("Transpose", ["x"], None, perm=[1, 0, 2, 3])
    gathered = net.op("GatherND", [channels_first, net.const(np.array([[3], [2], [1], [0], [4], [5], [6], [7]]))], None)
    not_back = net.op("Transpose", [gathered], None, perm=[1, 0, 3, 2])  # swaps H and W as well
    channels_first = net.op("Transpose", ["x"], None, perm=[1, 0, 2, 3])
    rows = net.op("Gather", [channels_first, net.const(np.array([3, 2, 1, 0]))], None, axis=2)  # gathers rows
    rows = net.op("Transpose", [rows], [1, 8, 4, 4], perm=[1, 0, 2, 3])
    net.shapes[not_back] = [1, 8, 4, 4]
    model = net.model(repeated, spatial, mixes_space, other, not_back, rows)
    assert count_permutations(model)["total"] == 0
