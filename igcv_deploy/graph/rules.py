"""How a channel permutation crosses one op, in either direction.

A pointwise op commutes with it; an op with per-channel parameters takes the parameters re-indexed
(f_θ(P x) = P f_θ[inverse](x)); a dense conv or linear layer absorbs it into its weight (W P = W[:, inverse],
P W = W[s, :]); a grouped conv only when the permutation maps its channel groups onto whole groups (the
order within each group is absorbed, the order of the groups carries on to the far side).

push_down(node, index, s):  node(P_s x) = P_t node'(x)  (x enters node at input `index`)
pull_up(node, t):           P_t node(y) = node'(P_s y)
Both return a Crossing with the permutation on the far side (identity: absorbed) and the
re-indexed constant inputs of node', or None when the permutation cannot cross.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import onnx_ir as ir

from .ir_tools import attr, const_array, dims, only_first_output_used
from .perm_algebra import block_structure, expand_blocks, inverse, is_identity

POINTWISE = {
    "Abs",
    "Cast",
    "Ceil",
    "Celu",
    "Clip",
    "Dropout",
    "Elu",
    "Erf",
    "Exp",
    "Floor",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LeakyRelu",
    "Log",
    "Mish",
    "Neg",
    "Reciprocal",
    "Relu",
    "Round",
    "Selu",
    "Sigmoid",
    "Sign",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tanh",
    "ThresholdedRelu",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalLpPool",
    "GlobalMaxPool",
    "LpPool",
    "MaxPool",
}
PER_CHANNEL = {"BatchNormalization": (1, 2, 3, 4), "InstanceNormalization": (1, 2)}
BROADCAST = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PRelu"}
REDUCE = {"ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum"}
RESHAPE = {"Flatten", "Reshape", "Squeeze", "Unsqueeze"}


class Crossing(NamedTuple):
    perm: np.ndarray  # the permutation on the other side of the node
    index: int  # the node input the permutation sits on (push_down: where it came from)
    params: dict[int, np.ndarray]  # node input index -> re-indexed constant


def push_down(node: ir.Node, index: int, perm: np.ndarray) -> Crossing | None:
    return _cross(node, index, perm, down=True)


def pull_up(node: ir.Node, perm: np.ndarray) -> Crossing | None:
    data = [i for i, v in enumerate(node.inputs) if v is not None and const_array(v) is None]
    return _cross(node, data[0], perm, down=False) if len(data) == 1 else None


def _cross(node: ir.Node, index: int, perm: np.ndarray, down: bool) -> Crossing | None:
    if node.domain != "" or not only_first_output_used(node):
        return None
    op = node.op_type
    if op in ("Conv", "Gemm", "MatMul"):
        return _dense(node, index, perm, down) if index == 0 else None
    others = [i for i, v in enumerate(node.inputs) if i != index and v is not None]
    consts = {i: const_array(node.inputs[i]) for i in others}
    if any(c is None for c in consts.values()):
        return None
    if op in BROADCAST:
        rank = len(node.inputs[index].shape) if node.inputs[index].shape is not None else None
        params = {i: _reindex_broadcast(c, rank, perm, down) for i, c in consts.items()}
        if rank is None or any(p is None for p in params.values()):
            return None
        return Crossing(perm, index, {i: p for i, p in params.items() if p is not consts[i]})
    if index != 0:
        return None
    if op in PER_CHANNEL:
        gather = inverse(perm) if down else perm
        return Crossing(perm, 0, {i: consts[i][gather] for i in PER_CHANNEL[op] if i in consts})
    keeps_channels = op in POINTWISE or (op in REDUCE and _keeps_batch_and_channels(node))
    if keeps_channels or (op in RESHAPE and _only_unit_dims_change(node)):
        return Crossing(perm, 0, {})
    return None


def _reindex_broadcast(const: np.ndarray, rank: int | None, perm: np.ndarray, down: bool):
    """A constant operand broadcast against a rank-`rank` tensor with channels on axis 1."""
    if rank is None or const.ndim > rank:
        return None
    axis = const.ndim - rank + 1
    if axis < 0 or const.shape[axis] == 1:
        return const
    if const.shape[axis] != len(perm):
        return None
    return np.take(const, inverse(perm) if down else perm, axis=axis)


def _keeps_batch_and_channels(node: ir.Node) -> bool:
    axes = attr(node, "axes")
    if len(node.inputs) > 1 and node.inputs[1] is not None:
        axes = const_array(node.inputs[1])
    rank = len(node.inputs[0].shape or ())
    return axes is not None and len(axes) > 0 and rank > 2 and all(a % rank > 1 for a in np.ravel(axes))


def _only_unit_dims_change(node: ir.Node) -> bool:
    """[N, C, 1, 1] <-> [N, C]: the channel axis stays axis 1, nothing else moves."""
    before, after = dims(node.inputs[0]), dims(node.outputs[0])
    if not before or not after or len(before) < 2 or len(after) < 2 or before[1] is None:
        return False
    units = all(d == 1 for d in before[2:] + after[2:])
    return units and before[1] == after[1] and (before[0] == after[0] or None in (before[0], after[0]))


def _dense(node: ir.Node, index: int, perm: np.ndarray, down: bool) -> Crossing | None:
    """Conv with any groups (dense, grouped, depthwise), Gemm and 2-D MatMul as one weight [out, in/g, ...]."""
    weight, layout = _weight_matrix(node)
    bias_index = 2 if node.op_type in ("Conv", "Gemm") else len(node.inputs)
    has_bias = len(node.inputs) > bias_index and node.inputs[bias_index] is not None
    bias = const_array(node.inputs[bias_index]) if has_bias else None
    if weight is None or (has_bias and bias is None):
        return None
    groups = attr(node, "group", 1)
    channels = weight.shape[1] * groups if down else weight.shape[0]
    blocks = block_structure(perm, groups) if len(perm) == channels else None
    if blocks is None:
        return None
    block_perm, within = blocks
    if down:
        grouped = weight.reshape(groups, -1, *weight.shape[1:])
        columns = np.stack([g[:, inverse(w)] for g, w in zip(grouped, within)]).reshape(weight.shape)
        far = expand_blocks(block_perm, weight.shape[0] // groups)
        weight, gather = columns[inverse(far)], inverse(far)
    else:
        far, gather = expand_blocks(block_perm, weight.shape[1]), perm
        weight = weight[perm]
    params = {1: layout(weight)}
    if bias is not None and bias.ndim and bias.shape[-1] == len(gather) and not is_identity(gather):
        params[bias_index] = bias[..., gather]
    return Crossing(far, index, params)


def _weight_matrix(node: ir.Node):
    """The constant weight viewed as [out, in/groups, ...], and how to turn it back into the input."""
    weight = const_array(node.inputs[1]) if len(node.inputs) > 1 else None
    if weight is None or node.op_type == "Conv":
        return weight, lambda w: w
    if weight.ndim != 2 or len(node.inputs[0].shape or ()) != 2 or attr(node, "transA", 0):
        return None, None
    if node.op_type == "Gemm" and attr(node, "transB", 0):
        return weight, lambda w: w
    return weight.T, lambda w: np.ascontiguousarray(w.T)
