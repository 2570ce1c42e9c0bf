"""Per-layer choice of the grouped-conv lowering, by micro-benchmark on the target runtime.

For each distinct block shape (signature) of a folded model: cut the block out of the model
(expansion input -> projection output), lower it every way the pass knows, time each lowering in
the target runtime with the profiling harness (2 threads, rotated rounds), keep the fastest.
The plan {signature: variant} and every measurement are returned JSON-serialisable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx

from igcv_deploy.graph import pipeline
from igcv_deploy.graph.passes import grouped_conv_lowering as lowering
from igcv_deploy.profiling.stats import summarize
from igcv_deploy.profiling.timing import Plan, measure


def lower(model: onnx.ModelProto, target: str, plan: dict) -> tuple[onnx.ModelProto, list[dict]]:
    """Fold `model` for `target` with the lowering pass bound to `plan`; returns the model and the pass's log."""
    passes, pipeline.PASSES = pipeline.PASSES, lowering.registry_with(pipeline.PASSES, plan)
    try:
        folded, log = pipeline.fold_permutations(model, target)
    finally:
        pipeline.PASSES = passes
    return folded, [entry for entry in log if entry["pass"] == lowering.NAME]


def block_models(model: onnx.ModelProto, target: str) -> dict[str, onnx.ModelProto]:
    """One representative block per signature, cut out of the natively lowered model."""
    native, log = lower(model, target, {"*": "native"})
    first = {}
    for entry in log:
        first.setdefault(entry["signature"], entry)
    extractor = onnx.utils.Extractor(native)
    return {sig: extractor.extract_model([e["input"]], [e["output"]]) for sig, e in first.items()}


def runner(path: Path, runtime: str, precision: str, threads: int):
    if runtime == "onnxruntime":
        from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner

        return OnnxRuntimeRunner(path, threads)
    from igcv_deploy.runtimes.openvino import OpenVINORunner

    return OpenVINORunner(path, threads, precision=precision)


def calls(block: onnx.ModelProto, target: str, runtime: str, precision: str, threads: int, folder: Path) -> dict:
    """{variant: bound zero-argument inference call} for one block (its files written to `folder`)."""
    shape = [d.dim_value for d in block.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    folder.mkdir()
    out = {}
    for variant in lowering.VARIANTS:
        onnx.save(lower(block, target, {"*": variant})[0], str(folder / f"{variant}.onnx"))
        out[variant] = runner(folder / f"{variant}.onnx", runtime, precision, threads).bind(x)
    return out


def tune(model_path: Path, target: str, runtime: str, precision: str = "f32", threads: int = 2,
         rounds: int = 3, seconds: float = 0.3) -> dict:  # fmt: skip
    """{"plan": {signature: variant}, "blocks": {signature: {variant: median ms}}} for `target`."""
    model = onnx.load(str(model_path))
    plan_timing = Plan(warmup_iters=5, warmup_s=0.05, iterations=20, duration_s=seconds)
    with tempfile.TemporaryDirectory(prefix="igcv-tune-") as scratch:
        blocks = {sig: calls(b, target, runtime, precision, threads, Path(scratch) / str(i))
                  for i, (sig, b) in enumerate(block_models(model, target).items())}  # fmt: skip
        samples = {sig: {v: [] for v in variants} for sig, variants in blocks.items()}
        for _ in range(rounds):
            for sig, variants in blocks.items():
                for variant, call in variants.items():
                    ms, _ = measure(call, plan_timing)
                    samples[sig][variant].append(summarize(ms)["latency_ms"]["p50"])
    medians = {sig: {v: float(np.median(t)) for v, t in by.items()} for sig, by in samples.items()}
    plan = {sig: min(by, key=by.get) for sig, by in medians.items()}
    return {"target": target, "runtime": runtime, "precision": precision, "threads": threads, "rounds": rounds,
            "plan": plan, "blocks_ms": medians}  # fmt: skip
