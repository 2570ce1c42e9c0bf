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


def tuned_on() -> dict:
    """Where a plan is measured: this machine's name, CPU model and instruction-set class."""
    from ..isa import host_class
    from .environment import environment

    env = environment()
    return {"host": env["host"], "cpu_model": env["cpu_model"], "isa_class": host_class().name}


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


def timing_runner(path: Path, runtime: str, precision: str, threads: int | None):
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
    for variant in VARIANTS:  # the block was cut out of the natively lowered model: native is the block itself
        form = block if variant == "native" else lower(block, runtime, {"*": variant})[0]
        onnx.save(form, str(folder / f"{variant}.onnx"))
        out[variant] = timing_runner(folder / f"{variant}.onnx", runtime, precision, threads).bind(x)
    return out


def tune(model_path: Path, runtime: str, precision: str = "fp32", threads: int | None = 2, **timing) -> dict:
    """`igcv-profile tune`: the plan for an FP32 ONNX file (see tune_model)."""
    onnx = require("onnx", "export")
    return tune_model(onnx.load(str(model_path)), runtime, precision, threads, source=str(model_path), **timing)


def tune_model(
    model,
    runtime: str,
    precision: str = "fp32",
    threads: int | None = 2,
    rounds: int = 3,
    seconds: float = 0.3,
    budget_s: float | None = None,
    progress=None,
    source: str = "the model",
    only=None,
    drop_above: float | None = None,
) -> dict:
    """{"runtime", "plan": {signature: variant}, "blocks_ms": {signature: {variant: median ms}}, ...}.

    `budget_s` caps the timed seconds: each timing then lasts at most budget_s / (rounds x timings).
    `only`: the block signatures to time (default all). `drop_above`: after the first round, stop timing the forms
    slower than that many times their block's fastest.
    """
    blocks = {sig: b for sig, b in block_models(model, runtime).items() if only is None or sig in only}
    if not blocks:
        raise IGCVError(
            f"{source} has no grouped-conv blocks left to tune", "tune an FP32 ONNX exported with --lowering native"
        )
    with tempfile.TemporaryDirectory(prefix="igcv-tune-") as scratch:
        calls = {
            sig: _calls(block, runtime, precision, threads, Path(scratch) / str(i))
            for i, (sig, block) in enumerate(blocks.items())
        }
        return tune_calls(calls, runtime, precision, threads, rounds, seconds, budget_s, progress, drop_above)


def tune_calls(
    calls: dict, runtime: str, precision: str, threads, rounds: int, seconds: float, budget_s, progress, drop_above=None
):
    """Time {signature: {variant: call}} in rotated rounds within the budget; the plan and every median."""
    timings = sum(len(variants) for variants in calls.values())
    if budget_s is not None:
        seconds = min(seconds, budget_s / (rounds * timings))
    timing = Plan(warmup_iters=5, warmup_s=min(0.05, seconds), iterations=20, duration_s=seconds)
    dropped = {}
    if drop_above is None:
        samples = rotated_round_samples(calls, rounds, timing, progress)
    else:
        samples = rotated_round_samples(calls, 1, timing, progress)
        kept = {sig: _close_to_fastest(by, samples[sig], drop_above) for sig, by in calls.items()}
        dropped = {sig: {v: t[0] for v, t in by.items() if v not in kept[sig]} for sig, by in samples.items()}
        for sig, by in rotated_round_samples(kept, rounds - 1, timing, progress).items():
            samples[sig] = {variant: samples[sig][variant] + times for variant, times in by.items()}
    medians = {sig: {v: float(np.median(t)) for v, t in by.items()} for sig, by in samples.items()}
    spreads = [np.ptp(t) / np.median(t) for by in samples.values() for t in by.values() if len(t) > 1]
    return {
        "runtime": runtime,
        "precision": precision,
        "threads": threads,
        "rounds": rounds,
        "seconds_per_timing": seconds,
        "plan": {sig: min(by, key=by.get) for sig, by in medians.items()},
        "tuned_on": tuned_on(),
        "blocks_ms": medians,
        "round_spread": float(np.median(spreads)) if spreads else None,  # (max - min) / median over rounds
        **({"dropped_after_round_1": dropped} if drop_above is not None else {}),
    }


def _close_to_fastest(calls: dict, first_round: dict, ratio: float) -> dict:
    fastest = min(times[0] for times in first_round.values())
    return {variant: call for variant, call in calls.items() if first_round[variant][0] <= ratio * fastest}


def rotated_round_samples(calls: dict, rounds: int, timing: Plan, progress) -> dict:
    """Rounds over every group and call in turn: {group: {call: [p50 ms per round]}} (in tune, a group is a block
    shape and its calls the lowerings)."""
    samples = {sig: {v: [] for v in variants} for sig, variants in calls.items()}
    for r in range(rounds):
        for sig, variants in calls.items():
            for variant, call in variants.items():
                samples[sig][variant].append(summarize(measure(call, timing)[0])["latency_ms"]["p50"])
        if progress:
            progress(f"round {r + 1}/{rounds}: {sum(map(len, calls.values()))} timings in {len(calls)} groups")
    return samples
