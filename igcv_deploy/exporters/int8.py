"""The one Q/DQ ONNX every INT8 target ships or builds from (onnx, ort-mobile, tensorrt, tensorrt-rtx)."""

from __future__ import annotations

from ..runtimes.onnxruntime import OnnxRuntimeRunner
from .context import ExportContext
from .onnx import base_onnx

QDQ_ONNX = "model_qdq.onnx"


def write_qdq_onnx(ctx: ExportContext, primary: bool = True):
    """Calibrate, write the Q/DQ ONNX into the bundle (checked against TensorRT's Q/DQ rules), report it."""
    import onnx

    from ..calibration.data import load_calibration_set
    from ..calibration.qdq import quantize_model
    from ..calibration.qdq_rules import assert_qdq_rules
    from ..calibration.report import write_report

    request = ctx.request
    calibration = load_calibration_set(request.calib_data, ctx.config, request.calib_size, seed=0)
    result = quantize_model(base_onnx(ctx), calibration, ctx.bundle_dir / QDQ_ONNX, request.calib_method,
                            request.max_accuracy_drop)  # fmt: skip
    assert_qdq_rules(onnx.load(str(result.path)))
    ctx.check_parity(QDQ_ONNX, OnnxRuntimeRunner(result.path), primary=primary)
    ctx.manifest.update(write_report(result, ctx.bundle_dir))
    return result
