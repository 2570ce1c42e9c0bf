"""What a TensorRT bundle is built from: parity-checked ONNX files, checked against TensorRT's rules.

Shared by the `tensorrt` and `tensorrt-rtx` exporters (export side: runs with torch installed).
"""

from __future__ import annotations

import shutil

from ...runtimes.onnxruntime import OnnxRuntimeRunner
from ...runtimes.tensorrt import TensorRTRunner, cuda_compute_capabilities
from ..context import ExportContext
from ..onnx import INPUT_NAME, base_onnx
from ..onnx import export as export_onnx
from .builder import DEFAULT_MAX_BATCH, ENGINE, BuildPlan

FLOAT_ONNX, QDQ_ONNX, CALIBRATION_CACHE = "model.onnx", "model_qdq.onnx", "calibration.cache"


def write_sources(ctx: ExportContext, implicit_int8: bool) -> BuildPlan:
    """Write the ONNX an engine is built from; with `implicit_int8`, also the FP32 ONNX + cache TensorRT 10 uses."""
    request = ctx.request
    plan = BuildPlan(ctx.precision, FLOAT_ONNX, INPUT_NAME, [request.batch, *ctx.config.input_size],
                     max_batch=max(DEFAULT_MAX_BATCH, request.batch) if request.dynamic_batch else None)  # fmt: skip
    if ctx.precision != "int8":
        export_onnx(ctx)
        return plan
    plan.onnx = QDQ_ONNX
    result = _quantize(ctx)
    if implicit_int8:
        from ...calibration.trt_cache import cache_algorithm, write_calibration_cache

        shutil.copyfile(base_onnx(ctx), ctx.bundle_dir / FLOAT_ONNX)
        ctx.check_parity(FLOAT_ONNX, OnnxRuntimeRunner(ctx.bundle_dir / FLOAT_ONNX), precision="fp32")
        write_calibration_cache(result.amax, ctx.bundle_dir / CALIBRATION_CACHE, algorithm=cache_algorithm(result.method))
        plan.implicit_onnx, plan.calibration_cache = FLOAT_ONNX, CALIBRATION_CACHE
    return plan


def _quantize(ctx: ExportContext):
    """The Q/DQ ONNX (checked against TensorRT's Q/DQ rules) and its calibration report in the manifest."""
    import onnx

    from ...calibration.data import load_calibration_set
    from ...calibration.qdq import quantize_model
    from ...calibration.qdq_rules import assert_qdq_rules
    from ...calibration.report import write_report

    request = ctx.request
    calibration = load_calibration_set(request.calib_data, ctx.config, request.calib_size, seed=0)
    result = quantize_model(base_onnx(ctx), calibration, ctx.bundle_dir / QDQ_ONNX, request.calib_method,
                            request.max_accuracy_drop)  # fmt: skip
    assert_qdq_rules(onnx.load(str(result.path)))
    ctx.check_parity(QDQ_ONNX, OnnxRuntimeRunner(result.path), primary=True)
    ctx.manifest.update(write_report(result, ctx.bundle_dir))
    return result


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
