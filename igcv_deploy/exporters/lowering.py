"""Which grouped-conv lowering an export applies (--lowering, --lowering-plan), checked before any work."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from ..errors import UsageError

AUTO = "auto"


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


def read_plan(plan_file: str, runtime: str | None) -> dict[str, str]:
    """A plan file: {signature or "*": variant}, or `igcv-profile tune`'s {"runtime": ..., "plan": {...}}."""
    path = Path(plan_file)
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read lowering plan {path}: {error}", "pass the JSON written by `igcv-profile tune`")
    plan = document.get("plan", document) if isinstance(document, dict) else None
    if not isinstance(plan, dict) or not all(isinstance(v, str) and v in variants() for v in plan.values()):
        raise UsageError(f"{path} is not a lowering plan", f"expected {{signature: variant}} with variants {variants()}")
    tuned_for = document.get("runtime")
    if runtime and tuned_for and tuned_for != runtime:
        raise UsageError(f"{path} was tuned on {tuned_for}, this target runs on {runtime}",
                         f"tune on {runtime}: igcv-profile tune BUNDLE --runtime {runtime}")  # fmt: skip
    return plan


def lowering_for(lowering: str, plan_file: str | None, runtime: str) -> tuple[dict[str, str], dict]:
    """(plan for the folding passes, the manifest's description of where it came from)."""
    if plan_file:
        digest = hashlib.sha256(Path(plan_file).read_bytes()).hexdigest()
        return read_plan(plan_file, runtime), {"source": "plan file", "plan_sha256": digest}
    if lowering == AUTO:
        from ..graph.passes.grouped_conv_lowering import DEFAULT_VARIANT

        return {}, {"source": f"default for {runtime}", "variant": DEFAULT_VARIANT.get(runtime, "native")}
    return {"*": lowering}, {"source": "--lowering", "variant": lowering}


def summarize(log: list[dict]) -> dict:
    """Blocks per variant and the MACs the lowering adds (zeros multiplied by densified convs)."""
    from ..graph.passes.grouped_conv_lowering import NAME

    entries = [e for e in log if e["pass"] == NAME]
    return {"blocks": dict(Counter(e["variant"] for e in entries)), "added_macs": sum(e["added_macs"] for e in entries)}
