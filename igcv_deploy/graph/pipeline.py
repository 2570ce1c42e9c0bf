"""The flat pass registry and the two entry points the export pipeline calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

import onnx
import onnx_ir as ir

from ..errors import UsageError
from .ir_tools import DOMAIN, FoldContext, attr, is_permute
from .passes import (
    canonicalize_concat,
    canonicalize_gather,
    canonicalize_reshape_transpose,
    compose,
    grouped_conv_lowering,
    lower,
    normalize,
    place,
    prune,
    slide_down,
    slide_up,
)

TARGETS = ("onnxruntime", "openvino", "tensorrt")

PASSES = {
    "normalize": normalize.run,
    "canonicalize_reshape_transpose": canonicalize_reshape_transpose.run,
    "canonicalize_gather": canonicalize_gather.run,
    "canonicalize_concat": canonicalize_concat.run,
    "compose": compose.run,
    "slide_down": slide_down.run,
    "slide_up": slide_up.run,
    "place": place.run,
    "lower": lower.run,
    "prune": prune.run,
}
CANONICALIZE = ("normalize", "canonicalize_reshape_transpose", "canonicalize_gather", "canonicalize_concat")


def fold_permutations(
    model: onnx.ModelProto, target: str = "onnxruntime", lowering: Mapping[str, str] | None = None
) -> tuple[onnx.ModelProto, list[dict]]:
    """Canonicalise, move, compose, absorb, place and lower every channel permutation of `model`.

    `lowering`: a grouped-conv lowering plan {block signature or "*": variant}; with one, each IGC block's
    grouped convs and permutation are rewritten as planned (passes/grouped_conv_lowering.py) before `lower`.
    Returns the folded model (checked, shape-inferred, standard ops only) and the log of every pass.
    """
    if target not in TARGETS:
        raise UsageError(f"unknown folding target '{target}'", f"use one of {', '.join(TARGETS)}")
    passes = PASSES if lowering is None else grouped_conv_lowering.registry_with(PASSES, lowering)
    graph_model, log = run_passes(model, passes, target, passes)
    folded = onnx.shape_inference.infer_shapes(ir.to_proto(graph_model), strict_mode=True, data_prop=True)
    onnx.checker.check_model(folded, full_check=True)
    return folded, log


def count_permutations(model: onnx.ModelProto) -> dict:
    """Runtime channel-permutation ops of a model, by spelling ("concat": Slice/Split + Concat).

    all_4d_constant: every one is a Reshape -> Transpose -> Reshape through a 4-D tensor whose
    reshape targets are constants (no Shape arithmetic), the form every target runs best.
    """
    graph_model, _ = run_passes(model, CANONICALIZE)
    found = [node for node in graph_model.graph if is_permute(node)]
    spellings = Counter(attr(node, "spelling") for node in found)
    return {
        "total": len(found),
        "reshape_transpose": spellings["reshape_transpose"],
        "gather": spellings["gather"],
        "concat": spellings["concat"],
        "all_4d_constant": all(attr(node, "static4d", 0) for node in found),
    }


def run_passes(
    model: onnx.ModelProto, names: Iterable[str], target: str = "onnxruntime", registry: Mapping[str, Callable] = PASSES
) -> tuple[ir.Model, list[dict]]:
    """Run the named passes of `registry` in order on an onnx-ir copy of `model` (ChannelPermute nodes may remain)."""
    graph_model = _load(model)
    ctx = FoldContext(target, taken=_names(graph_model.graph))
    for name in names:
        ctx.current = name
        registry[name](graph_model, ctx)
    return graph_model, ctx.log


def _load(model: onnx.ModelProto) -> ir.Model:
    """The model in onnx-ir, with shapes inferred (data propagation resolves exporter shape noise)."""
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    graph_model = ir.from_proto(inferred)
    graph_model.opset_imports.setdefault(DOMAIN, 1)
    return graph_model


def _names(graph: ir.Graph) -> set[str]:
    values = [*graph.inputs, *graph.initializers.values(), *(out for node in graph for out in node.outputs)]
    return {v.name for v in values if v.name} | {node.name for node in graph if node.name}
