"""Which grouped-conv lowering an export applies (--lowering, --lowering-plan), checked before any work."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from ..errors import UsageError

AUTO = "auto"
# `--lowering auto`: per (runtime, precision), the variant fastest over the whole IGCV3-D network on this project's
# AVX2 machine (benchmarks/RESULTS.md, "Lowering variants"; docs/performance.md). Dense forms win in INT8 because
# the zeros they multiply are cheap there. onnxruntime FP32's variants are within the machine's noise (split won
# 2 of 3 measurements). TensorRT is unmeasured (no GPU): native. Lowering is exact, so a default only ever costs
# speed; `igcv-profile tune` measures the device itself.
DEFAULT_VARIANT = {
    ("onnxruntime", "fp32"): "split",
    ("onnxruntime", "fp16"): "split",
    ("onnxruntime", "int8"): "dense_expansion",
    ("openvino", "fp32"): "dense_projection",
    ("openvino", "fp16"): "dense_projection",
    ("openvino", "int8"): "dense_expansion",
}


def variants() -> tuple[str, ...]:
    from ..graph.passes.grouped_conv_lowering import VARIANTS

    return VARIANTS


def check_lowering(lowering: str, plan_file: str | None, runtime: str) -> None:
    if lowering != AUTO and lowering not in variants():
        raise UsageError(f"unknown --lowering '{lowering}'", f"use {AUTO} or one of {', '.join(variants())}")
    if plan_file and lowering != AUTO:
        raise UsageError("--lowering and --lowering-plan both choose the lowering", "pass only one of them")
    if plan_file:
        read_plan(plan_file, runtime)


def read_plan(plan_file: str, runtime: str) -> dict[str, str]:
    """A plan file: {signature or "*": variant}, or `igcv-profile tune`'s {"runtime": ..., "plan": {...}}."""
    path = Path(plan_file)
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot read lowering plan {path}: {error}", "pass the JSON written by `igcv-profile tune`"
        ) from error
    plan = document.get("plan", document) if isinstance(document, dict) else None
    if not isinstance(plan, dict) or not all(isinstance(v, str) and v in variants() for v in plan.values()):
        raise UsageError(
            f"{path} is not a lowering plan", f"expected {{signature: variant}} with variants {variants()}"
        )
    tuned_for = document.get("runtime")
    if tuned_for and tuned_for != runtime:
        raise UsageError(
            f"{path} was tuned on {tuned_for}, this target runs on {runtime}",
            f"tune on {runtime}: igcv-profile tune BUNDLE --runtime {runtime}",
        )
    return plan


def lowering_for(lowering: str, plan_file: str | None, runtime: str, precision: str) -> tuple[dict[str, str], dict]:
    """(plan for the folding passes, the manifest's description of where it came from)."""
    if plan_file:
        digest = hashlib.sha256(Path(plan_file).read_bytes()).hexdigest()
        return read_plan(plan_file, runtime), {"source": "plan file", "plan_sha256": digest}
    if lowering == AUTO:
        variant = DEFAULT_VARIANT.get((runtime, precision), "native")
        return {"*": variant}, {"source": f"default for {runtime} {precision}", "variant": variant}
    return {"*": lowering}, {"source": "--lowering", "variant": lowering}


def summarize(log: list[dict]) -> dict:
    """Blocks per variant and the MACs the lowering adds (zeros multiplied by densified convs)."""
    from ..graph.passes.grouped_conv_lowering import NAME

    entries = [e for e in log if e["pass"] == NAME]
    return {"blocks": dict(Counter(e["variant"] for e in entries)), "added_macs": sum(e["added_macs"] for e in entries)}
