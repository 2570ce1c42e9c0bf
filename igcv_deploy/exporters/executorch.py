"""ExecuTorch .pte for Android and iOS apps, delegated to XNNPACK: FP32, and INT8 by PT2E quantisation.

Starts from the PyTorch module (torch.export), not from the folded ONNX: the grouped-conv lowering is applied
to the module itself (graph/fx_lowering.py: the same exact block forms, the plan from --lowering), before INT8
quantisation. What XNNPACK took and what it left to ExecuTorch's portable kernels is recorded in the manifest's
"executorch" section; "folding" records the lowering and the channel shuffles left in the program.
A BundledProgram (model_bundled.bpte: inputs plus the outputs this host computed) lets an app verify the
model on the phone; docs/executorch.md shows how.
"""

from __future__ import annotations

from collections import Counter

from ..errors import require
from ..runtimes.executorch import ExecuTorchRunner
from .context import ExportContext
from .pt2e_int8 import checked_accuracy
from .torch_module import check_source, example_input, lowered_module

PTE = "model.pte"
BUNDLED = "model_bundled.bpte"
BUNDLED_CASES = 4  # parity images carried by the bundled program
# Tolerances the bundled self-test is verified with here (the phone's XNNPACK kernels differ in rounding).
BUNDLED_TOLERANCE = {"fp32": {"rtol": 1e-3, "atol": 1e-4}, "int8": {"rtol": 5e-2, "atol": 5e-2}}
# What a channel shuffle (reshape -> transpose -> reshape) becomes in the edge graph; the clone is the copy the
# second reshape makes of the transposed (non-contiguous) tensor.
SHUFFLE_OPS = ("aten.permute_copy.default", "aten.view_copy.default", "dim_order_ops._clone_dim_order.default")
# Ops whose fallback to portable kernels would make an IGCV model slow: convolutions (the IGC blocks).
HEAVY_OPS = ("aten.convolution.default",)


def op_name(node) -> str:
    """'aten.convolution.default' for an edge op; the function's name otherwise (getitem)."""
    return getattr(node.target, "__name__", str(node.target))


def delegation_summary(edge_program) -> dict:
    """Walk the lowered edge graph: ops inside XNNPACK delegates vs ops left to ExecuTorch's portable kernels."""
    graph_module = edge_program.graph_module
    inside: Counter = Counter()
    outside: Counter = Counter()
    subgraphs = 0
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = op_name(node)
        if "executorch_call_delegate" in name:
            subgraphs += 1
            lowered = getattr(graph_module, node.args[0].target)
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function" and op_name(inner) != "getitem":
                    inside[op_name(inner)] += 1
        elif name != "getitem":
            outside[name] += 1
    return {
        "delegate": "XnnpackBackend",
        "delegated_subgraphs": subgraphs,
        "delegated_nodes": sum(inside.values()),
        "non_delegated_nodes": sum(outside.values()),
        "delegated_ops": dict(sorted(inside.items())),
        "outside_ops": dict(sorted(outside.items())),
        "heavy_ops_on_portable_kernels": sorted(op for op in outside if op in HEAVY_OPS),
    }


def write_block(block, example, path) -> None:
    """One block form as a .pte, for --lowering tune."""
    import torch

    path.write_bytes(lower(torch.export.export(block, (example,)))[0].buffer)


def shuffle_record(summary: dict) -> dict:
    """Channel shuffles left in the program (view/transpose/view -> view_copy/permute_copy): delegated or not."""
    delegated = {op: summary["delegated_ops"].get(op, 0) for op in SHUFFLE_OPS}
    outside = {op: summary["outside_ops"].get(op, 0) for op in SHUFFLE_OPS}
    return {"delegated": delegated, "outside": outside}


def lower(exported):
    """XNNPACK-partitioned edge program and its ExecuTorch program manager."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    summary = delegation_summary(edge.exported_program())
    return edge.to_executorch(), summary


def write_bundled_program(ctx: ExportContext, program, runner: ExecuTorchRunner) -> dict:
    """model_bundled.bpte: the program plus a few real inputs and the outputs ExecuTorch computed for them here."""
    import torch
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    from executorch.devtools.bundled_program.serialize import serialize_from_bundled_program_to_flatbuffer

    batch = ctx.request.batch
    count = max(1, min(BUNDLED_CASES, len(ctx.samples) // batch))
    cases = []
    for index in range(count):
        images = ctx.samples[index * batch : (index + 1) * batch]
        cases.append(
            MethodTestCase(
                inputs=[torch.from_numpy(images.copy())], expected_outputs=[torch.from_numpy(runner.run(images))]
            )
        )
    bundled = BundledProgram(program, [MethodTestSuite(method_name="forward", test_cases=cases)])
    (ctx.bundle_dir / BUNDLED).write_bytes(serialize_from_bundled_program_to_flatbuffer(bundled))
    tolerance = BUNDLED_TOLERANCE[ctx.precision]
    verify_bundled_program(ctx.bundle_dir / BUNDLED, count, **tolerance)
    return {
        "file": BUNDLED,
        "method": "forward",
        "test_cases": count,
        "expected_outputs": f"ExecuTorch {runner.version} XNNPACK on the export host",
        **tolerance,
    }


def verify_bundled_program(path, cases: int, rtol: float, atol: float) -> None:
    """Run every bundled test case with ExecuTorch's bundled-program API; raises if an output differs."""
    from executorch.extension.pybindings.portable_lib import _load_bundled_program_from_buffer

    bundle = _load_bundled_program_from_buffer(path.read_bytes())
    for index in range(cases):  # loads the case's inputs, runs forward, compares with the expected outputs
        bundle.verify_result_with_bundled_expected_output("forward", index, rtol=rtol, atol=atol)


def export(ctx: ExportContext) -> str:
    check_source(ctx)
    torch = require("torch", "export")
    require("executorch", "executorch")
    module, ctx.manifest["folding"] = lowered_module(ctx, write_block, ".pte")
    calib = None
    if ctx.precision == "int8":
        require("torchao", "executorch")
        from .executorch_int8 import XNNPACK
        from .pt2e_int8 import quantize_int8

        module, calib = quantize_int8(ctx, module, XNNPACK)
    program, summary = lower(torch.export.export(module, (example_input(ctx),)))
    pte = ctx.bundle_dir / PTE
    pte.write_bytes(program.buffer)
    ctx.manifest["executorch"] = summary
    ctx.manifest["folding"]["executorch_shuffle_ops"] = shuffle_record(summary)
    runner = ExecuTorchRunner(pte)
    ctx.check_parity(PTE, runner, primary=True)
    if calib is not None:
        ctx.manifest["accuracy"] = checked_accuracy(ctx, runner, calib, PTE)
    ctx.manifest["executorch"]["bundled_program"] = write_bundled_program(ctx, program, runner)
    return PTE
