"""The `tensorrt` target: a bundle a device rebuilds into a TensorRT 10/11 engine.

The engine is built here too when TensorRT and a CUDA device are present; otherwise the bundle
says so and names the device command. There is never a substitute engine.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from ...errors import IGCVError
from ..context import ExportContext
from .builder import ENGINE, TIMING_CACHE, BuildPlan, build
from .compat import check_compatibility
from .library import load_builder
from .sources import check_engine_parity, write_sources


def export(ctx: ExportContext) -> str:
    plan = write_sources(ctx, implicit_int8=True)
    _copy_timing_cache(ctx, plan)
    sources = [name for name in (plan.onnx, plan.implicit_onnx) if name]
    ctx.manifest["compatibility"] = check_compatibility(ctx.bundle_dir, sources)
    try:
        library = load_builder("tensorrt")
    except IGCVError as unavailable:
        return _not_built(ctx, plan, unavailable.problem)
    ctx.manifest["engine"] = build(library, plan, ctx.bundle_dir)
    check_engine_parity(ctx, ctx.manifest["engine"])
    return ENGINE


def _copy_timing_cache(ctx: ExportContext, plan: BuildPlan) -> None:
    if not ctx.request.timing_cache:
        return
    source = Path(ctx.request.timing_cache)
    if not source.is_file():
        raise IGCVError(
            f"timing cache '{source}' does not exist",
            "omit --timing-cache: every engine build writes timing.cache into the bundle",
        )
    shutil.copyfile(source, ctx.bundle_dir / TIMING_CACHE)
    plan.timing_cache = TIMING_CACHE


def _not_built(ctx: ExportContext, plan: BuildPlan, reason: str) -> str:
    command = f"igcv-export build-engine {ctx.request.output_dir(ctx.config.name, ctx.target, ctx.precision)}"
    print(f"note: model.engine not built: {reason}; on the device run: {command}", file=sys.stderr)
    ctx.manifest["engine"] = {"status": "not built", "reason": reason, "build_command": command, "plan": asdict(plan)}
    ctx.manifest["next_steps_notes"] = [f"build the engine on the device: {command}"]
    return plan.onnx
