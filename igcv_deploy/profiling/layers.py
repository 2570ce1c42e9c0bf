"""Per-layer times from a runtime's profiler, mapped back to graph nodes and aggregated by op type and role.

Runtimes rename and fuse layers. Each runtime layer name is matched against the graph's node
names and output tensor names: exactly after dropping known suffixes, else by the longest node
or tensor name it contains. This recovers onnxruntime's fused/NCHWc kernels (named after the
fused output), OpenVINO's layers (ONNX node names, plus '/WithoutBiases' and reorder prefixes)
and TensorRT's fused layers ('A + B'). Layers the runtime inserted itself (layout reorders)
get the role `layout`; layers matching nothing keep their runtime op type and the role `other`.
"""

from __future__ import annotations

from .graph_view import Node
from .roles import ROLES, classify

LAYOUT_OPS = {"ReorderInput", "ReorderOutput", "Reorder", "Reformat"}
SUFFIXES = ("_nchwc",)
MIN_KEY = 4  # shorter names would match by accident


class NameIndex:
    def __init__(self, nodes: list[Node]):
        self.nodes = {node.name: node for node in nodes}
        self.keys = {out.split(":")[0]: node for node in nodes for out in node.outputs} | self.nodes
        self.by_length = sorted((k for k in self.keys if len(k) >= MIN_KEY), key=len, reverse=True)

    def match(self, name: str) -> Node | None:
        """The node for a runtime layer name; of a fused 'A + B' (TensorRT), the first part that matches."""
        return next(filter(None, map(self._match_one, name.split(" + "))), None)

    def _match_one(self, name: str) -> Node | None:
        for suffix in SUFFIXES:
            name = name.removesuffix(suffix)
        if name in self.keys:
            return self.keys[name]
        return next((self.keys[k] for k in self.by_length if k in name), None)


def _op_type(layer: dict, node: Node | None) -> str:
    if layer.get("op_type"):
        return layer["op_type"]
    if layer["name"].startswith("Reformatting"):  # TensorRT names its copies, it gives no types
        return "Reformat"
    return node.op if node else "unknown"


def attribute(layers: list[dict], nodes: list[Node] | None) -> list[dict]:
    """Each layer with `op_type`, `graph_node`, `group` and `role` filled in."""
    index, roles = (NameIndex(nodes), classify(nodes)) if nodes else (None, {})
    out = []
    for layer in layers:
        node = index.match(layer["name"]) if index else None
        op_type = _op_type(layer, node)
        role = "layout" if op_type in LAYOUT_OPS else roles.get(node.name, "other") if node else "other"
        if op_type == "ShuffleChannels":
            role = "permutation"
        out.append(
            {
                **layer,
                "op_type": op_type,
                "graph_node": node.name if node else None,
                "group": node.group if node and node.op == "Conv" else None,
                "role": role,
            }
        )
    return out


def _sum_by(layers: list[dict], key: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for layer in layers:
        totals[layer[key]] = totals.get(layer[key], 0.0) + layer["ms"]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def aggregate(profile: dict, nodes: list[Node] | None, graph_note: str) -> dict:
    """The `layers` section of a result: totals by role and op type, plus every layer."""
    layers = attribute(profile["layers"], nodes)
    total = sum(layer["ms"] for layer in layers)
    mapped = sum(layer["ms"] for layer in layers if layer["graph_node"] or layer["role"] == "layout")
    by_role = _sum_by(layers, "role")
    return {
        **{k: v for k, v in profile.items() if k != "layers"},
        "graph": graph_note,
        "total_ms": total,
        "mapped_fraction": mapped / total if total else 0.0,
        "by_role": {role: by_role.get(role, 0.0) for role in ROLES},
        "by_op_type": _sum_by(layers, "op_type"),
        "layers": layers,
    }
