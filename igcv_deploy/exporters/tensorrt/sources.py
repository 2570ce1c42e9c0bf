"""What a TensorRT bundle is built from: parity-checked ONNX files, checked against TensorRT's rules.

Shared by the `tensorrt` and `tensorrt-rtx` exporters (export side: runs with torch installed).
"""

from __future__ import annotations

import shutil

from ...runtimes.onnxruntime import OnnxRuntimeRunner
from ...runtimes.tensorrt import TensorRTRunner, cuda_compute_capabilities
from ..base_onnx import INPUT_NAME, base_onnx, write_float_onnx
from ..context import ExportContext
from ..int8 import QDQ_ONNX, write_qdq_onnx
from .builder import DEFAULT_MAX_BATCH, ENGINE, BuildPlan

FLOAT_ONNX, CALIBRATION_CACHE = "model.onnx", "calibration.cache"


def write_sources(ctx: ExportContext, implicit_int8: bool) -> BuildPlan:
    """Write the ONNX an engine is built from; with `implicit_int8`, also the FP32 ONNX + cache TensorRT 10 uses."""
    request = ctx.request
    plan = BuildPlan(
        ctx.precision,
        FLOAT_ONNX,
        INPUT_NAME,
        [request.batch, *ctx.config.input_size],
        max_batch=max(DEFAULT_MAX_BATCH, request.batch) if request.dynamic_batch else None,
    )
    if ctx.precision != "int8":
        write_float_onnx(ctx)
        return plan
    plan.onnx = QDQ_ONNX
    result = write_qdq_onnx(ctx)
    if implicit_int8:
        from ...calibration.trt_cache import cache_algorithm, write_calibration_cache

        shutil.copyfile(base_onnx(ctx), ctx.bundle_dir / FLOAT_ONNX)
        ctx.check_parity(FLOAT_ONNX, OnnxRuntimeRunner(ctx.bundle_dir / FLOAT_ONNX), precision="fp32")
        write_calibration_cache(
            result.amax, ctx.bundle_dir / CALIBRATION_CACHE, algorithm=cache_algorithm(result.method)
        )
        plan.implicit_onnx, plan.calibration_cache = FLOAT_ONNX, CALIBRATION_CACHE
    return plan


def check_engine_parity(ctx: ExportContext, engine: dict) -> None:
    """Run the engine against PyTorch where this machine can (a CUDA device the engine targets)."""
    devices = cuda_compute_capabilities()
    if not devices:
        engine["parity"] = "not measured: no CUDA device"
    elif engine["library"] == "tensorrt_rtx" and devices[0] not in engine["compute_capabilities"]:
        engine["parity"] = f"not measured: this GPU ({devices[0]}) is not one of the engine's targets"
    else:
        runner = TensorRTRunner(ctx.bundle_dir / ENGINE, library=engine["library"])
        ctx.check_parity(ENGINE, runner, primary=True)
