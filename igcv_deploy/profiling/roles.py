"""IGCV roles of graph nodes, so per-layer time can be split by what the layer is for.

  expansion    1x1 conv whose output reaches a permutation or a depthwise conv (through
               BN/activations only): the grouped expansion of an IGCV block
  permutation  channel shuffles: Reshape->Transpose->Reshape, Gather with constant indices on
               axis 1, Transpose->GatherND->Transpose (dynamo), Split/Slice->Concat on axis 1
               (how the folding passes lower a shuffle for OpenVINO), ShuffleChannels (OpenVINO)
  depthwise    conv with one input channel per group (group == channels)
  projection   1x1 conv fed by a depthwise conv (through BN/activations/permutations)
  other        stem, head, pooling, classifier, residual adds

Dense 1x1 convs in those positions get the same roles as grouped ones, so IGCV and
MobileNet-style models compare side by side (each layer record carries its `group`).
BN/activation nodes that follow a conv take its role (runtimes fuse them into it).
"""

from __future__ import annotations

from collections import defaultdict

from .graph_view import Node

ROLES = ("expansion", "permutation", "depthwise", "projection", "layout", "other")
ELEMENTWISE = {
    "BatchNormalization",
    "Relu",
    "Clip",
    "HardSwish",
    "HardSigmoid",
    "Sigmoid",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "PRelu",
    "LeakyRelu",
    "Identity",
    "Cast",
    "Convert",
    "QuantizeLinear",
    "DequantizeLinear",
    "FakeQuantize",
}
CONV_ROLES = {"expansion", "depthwise", "projection"}
CHANNEL_AXES = {1, -3}  # NCHW
SPLITS = {"Split", "VariadicSplit", "Slice", "StridedSlice"}


class Graph:
    def __init__(self, nodes: list[Node]):
        self.nodes = nodes
        self.producer = {out: node for node in nodes for out in node.outputs}
        self.consumers: dict[str, list[Node]] = defaultdict(list)
        for node in nodes:
            for name in node.inputs:
                self.consumers[name].append(node)

    def parents(self, node: Node) -> list[Node]:
        return [self.producer[i] for i in node.inputs if i in self.producer]

    def children(self, node: Node) -> list[Node]:
        return [c for out in node.outputs for c in self.consumers[out]]


def is_depthwise(node: Node) -> bool:
    return node.op == "Conv" and node.group > 1 and len(node.weight) > 1 and node.weight[1] == 1


def is_pointwise(node: Node) -> bool:
    return node.op == "Conv" and tuple(node.weight[2:]) == (1, 1)


def _passes(node: Node) -> bool:
    """BN, activations, Q/DQ: one data input, nothing that changes which channel is which."""
    return node.op in ELEMENTWISE and len(node.inputs) == 1


def permutation_nodes(graph: Graph) -> set[str]:
    found = set()
    for node in graph.nodes:
        if node.op == "ShuffleChannels" or (node.op == "Gather" and node.axis in CHANNEL_AXES):
            found.add(node.name)
        elif node.op == "Concat" and node.axis in CHANNEL_AXES:
            found.update(_split_concat(graph, node))
        elif node.op in ("Transpose", "GatherND"):
            before, after = graph.parents(node), graph.children(node)
            wrap = {"Transpose": "Reshape", "GatherND": "Transpose"}[node.op]
            if len(before) == 1 == len(after) and before[0].op == wrap == after[0].op:
                found.update({node.name, before[0].name, after[0].name})
    return found


def _split_concat(graph: Graph, concat: Node) -> set[str]:
    """A Concat re-assembling pieces of one tensor cut by Split/Slice: the Concat and its cutters."""
    pieces = graph.parents(concat)
    if len(pieces) > 1 and all(p.op in SPLITS for p in pieces) and len({tuple(p.inputs) for p in pieces}) == 1:
        return {concat.name, *(p.name for p in pieces)}
    return set()


def _first_beyond(node: Node, step, walk_through) -> list[Node]:
    """The nodes met first when walking from `node` (by `step`) through nodes that `walk_through` accepts."""
    met, frontier = [], list(step(node))
    while frontier:
        nxt = frontier.pop()
        (frontier.extend(step(nxt)) if walk_through(nxt) else met.append(nxt))
    return met


def classify(nodes: list[Node]) -> dict[str, str]:
    """{node name: role} for every node."""
    graph = Graph(nodes)
    perms = permutation_nodes(graph)
    roles: dict[str, str] = {}
    for node in nodes:
        if node.name in perms:
            roles[node.name] = "permutation"
        elif is_depthwise(node):
            roles[node.name] = "depthwise"
        elif is_pointwise(node):
            roles[node.name] = _pointwise_role(graph, node, perms)
        elif _passes(node) and graph.parents(node) and roles.get(graph.parents(node)[0].name) in CONV_ROLES:
            roles[node.name] = roles[graph.parents(node)[0].name]
        else:
            roles[node.name] = "other"
    return roles


def _pointwise_role(graph: Graph, node: Node, perms: set[str]) -> str:
    below = _first_beyond(node, graph.children, _passes)
    if any(n.name in perms or is_depthwise(n) for n in below):
        return "expansion"
    above = _first_beyond(node, graph.parents, lambda n: _passes(n) or n.name in perms)
    return "projection" if any(is_depthwise(n) for n in above) else "other"
