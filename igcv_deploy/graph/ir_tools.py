"""Small onnx-ir helpers shared by the passes: constants, shapes, the internal ChannelPermute node."""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from .perm_algebra import as_perm

DOMAIN = "igcv_deploy"
PERMUTE = "ChannelPermute"


@dataclass
class FoldContext:
    """What the passes of one run share: the runtime folded for, the log, and a source of fresh names."""

    runtime: str = "onnxruntime"
    log: list[dict] = field(default_factory=list)
    pass_name: str = ""  # named in every log entry
    taken: set[str] = field(default_factory=set)  # names in use in the graph
    _counter: itertools.count = field(default_factory=itertools.count)

    def for_pass(self, name: str) -> FoldContext:
        """This context logging under `name`; the log, the names and the counter stay shared."""
        return dataclasses.replace(self, pass_name=name)

    def record(self, **fields) -> None:
        self.log.append({"pass": self.pass_name, **fields})

    def fresh(self, base: str) -> str:
        name = f"{base}__fold{next(self._counter)}"
        while name in self.taken:
            name = f"{base}__fold{next(self._counter)}"
        self.taken.add(name)
        return name


def const_array(value: ir.Value | None) -> np.ndarray | None:
    tensor = ir.convenience.get_const_tensor(value) if value is not None else None
    return None if tensor is None else tensor.numpy()


def dims(value: ir.Value) -> list[int | None] | None:
    """The value's inferred dims, None for a symbolic one; None when the rank is unknown."""
    if value.shape is None:
        return None
    return [d if isinstance(d, int) else None for d in value.shape]


def numel(value: ir.Value) -> int:
    """Element count with symbolic dims counted as 1 (the batch): a size to compare tensors by."""
    return math.prod(d or 1 for d in dims(value) or [])


def only_first_output_used(node: ir.Node) -> bool:
    return all(not out.uses() and not out.is_graph_output() for out in node.outputs[1:])


def attr(node: ir.Node, name: str, default=None):
    attribute = node.attributes.get(name)
    return default if attribute is None else attribute.value


def is_permute(node: ir.Node | None) -> bool:
    return node is not None and node.domain == DOMAIN and node.op_type == PERMUTE


def perm_of(node: ir.Node) -> np.ndarray:
    return as_perm(attr(node, "perm"))


def output_like(value: ir.Value, template: ir.Value) -> ir.Value:
    value.type = template.type
    value.shape = None if template.shape is None else ir.Shape(list(template.shape))
    return value


def make_permute(ctx: FoldContext, x: ir.Value, perm, origin: str, template: ir.Value, **extra) -> ir.Node:
    """A ChannelPermute node on x (not yet inserted); `origin` names the permutation it descends from."""
    attributes = {"perm": [int(i) for i in perm], "origin": origin, **extra}
    node = ir.node(PERMUTE, [x], attributes, domain=DOMAIN, name=ctx.fresh(origin))
    output_like(node.outputs[0], template)
    node.outputs[0].name = ctx.fresh(f"{origin}_out")
    return node


def replace_value(old: ir.Value, new: ir.Value, keep: ir.Node | None = None) -> None:
    """Point every use of `old` (but `keep`'s) at `new`; a graph output moves too and keeps its name."""
    for use in list(old.uses()):
        if use.node is not keep:
            use.node.replace_input_with(use.idx, new)
    if old.is_graph_output():
        graph = old.graph or new.graph
        graph.outputs[:] = [new if v is old else v for v in graph.outputs]
        name, old.name = old.name, f"{old.name}__replaced"
        new.name = name


def append_after(graph: ir.Graph, node: ir.Node) -> None:
    """Insert `node` after the producer of its first input and hand it every other use of that input."""
    value = node.inputs[0]
    producer = value.producer()
    if producer is None:
        graph.insert_before(next(iter(graph)), node)
    else:
        graph.insert_after(producer, node)
    replace_value(value, node.outputs[0], keep=node)


def set_const_input(ctx: FoldContext, graph: ir.Graph, node: ir.Node, index: int, array: np.ndarray) -> str:
    """Give node a fresh initializer at input `index` (never mutate a possibly shared one)."""
    old = node.inputs[index]
    value = ir.Value(name=ctx.fresh(old.name or node.name), const_value=ir.tensor(np.ascontiguousarray(array)))
    value.const_value.name = value.name
    graph.register_initializer(value)
    node.replace_input_with(index, value)
    return old.name


def add_const(ctx: FoldContext, graph: ir.Graph, base: str, array) -> ir.Value:
    value = ir.Value(name=ctx.fresh(base), const_value=ir.tensor(np.asarray(array)))
    value.const_value.name = value.name
    graph.register_initializer(value)
    return value


def bypass(graph: ir.Graph, node: ir.Node) -> None:
    """Remove a node whose output equals its first input."""
    x, y = node.inputs[0], node.outputs[0]
    if y.is_graph_output() and (x.is_graph_input() or x.is_graph_output() or x.is_initializer()):
        keep = ir.node("Identity", [x], name=node.name)  # a graph output stays a value of its own
        graph.insert_before(node, keep)
        x = output_like(keep.outputs[0], y)
    replace_value(y, x)
    graph.remove(node, safe=True)


def set_perm(node: ir.Node, perm) -> None:
    node.attributes["perm"] = ir.AttrInt64s("perm", [int(i) for i in perm])


def replace_with_permute(
    ctx: FoldContext, graph: ir.Graph, x: ir.Value, perm, matched: list[ir.Node], spelling: str, **extra
) -> ir.Node:
    """Replace the matched nodes (the last one computes P x) by one ChannelPermute where the first one was."""
    result = matched[-1].outputs[0]
    node = make_permute(ctx, x, perm, matched[-1].name or spelling, result, spelling=spelling, **extra)
    graph.insert_before(matched[0], node)
    replace_value(result, node.outputs[0])
    for dead in reversed(matched):
        if not any(out.uses() or out.is_graph_output() for out in dead.outputs):
            graph.remove(dead, safe=True)
    ctx.record(node=node.name, spelling=spelling, length=len(perm), replaced=[n.name for n in matched])
    return node
