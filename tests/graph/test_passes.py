"""Focused tests of compose, slide_down, slide_up, place, lower and the pipeline around them."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from igcv_deploy.errors import UsageError
from igcv_deploy.graph import count_permutations, fold_passes, fold_permutations
from igcv_deploy.graph.ir_tools import FoldContext
from igcv_deploy.graph.passes.grouped_conv_lowering import NAME as LOWERING
from igcv_deploy.graph.perm_algebra import expand_blocks, inverse, shuffle
from igcv_deploy.graph.pipeline import run_passes

from .builders import Net
from .conftest import op_types, permutes, rel_error, run_ort, run_ov, sample_input

MOVES = [
    "normalize",
    "canonicalize_reshape_transpose",
    "canonicalize_gather",
    "canonicalize_concat",
    "compose",
    "slide_down",
]


def folded_equal(model: onnx.ModelProto, runtime: str = "onnxruntime", batch: int = 1):
    folded, log = fold_permutations(model, runtime)
    x = sample_input(model, batch)
    assert rel_error(run_ort(model, x), run_ort(folded, x)) <= 1e-5
    return folded, log


def entries(log, name):
    return [entry for entry in log if entry["pass"] == name]


def test_registry_is_flat_and_ordered():
    passes = fold_passes(FoldContext())
    assert list(passes)[0] == "normalize" and list(passes)[-2:] == ["lower", "prune"]
    assert all(callable(run) for run in passes.values())
    assert list(fold_passes(FoldContext(), {"*": "split"}))[-3:] == [LOWERING, "lower", "prune"]
    with pytest.raises(UsageError, match="unknown folding runtime 'tflite'"):
        fold_permutations(Net().model("x"), "tflite")
    with pytest.raises(UsageError):
        fold_permutations(Net().model("x"), runtime="tensorrt-rtx")  # an export target, not a runtime


def test_slide_down_reindexes_channelwise_ops_and_stops_at_grouped_conv():
    net = Net(8, 6)
    x = net.permute(net.conv("x", 8, groups=2), shuffle(8, 2), "rtr5d")
    x = net.conv(net.channel_const(net.act(net.bn(x), "Clip")), 8, 3, groups=8)
    model = net.model(net.conv(net.act(net.bn(x)), 4, groups=2))
    graph_model, log = run_passes(model, MOVES)
    assert op_types(graph_model) == [
        "Conv",
        "BatchNormalization",
        "Clip",
        "Add",
        "Conv",
        "BatchNormalization",
        "Relu",
        "ChannelPermute",
        "Conv",
    ]
    crossed = entries(log, "slide_down")
    assert [e["op"] for e in crossed] == ["BatchNormalization", "Clip", "Add", "Conv", "BatchNormalization", "Relu"]
    assert [len(e["reindexed"]) for e in crossed] == [4, 0, 1, 2, 4, 0]
    folded_equal(model)


@pytest.mark.parametrize("spelling", ["gather", "rtr5d", "split_concat"])
def test_absorbed_into_dense_conv_and_classifier(spelling):
    net = Net(12, 6)
    a = net.conv(net.permute(net.bn("x"), shuffle(12, 3), spelling), 6, 3)  # dense conv after: input axis
    b = net.head(
        net.act(net.permute(net.conv("x", 12, groups=4), shuffle(12, 4), spelling))
    )  # via GAP/Flatten into Gemm
    model = net.model(a, b)
    graph_model, log = run_passes(model, MOVES)
    assert permutes(graph_model) == []
    assert sum(e["absorbed"] for e in entries(log, "slide_down")) == 2
    folded, _ = folded_equal(model)
    assert count_permutations(folded)["total"] == 0


def test_slide_up_absorbs_into_dense_producer():
    net = Net(8, 6)
    x = net.permute(net.act(net.bn(net.conv("x", 8, 3))), shuffle(8, 4), "gather")
    model = net.model(net.conv(x, 8, groups=2))
    graph_model, log = run_passes(model, [*MOVES, "slide_up"])
    assert permutes(graph_model) == []
    assert [e["op"] for e in entries(log, "slide_up")] == ["Relu", "BatchNormalization", "Conv"]
    assert entries(log, "slide_up")[-1]["absorbed"]
    folded_equal(model)


def test_grouped_conv_takes_permutations_that_map_groups_to_groups():
    net = Net(8, 6)
    within = np.array([3, 1, 0, 2, 5, 7, 4, 6])  # reorders inside each half: absorbed by a g=2 conv
    a = net.conv(net.permute("x", within, "gather"), 4, groups=2)
    swapped = expand_blocks([1, 0], 4)  # swaps the halves: becomes a block swap of the outputs
    b = net.conv(net.permute(net.act("x"), swapped, "slice_concat"), 6, groups=2)
    model = net.model(a, b)
    graph_model, _ = run_passes(model, MOVES)
    assert permutes(graph_model) == [expand_blocks([1, 0], 3).tolist()]
    folded_equal(model)


def test_compose_merges_chains_duplicates_and_inverse_pairs():
    net = Net(12, 4)
    twice = net.permute(net.permute("x", shuffle(12, 3), "rtr5d"), shuffle(12, 2), "gather")
    cancelled = net.permute(net.permute(net.act("x"), shuffle(12, 3), "rtr4d"), inverse(shuffle(12, 3)), "split_concat")
    duplicate = net.add(net.permute("x", shuffle(12, 2), "gather"), net.permute("x", shuffle(12, 2), "rtr5d"))
    model = net.model(twice, cancelled, duplicate)
    graph_model, log = run_passes(
        model, ["canonicalize_reshape_transpose", "canonicalize_gather", "canonicalize_concat", "compose"]
    )
    assert permutes(graph_model) == [shuffle(12, 3)[shuffle(12, 2)].tolist(), shuffle(12, 2).tolist()]
    assert sorted(e["action"] for e in entries(log, "compose")) == [
        "compose",
        "compose",
        "delete_identity",
        "merge_duplicate",
    ]
    folded_equal(model)


def test_same_permutation_on_both_operands_crosses_the_add():
    net = Net(8, 6)
    a = net.permute(net.bn("x"), shuffle(8, 2), "rtr5d")
    b = net.permute(net.act("x"), shuffle(8, 2), "gather")
    model = net.model(net.conv(net.add(a, b), 8, groups=2))
    graph_model, log = run_passes(model, MOVES)
    assert len(permutes(graph_model)) == 1 and op_types(graph_model)[-2:] == ["ChannelPermute", "Conv"]
    folded_equal(model)


def test_place_picks_the_smallest_tensor_on_the_path():
    net = Net(8, 8)
    x = net.permute(net.conv("x", 8, groups=2), shuffle(8, 2), "rtr5d")
    model = net.model(net.conv(net.pool(net.depthwise(x, 2), "MaxPool"), 4, groups=2))
    graph_model, log = run_passes(model, [*MOVES, "slide_up", "place"])
    (placed,) = entries(log, "place")[:1]
    assert placed["path_sizes"] == [512, 128, 128] and placed["moves"] == 2
    assert op_types(graph_model) == ["Conv", "Conv", "MaxPool", "ChannelPermute", "Conv"]


@pytest.mark.parametrize("dynamic", [False, True])
def test_lowering_shapes(dynamic):
    net = Net(24, 4, dynamic_batch=dynamic)
    outer = np.arange(24).reshape(2, 3, 4).transpose(0, 2, 1).ravel()  # leading digit kept: merged into batch
    model = net.model(net.permute("x", shuffle(24, 2), "gather"), net.permute(net.act("x"), outer, "gather"))
    folded, log = folded_equal(model, batch=2)
    shapes = [onnx.numpy_helper.to_array(t).tolist() for t in folded.graph.initializer]
    batch = (0, -1) if dynamic else (1, 2)
    assert [batch[0], 2, 12, 16] in shapes and [batch[0], 24, 4, 4] in shapes
    assert [batch[1], 3, 4, 16] in shapes and [batch[1] // 2 if not dynamic else -1, 24, 4, 4] in shapes
    assert count_permutations(folded) == {
        "total": 2,
        "reshape_transpose": 2,
        "gather": 0,
        "concat": 0,
        "all_4d_constant": True,
    }


@pytest.mark.parametrize("runtime", ["onnxruntime", "tensorrt", "openvino"])
def test_general_permutation_falls_back_per_runtime(runtime):
    net = Net(8, 4)
    swap = [4, 1, 2, 3, 0, 5, 6, 7]  # no reshape/transpose form, and it mixes the halves of the g=2 conv
    model = net.model(net.conv(net.permute(net.conv("x", 8, groups=2), swap, "gather"), 8, 3, groups=8))
    folded, log = folded_equal(model, runtime)
    counts = count_permutations(folded)
    assert counts["total"] == 1 and counts["gather" if runtime != "openvino" else "concat"] == 1
    if runtime == "openvino":
        x = sample_input(model)
        assert rel_error(run_ort(model, x), run_ov(folded, x)) <= 1e-5


def test_graph_inputs_and_outputs_survive():
    net = Net(8, 4)
    model = net.model(
        net.permute("x", shuffle(8, 2), "rtr5d"),
        net.permute(net.permute("x", shuffle(8, 2), "gather"), shuffle(8, 4), "gather"),
    )
    folded, log = folded_equal(model)
    assert [o.name for o in folded.graph.output] == [o.name for o in model.graph.output]
    assert count_permutations(folded)["total"] == 1
    json.dumps(log)
    assert {e["pass"] for e in log} >= {"canonicalize_reshape_transpose", "compose", "lower", "prune"}


def test_less_common_channelwise_ops_and_a_matmul_classifier():
    """PRelu, InstanceNormalization, a [1, C, 1, 1] Mul, ReduceMean + Reshape (the dynamo head) and
    MatMul + Add: the permutation crosses them all and ends in the MatMul weights."""
    net = Net(8, 6, opset=18)
    x = net.permute(net.conv("x", 8, groups=4), shuffle(8, 2), "rtr5d")
    x = net.op("PRelu", [x, net.const(net.randn(8, 1, 1))], net.shapes[x])
    scale_bias = [net.const(net.randn(8)), net.const(net.randn(8))]
    x = net.channel_const(net.op("InstanceNormalization", [x, *scale_bias], net.shapes[x]), "Mul", 4)
    x = net.op("ReduceMean", [x, net.const(np.array([2, 3]))], [1, 8, 1, 1], keepdims=1)
    x = net.op("Reshape", [x, net.const(np.array([-1, 8]))], [1, 8])
    x = net.op("MatMul", [x, net.const(net.randn(8, 5))], [1, 5])
    model = net.model(net.op("Add", [x, net.const(net.randn(5))], [1, 5]))
    graph_model, log = run_passes(model, MOVES)
    assert permutes(graph_model) == []
    crossed = [(e["op"], len(e["reindexed"])) for e in entries(log, "slide_down")]
    assert crossed == [
        ("PRelu", 1),
        ("InstanceNormalization", 2),
        ("Mul", 1),
        ("ReduceMean", 0),
        ("Reshape", 0),
        ("MatMul", 1),
    ]
    folded_equal(model)
