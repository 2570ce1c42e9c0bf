"""The folding passes in run order, and the two entry points the export pipeline calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import onnx
import onnx_ir as ir

from ..errors import UsageError
from ..targets import TARGETS
from .ir_tools import DOMAIN, FoldContext, attr, is_permute
from .passes.canonicalize_concat import CanonicalizeConcat
from .passes.canonicalize_gather import CanonicalizeGather
from .passes.canonicalize_reshape_transpose import CanonicalizeReshapeTranspose
from .passes.compose import Compose, Sweep
from .passes.grouped_conv_lowering import GroupedConvLowering
from .passes.lower import Lower
from .passes.normalize import Normalize
from .passes.place import Place
from .passes.prune import Prune
from .passes.slide_down import SlideDown
from .passes.slide_up import SlideUp

RUNTIMES = tuple(sorted({target.runtime for target in TARGETS}))
CANONICALIZE = ("normalize", "canonicalize_reshape_transpose", "canonicalize_gather", "canonicalize_concat")
# A sweep moves each permutation one op further along a run of channel-wise ops, and those runs are short (the
# IGCV1-3 zoo settles within 6 sweeps); stopping at the bound would leave a less folded but still exact graph.
SWEEPS = 100


def fold_passes(ctx: FoldContext, lowering: Mapping[str, str] | None = None) -> dict[str, ir.passes.PassBase]:
    """Every folding pass by name, in run order, bound to one run's context.

    A sweeping pass (slide_down, slide_up) is repeated until a sweep changes nothing. With a lowering plan
    {block signature or "*": variant}, the grouped-conv lowering pass runs just before `lower`.
    """
    lowering_pass = [] if lowering is None else [GroupedConvLowering(ctx, lowering)]
    passes = [
        Normalize(ctx),
        CanonicalizeReshapeTranspose(ctx),
        CanonicalizeGather(ctx),
        CanonicalizeConcat(ctx),
        Compose(ctx),
        SlideDown(ctx),
        SlideUp(ctx),
        Place(ctx),
        *lowering_pass,
        Lower(ctx),
        Prune(ctx),
    ]
    return {p.name: _until_stable(p) if isinstance(p, Sweep) else p for p in passes}


def _until_stable(sweep: Sweep) -> ir.passes.PassManager:
    return ir.passes.PassManager([sweep], steps=SWEEPS, early_stop=True)


def fold_permutations(
    model: onnx.ModelProto, runtime: str = "onnxruntime", lowering: Mapping[str, str] | None = None
) -> tuple[onnx.ModelProto, list[dict]]:
    """Canonicalise, move, compose, absorb, place and lower every channel permutation of `model` for `runtime`.

    `lowering`: a grouped-conv lowering plan {block signature or "*": variant}; with one, each IGC block's
    grouped convs and permutation are rewritten as planned (passes/grouped_conv_lowering.py) before `lower`.
    Returns the folded model (checked, shape-inferred, standard ops only) and the log of every pass.
    """
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown folding runtime '{runtime}'", f"use one of {', '.join(RUNTIMES)}")
    graph_model, log = run_passes(model, runtime=runtime, lowering=lowering)
    folded = onnx.shape_inference.infer_shapes(ir.to_proto(graph_model), strict_mode=True, data_prop=True)
    onnx.checker.check_model(folded, full_check=True)
    return folded, log


def count_permutations(model: onnx.ModelProto) -> dict:
    """Runtime channel-permutation ops of a model, by spelling ("gather": Gather on the channel axis, also between
    two Transposes as dynamo writes x[:, perm]; "concat": Slice/Split + Concat).

    all_4d_constant: every one is a Reshape -> Transpose -> Reshape through a 4-D tensor whose
    reshape targets are constants (no Shape arithmetic), the form every runtime runs best.
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
    model: onnx.ModelProto,
    names: Iterable[str] | None = None,
    runtime: str = "onnxruntime",
    lowering: Mapping[str, str] | None = None,
) -> tuple[ir.Model, list[dict]]:
    """Run the named passes of fold_passes (all by default), in the order given, on an onnx-ir copy of `model`.

    Returns the onnx-ir model (ChannelPermute nodes remain unless `lower` ran) and the log.
    """
    graph_model, ctx = load(model, runtime)
    passes = fold_passes(ctx, lowering)
    ir.passes.Sequential(*(passes[name] for name in (passes if names is None else names)))(graph_model)
    return graph_model, ctx.log


def load(model: onnx.ModelProto, runtime: str = "onnxruntime") -> tuple[ir.Model, FoldContext]:
    """The model in onnx-ir with shapes inferred (data propagation resolves exporter shape noise), and a context
    for folding it."""
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    graph_model = ir.from_proto(inferred)
    graph_model.opset_imports.setdefault(DOMAIN, 1)
    return graph_model, FoldContext(runtime, taken=_names(graph_model.graph))


def _names(graph: ir.Graph) -> set[str]:
    values = [*graph.inputs, *graph.initializers.values(), *(out for node in graph for out in node.outputs)]
    return {v.name for v in values if v.name} | {node.name for node in graph if node.name}
