"""Which grouped-conv lowering an export applies (--lowering, --lowering-plan), checked before any work."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from functools import partial
from pathlib import Path

from ..errors import UsageError

AUTO = "auto"  # the tuning store's plan for this CPU, else the measured default for its class (lowering_auto.py)
TABLE = "table"  # the measured default for the CPU class (lowering_defaults.py), never the store nor a measurement
TUNE = "tune"  # time the block forms on this CPU during the export
TUNE_BUDGET_S = 45.0  # timed seconds for --lowering tune (plus session set-up): about a minute in all


def variants() -> tuple[str, ...]:
    from ..graph.passes.grouped_conv_lowering import VARIANTS

    return VARIANTS


def check_lowering(lowering: str, plan_file: str | None, runtime: str, tuning_file: str | None = None) -> None:
    if lowering not in (AUTO, TABLE, TUNE, *variants()):
        raise UsageError(
            f"unknown --lowering '{lowering}'", f"use {AUTO}, {TABLE}, {TUNE} or one of {', '.join(variants())}"
        )
    if plan_file and lowering != AUTO:
        raise UsageError("--lowering and --lowering-plan both choose the lowering", "pass only one of them")
    if plan_file:
        read_plan(plan_file, runtime)
    if tuning_file and (lowering != AUTO or plan_file):
        raise UsageError("--tuning is the store --lowering auto reads", "drop --lowering/--lowering-plan, or --tuning")
    if tuning_file:
        from ..tuning_store import read_entries

        if not read_entries(Path(tuning_file)):
            raise UsageError(f"{tuning_file} holds no tuning entries", "igcv-profile tune --export FILE on the device")


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
            f"tune on {runtime}: igcv-export --lowering tune, or igcv-profile tune BUNDLE --runtime {runtime} (ONNX)",
        )
    return plan


def check_tunable(lowering: str, target, device_is_host: bool) -> None:
    if lowering != TUNE:
        return
    from ..runtimes import get_runtime

    runtime = target.runtime
    if get_runtime(runtime).needs_gpu:
        raise UsageError(f"--lowering tune times blocks in {runtime}, which does not run here", "use --lowering auto")
    if not device_is_host:
        raise UsageError(
            "--lowering tune measures this CPU, but --device names another",
            "drop --device, or export on the device itself",
        )


def lowering_for(ctx, model, tune=None) -> tuple[dict[str, str], dict]:
    """(plan for the folding passes, the manifest's account of where it came from). `tune(budget_s)` times the
    block forms for --lowering tune (default: ONNX blocks of `model` in the target's runtime)."""
    from .lowering_auto import auto_plan

    request, runtime = ctx.request, ctx.runtime
    if request.lowering_plan:
        return read_plan(request.lowering_plan, runtime), plan_origin(Path(request.lowering_plan))
    if request.lowering == TUNE:
        return tuned_plan(model, runtime, ctx.precision, tune)
    if request.lowering in (AUTO, TABLE):
        return auto_plan(ctx, table=request.lowering == TABLE)
    return {"*": request.lowering}, {"source": "--lowering", "variant": request.lowering}


def plan_origin(path: Path) -> dict:
    """The manifest's account of a plan file: its hash, and where `igcv-profile tune` measured it (the device
    and its CPU, for a plan tuned with --on)."""
    text = path.read_bytes()
    document = json.loads(text)
    origin = {"source": "plan file", "plan_sha256": hashlib.sha256(text).hexdigest()}
    if isinstance(document, dict) and "tuned_on" in document:
        origin["tuned_on"] = document["tuned_on"]
    return origin


def fold_lowered(ctx, model, fold) -> tuple[object, list[dict], dict]:
    """`fold(plan) -> (folded, log)` with the plan lowering_for chooses, and the manifest's account. Under auto,
    block shapes the store lacks are measured on this host first when allowed (lowering_auto), then refolded."""
    from ..graph.passes.grouped_conv_lowering import NAME
    from .lowering_auto import may_tune_here, quick_tune_and_store, settle

    plan, source = lowering_for(ctx, model)
    folded, log = fold(plan)
    if ctx.request.lowering not in (AUTO, TABLE) or ctx.request.lowering_plan:
        return folded, log, source
    missing = settle(source, [e for e in log if e["pass"] == NAME])
    if missing and may_tune_here(ctx):
        not_stored = quick_tune_and_store(ctx, model, missing)
        if not_stored:
            return folded, log, {**source, "quick_tuning": not_stored}
        plan, source = lowering_for(ctx, model)
        folded, log = fold(plan)
        settle(source, [e for e in log if e["pass"] == NAME])
    return folded, log, source


def tuned_plan(model, runtime: str, precision: str, tune=None) -> tuple[dict[str, str], dict]:
    """Time every block form on this CPU (about a minute of timing) and keep each block's fastest."""
    from ..profiling.tune import tune_model
    from ..progress import step
    from .lowering_auto import store_if_steady

    blocks_precision = "fp32" if precision == "int8" else precision  # the plan is chosen before quantisation
    with step(f"tune the grouped-conv lowering on this CPU ({runtime} {blocks_precision})"):
        tuned = (tune or partial(tune_model, model, runtime, blocks_precision))(budget_s=TUNE_BUDGET_S)
    not_stored = store_if_steady(
        {"runtime": runtime, "precision": blocks_precision, **tuned}, "igcv-export --lowering tune"
    )
    if not_stored:
        print(f"tuning: {not_stored} in the tuning store (the plan is still used for this export)", file=sys.stderr)
    return tuned["plan"], {
        "source": "tuned during the export",
        "tuned_precision": blocks_precision,
        **{key: tuned[key] for key in ("tuned_on", "threads", "rounds", "seconds_per_timing", "plan", "blocks_ms")},
    }


def summarize(log: list[dict]) -> dict:
    """Blocks per variant and the MACs the lowering adds (zeros multiplied by densified convs)."""
    from ..graph.passes.grouped_conv_lowering import NAME

    entries = [e for e in log if e["pass"] == NAME]
    return {"blocks": dict(Counter(e["variant"] for e in entries)), "added_macs": sum(e["added_macs"] for e in entries)}
