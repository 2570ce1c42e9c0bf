"""The onnx-ir pass contract: every pass says truthfully whether it changed the graph, and the sliding
passes are repeated by an ir.passes.PassManager until a sweep changes nothing."""

from __future__ import annotations

import onnx_ir as ir
import pytest

from igcv_deploy.graph import fold_passes
from igcv_deploy.graph.ir_tools import dims
from igcv_deploy.graph.passes.slide_down import SlideDown
from igcv_deploy.graph.perm_algebra import shuffle
from igcv_deploy.graph.pipeline import CANONICALIZE, load

from .builders import Net, igc_block
from .conftest import op_types


def checked(pass_: ir.passes.PassBase, graph_model: ir.Model) -> bool:
    """Run the pass; its `modified` must say whether the serialised model changed."""
    before = ir.to_proto(graph_model).SerializeToString()
    modified = pass_(graph_model).modified
    assert modified == (ir.to_proto(graph_model).SerializeToString() != before), pass_
    return modified


def busy_model():
    """Work for every pass: an Identity, an inverse pair in two spellings, an IGCV3 block and dead nodes."""
    net = Net(8, 8)
    x = net.op("Identity", ["x"], net.shapes["x"])
    x = net.permute(net.permute(x, shuffle(8, 2), "gather"), shuffle(8, 4), "slice_concat")
    return net.model(net.head(igc_block(net, x, 8)))


@pytest.mark.parametrize("variant, idle", [("native", "grouped_conv_lowering"), ("split", "lower")])
def test_each_pass_reports_whether_it_changed_the_graph(variant, idle):
    """`idle` has nothing to do: a native block stays as it is, a split one leaves no permutation to lower."""
    graph_model, ctx = load(busy_model())
    passes = fold_passes(ctx, {"*": variant})
    changed = []
    for name, pass_ in passes.items():
        if checked(pass_, graph_model):
            changed.append(name)
        assert not checked(pass_, graph_model), f"{name} found more to change in its own result"
    assert changed == [name for name in passes if name != idle]


def test_a_graph_without_permutations_is_left_alone():
    net = Net(8, 6)
    graph_model, ctx = load(net.model(net.conv(net.act(net.conv("x", 8, 3)), 4, groups=2)))
    changed = [name for name, pass_ in fold_passes(ctx, {"*": "split"}).items() if checked(pass_, graph_model)]
    assert changed == ["prune"]  # it drops the opset import of the internal ChannelPermute domain


def test_sliding_sweeps_repeat_until_nothing_moves():
    """One sweep moves a permutation across one op; the pipeline repeats sweeps until one moves nothing."""
    net = Net(8, 6)
    x = net.permute(net.conv("x", 8, groups=2), shuffle(8, 2), "rtr5d")
    graph_model, ctx = load(net.model(net.conv(net.act(net.bn(net.depthwise(x))), 4, groups=2)))
    passes = fold_passes(ctx)
    ir.passes.Sequential(*(passes[name] for name in [*CANONICALIZE, "compose"]))(graph_model)
    assert checked(SlideDown(ctx), graph_model)
    assert [e["op"] for e in ctx.log if e["pass"] == "slide_down"] == ["Conv"]
    assert isinstance(passes["slide_down"], ir.passes.PassManager) and checked(passes["slide_down"], graph_model)
    assert [e["op"] for e in ctx.log if e["pass"] == "slide_down"] == ["Conv", "BatchNormalization", "Relu"]
    assert op_types(graph_model)[-2:] == ["ChannelPermute", "Conv"]  # stopped by the grouped conv
    assert not checked(SlideDown(ctx), graph_model)


def test_normalize_resolves_dims_computed_from_shape_ops_once():
    """torch's channel_shuffle with a dynamic batch: c // g and view(b, -1, h, w) leave shape inference without the
    channel counts; normalize makes them known (the batch stays symbolic) and finds nothing more the second time."""
    net = Net(12, 4, dynamic_batch=True)
    graph_model, ctx = load(net.model(net.act(net.permute("x", shuffle(12, 3), "rtr_shape_ops"))))
    normalize = fold_passes(ctx)["normalize"]
    assert checked(normalize, graph_model) and not checked(normalize, graph_model)
    assert [bool(e.get("resolved_dims")) for e in ctx.log] == [True, False]
    reshapes = [n for n in graph_model.graph if n.op_type == "Reshape"]
    assert [dims(n.outputs[0]) for n in reshapes] == [[None, 3, 4, 4, 4], [None, 12, 4, 4]]
