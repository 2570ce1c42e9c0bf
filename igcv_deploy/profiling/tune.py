"""`igcv-profile tune`: choose each IGC block's grouped-conv lowering by micro-benchmark on this device.

For each distinct block shape (signature) of an FP32 ONNX exported with `--lowering native`: cut one
block out (expansion input -> projection output), lower it every way the pass knows, time each form
in the runtime (rounds over every block and form in turn, medians), keep the fastest. The plan goes to
`igcv-export --lowering-plan plan.json`; every measurement is kept beside it.
Needs onnx and onnx-ir (the graph passes), not torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..errors import IGCVError, require
from ..runtimes import load_runner
from .stats import summarize
from .timing import Plan, measure


def lower(model, runtime: str, plan: dict):
    """Fold `model` for `runtime` with the lowering pass bound to `plan`; the model and that pass's log."""
    from ..graph import fold_permutations
    from ..graph.passes.grouped_conv_lowering import NAME

    folded, log = fold_permutations(model, runtime, lowering=plan)
    return folded, [entry for entry in log if entry["pass"] == NAME]


def block_models(model, runtime: str) -> dict:
    """One representative block per signature, cut out of the natively lowered model."""
    onnx = require("onnx", "export")
    native, log = lower(model, runtime, {"*": "native"})
    first = {}
    for entry in log:
        first.setdefault(entry["signature"], entry)
    extractor = onnx.utils.Extractor(native)
    return {sig: extractor.extract_model([e["input"]], [e["output"]]) for sig, e in first.items()}


def _runner(path: Path, runtime: str, precision: str, threads: int | None):
    options = {"precision": precision} if runtime == "openvino" else {}  # the other runtimes run it as stored
    return load_runner(path, runtime, threads=threads, **options)


def _calls(block, runtime: str, precision: str, threads: int | None, folder: Path) -> dict:
    """{variant: bound zero-argument inference call} for one block (its files written to `folder`)."""
    from ..graph.passes.grouped_conv_lowering import VARIANTS

    onnx = require("onnx", "export")
    shape = [d.dim_value for d in block.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    folder.mkdir()
    out = {}
    for variant in VARIANTS:
        onnx.save(lower(block, runtime, {"*": variant})[0], str(folder / f"{variant}.onnx"))
        out[variant] = _runner(folder / f"{variant}.onnx", runtime, precision, threads).bind(x)
    return out


def tune(
    model_path: Path,
    runtime: str,
    precision: str = "fp32",
    threads: int | None = 2,
    rounds: int = 3,
    seconds: float = 0.3,
    progress=None,
) -> dict:
    """{"runtime", "plan": {signature: variant}, "blocks_ms": {signature: {variant: median ms}}, ...}."""
    onnx = require("onnx", "export")
    model = onnx.load(str(model_path))
    blocks = block_models(model, runtime)
    if not blocks:
        raise IGCVError(
            f"{model_path} has no grouped-conv blocks left to tune", "tune an FP32 ONNX exported with --lowering native"
        )
    timing = Plan(warmup_iters=5, warmup_s=0.05, iterations=20, duration_s=seconds)
    with tempfile.TemporaryDirectory(prefix="igcv-tune-") as scratch:
        calls = {
            sig: _calls(block, runtime, precision, threads, Path(scratch) / str(i))
            for i, (sig, block) in enumerate(blocks.items())
        }
        samples = {sig: {v: [] for v in variants} for sig, variants in calls.items()}
        for r in range(rounds):
            for sig, variants in calls.items():
                for variant, call in variants.items():
                    samples[sig][variant].append(summarize(measure(call, timing)[0])["latency_ms"]["p50"])
            if progress:
                progress(f"round {r + 1}/{rounds}: {len(calls)} block shapes x {len(variants)} lowerings timed")
    medians = {sig: {v: float(np.median(t)) for v, t in by.items()} for sig, by in samples.items()}
    return {
        "runtime": runtime,
        "precision": precision,
        "threads": threads,
        "rounds": rounds,
        "plan": {sig: min(by, key=by.get) for sig, by in medians.items()},
        "blocks_ms": medians,
    }
