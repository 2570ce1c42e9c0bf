"""IGCV role classification on small hand-built graphs, and runtime layer names mapped back to nodes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from igcv_deploy.profiling.graph_view import read_graph
from igcv_deploy.profiling.layers import aggregate, attribute
from igcv_deploy.profiling.roles import classify


class Builder:
    def __init__(self):
        self.nodes, self.inits = [], []

    def const(self, name, values, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def conv(self, name, x, c_out, c_in, k=1, group=1):
        w = self.const(f"{name}.w", np.zeros((c_out, c_in // group, k, k)))
        self.nodes.append(helper.make_node("Conv", [x, w], [name], name=name, group=group, pads=[k // 2] * 4))
        return name

    def op(self, op, name, *inputs, **attrs):
        self.nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name

    def shuffle(self, prefix, x, c):
        r = self.op("Reshape", f"{prefix}/Reshape", x, self.const(f"{prefix}.s1", [1, 2, c // 2, 8, 8], np.int64))
        t = self.op("Transpose", f"{prefix}/Transpose", r, perm=[0, 2, 1, 3, 4])
        return self.op("Reshape", f"{prefix}/Reshape_1", t, self.const(f"{prefix}.s2", [1, c, 8, 8], np.int64))

    def save(self, path, out):
        graph = helper.make_graph(
            self.nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 8])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
            self.inits,
        )
        onnx.save(helper.make_model(graph), str(path))
        return read_graph(path)


def igcv_block(b: Builder, permutation: str = "rtr", where: str = "before_dw") -> str:
    y = b.conv("expand", "x", 16, 8, group=2)
    if where == "after_dw":
        y = b.op("Clip", "dw/act", b.conv("dw", y, 16, 16, k=3, group=16))
    if permutation == "rtr":
        y = b.shuffle("shuffle", y, 16)
    elif permutation == "gather":
        y = b.op(
            "Gather",
            "shuffle/Gather",
            y,
            b.const("idx", [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15], np.int64),
            axis=1,
        )
    elif permutation == "split_concat":  # how the folding passes lower a shuffle for OpenVINO
        b.nodes.append(
            helper.make_node(
                "Split",
                [y, b.const("sizes", [4, 4, 4, 4], np.int64)],
                [f"part{i}" for i in range(4)],
                name="shuffle/Split",
                axis=1,
            )
        )
        y = b.op("Concat", "shuffle/Concat", "part2", "part0", "part3", "part1", axis=1)
    else:  # dynamo's x[:, perm]
        t = b.op("Transpose", "shuffle/T0", y, perm=[1, 0, 2, 3])
        g = b.op("GatherND", "shuffle/GatherND", t, b.const("idx", np.arange(16).reshape(16, 1), np.int64))
        y = b.op("Transpose", "shuffle/T1", g, perm=[1, 0, 2, 3])
    if where == "before_dw":
        y = b.op("Clip", "dw/act", b.conv("dw", y, 16, 16, k=3, group=16))
    return b.op("Add", "residual", "x", b.conv("project", y, 8, 16, group=2))


@pytest.mark.parametrize("permutation", ["rtr", "gather", "gathernd", "split_concat"])
@pytest.mark.parametrize("where", ["before_dw", "after_dw"])
def test_igcv_block_roles(tmp_path, permutation, where):
    b = Builder()
    out = igcv_block(b, permutation, where)
    roles = classify(b.save(tmp_path / "m.onnx", out))
    assert roles["expand"] == "expansion"
    assert roles["dw"] == roles["dw/act"] == "depthwise"
    assert roles["project"] == "projection"
    assert roles["residual"] == "other"
    perms = {name for name, role in roles.items() if role == "permutation"}
    assert len(perms) == {"gather": 1, "split_concat": 2}.get(permutation, 3) and all(
        n.startswith("shuffle/") for n in perms
    )


def test_dense_mobilenet_block_gets_positional_roles(tmp_path):
    b = Builder()
    y = b.op("Clip", "expand/act", b.conv("expand", "x", 48, 8))
    y = b.op("Clip", "dw/act", b.conv("dw", y, 48, 48, k=3, group=48))
    out = b.conv("project", y, 8, 48)
    stem = b.conv("head", out, 16, 8)
    roles = classify(b.save(tmp_path / "m.onnx", stem))
    assert (roles["expand"], roles["expand/act"], roles["dw"], roles["project"], roles["head"]) == (
        "expansion",
        "expansion",
        "depthwise",
        "projection",
        "other",
    )


def test_runtime_names_map_back(tmp_path):
    b = Builder()
    nodes = b.save(tmp_path / "m.onnx", igcv_block(b))
    layers = [
        {"name": "dw/act_nchwc", "op_type": "FusedConv", "ms": 1.0},  # onnxruntime: fused, named after the output
        {"name": "ReorderOutput_token_7", "op_type": "ReorderOutput", "ms": 0.5},  # inserted by onnxruntime
        {"name": "expand/WithoutBiases", "op_type": "GroupConvolution", "ms": 2.0},  # OpenVINO
        {"name": "shuffle/Reshape_1", "op_type": "ShuffleChannels", "ms": 0.25},
        {"name": "project + residual", "op_type": None, "ms": 0.75},  # TensorRT fusion, no op type
        {"name": "Reformatting CopyNode for Input Tensor 0 to project", "op_type": None, "ms": 0.1},
        {"name": "something_else", "op_type": "Mystery", "ms": 0.4},
    ]
    got = [(x["role"], x["op_type"], x["graph_node"]) for x in attribute(layers, nodes)]
    assert got == [
        ("depthwise", "FusedConv", "dw/act"),
        ("layout", "ReorderOutput", None),
        ("expansion", "GroupConvolution", "expand"),
        ("permutation", "ShuffleChannels", "shuffle/Reshape_1"),
        ("projection", "Conv", "project"),
        ("layout", "Reformat", "project"),
        ("other", "Mystery", None),
    ]
    summary = aggregate({"source": "test", "layers": layers}, nodes, "m.onnx")
    assert summary["total_ms"] == pytest.approx(5.0)
    assert summary["by_role"]["expansion"] == 2.0 and summary["by_role"]["layout"] == pytest.approx(0.6)
    assert summary["mapped_fraction"] == pytest.approx(4.6 / 5.0)
    assert sum(summary["by_op_type"].values()) == pytest.approx(5.0)


def test_without_a_graph_only_op_types_and_layout():
    layers = attribute(
        [{"name": "a", "op_type": "Conv", "ms": 1.0}, {"name": "r", "op_type": "Reorder", "ms": 1.0}], None
    )
    assert [x["role"] for x in layers] == ["other", "layout"]


def test_whole_igcv3_onnx_and_ir(bundle, static_ir):
    for path in (bundle / "model.onnx", static_ir):
        nodes = read_graph(path)
        roles = classify(nodes)
        convs = Counter(roles[n.name] for n in nodes if n.op == "Conv")
        assert convs == {"expansion": 32, "depthwise": 32, "projection": 32, "other": 2}, path  # 32 blocks, stem, head
        assert Counter(roles.values())["permutation"] >= 32
