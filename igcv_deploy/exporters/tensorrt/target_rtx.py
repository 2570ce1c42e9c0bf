"""The `tensorrt-rtx` target: a TensorRT-RTX engine compiled ahead of time here, no GPU needed."""

from __future__ import annotations

from ..context import ExportContext
from . import rtx
from .builder import ENGINE, build
from .library import load_builder
from .sources import check_engine_parity, write_sources


def export(ctx: ExportContext) -> str:
    library = load_builder("tensorrt_rtx")
    rtx.resolve(library.trt, ctx.request.compute_capability)  # fail before exporting anything
    plan = write_sources(ctx, implicit_int8=False)
    plan.compute_capabilities = list(ctx.request.compute_capability)
    ctx.manifest["engine"] = build(library, plan, ctx.bundle_dir)
    check_engine_parity(ctx, ctx.manifest["engine"])
    return ENGINE
