"""What the targets built from the PyTorch module (executorch, litert) share: the source check, the static example
input, and the grouped-conv lowering on the module (graph/fx_lowering.py) with --lowering tune timed in the
target's own runtime."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..errors import UsageError
from .context import ExportContext

# (block module, example input, path) -> writes that block as the target's artifact, for --lowering tune
WriteBlock = Callable[[object, object, Path], None]


def check_source(ctx: ExportContext) -> None:
    if ctx.model is None:
        raise UsageError(
            f"the {ctx.target} target needs a PyTorch model",
            "pass a registered model, FILE.py:CALLABLE, MODULE:CALLABLE or a .pt2 program, not an ONNX file",
        )
    if ctx.request.dynamic_batch:
        raise UsageError(f"the {ctx.target} target exports a static batch", "remove --dynamic-batch")


def example_input(ctx: ExportContext):
    import torch

    return torch.from_numpy(ctx.samples[: ctx.request.batch].copy())


def lowered_module(ctx: ExportContext, write_block: WriteBlock, suffix: str) -> tuple[object, dict]:
    """The model with its IGC blocks lowered by the --lowering plan (exact), and the manifest's "folding"."""
    if not ctx.request.fold:
        return ctx.model, {"enabled": False}
    from ..graph.fx_lowering import lower_module
    from .lowering import lowering_for, summarize
    from .lowering_auto import settle

    example = example_input(ctx)
    tune = partial(tune_blocks, ctx.model, example, ctx.runtime, write_block, suffix)
    plan, source = lowering_for(ctx, ctx.model, tune=tune)
    module, log, how = lower_module(ctx.model, example, plan)
    settle(source, [e for e in log if "signature" in e])
    return module, {
        "enabled": True,
        "lowered_for": ctx.runtime,
        ctx.runtime: how,
        "grouped_conv_lowering": {**source, **summarize(log)},
        "log": log,
    }


def tune_blocks(
    module,
    example,
    runtime: str,
    write_block: WriteBlock,
    suffix: str,
    budget_s: float,
    threads: int = 2,
    rounds: int = 3,
    seconds: float = 0.3,
) -> dict:
    """--lowering tune here: each block shape cut out of the module, its forms written as the target's files and
    timed in its runtime (FP32; profiling/tune.py's rounds and budget)."""
    import tempfile

    from ..graph.fx_lowering import block_forms
    from ..profiling.tune import tune_calls
    from ..runtimes import load_runner

    forms = block_forms(module, example)
    if not forms:
        raise UsageError(
            "--lowering tune: torch.fx found no IGC block (grouped 1x1 -> shuffle -> grouped 1x1) in the model",
            "use --lowering auto",
        )
    with tempfile.TemporaryDirectory(prefix="igcv-tune-") as scratch:
        calls = {}
        for index, (signature, (variants, x)) in enumerate(forms.items()):
            calls[signature] = {}
            for variant, block in variants.items():
                path = Path(scratch) / f"{index}-{variant}{suffix}"
                write_block(block, x, path)
                calls[signature][variant] = load_runner(path, runtime, threads=threads).bind(x.numpy())
        return tune_calls(calls, runtime, "fp32", threads, rounds, seconds, budget_s, None)
