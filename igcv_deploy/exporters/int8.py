"""The INT8 Q/DQ ONNX a target ships or builds from.

TensorRT targets get our TensorRT-rules Q/DQ graph; ONNX Runtime targets (onnx, ort-mobile) get the
placement onnxruntime's INT8 kernels fuse (calibration/ort_qdq.py), with the same calibration data and the
same layers kept in float.
"""

from __future__ import annotations

import dataclasses

from ..errors import IGCVError
from ..progress import step
from ..runtimes.onnxruntime import OnnxRuntimeRunner
from .base_onnx import base_onnx
from .context import ExportContext

QDQ_ONNX = "model_qdq.onnx"


def write_qdq_onnx(ctx: ExportContext, primary: bool = True):
    """Calibrate, write the Q/DQ ONNX of the target's runtime into the bundle, check and report it."""
    import onnx

    from ..calibration.bundle_report import write_report
    from ..calibration.data import load_calibration_set
    from ..calibration.qdq import quantize_model
    from ..calibration.qdq_rules import assert_qdq_rules

    request = ctx.request
    weight_bits, why = ctx.weight_bits()
    calibration = load_calibration_set(request.calib_data, ctx.config, request.calib_size, seed=0)
    destination = ctx.bundle_dir / QDQ_ONNX
    tensorrt_form = destination if ctx.runtime == "tensorrt" else ctx.scratch / QDQ_ONNX
    result = quantize_model(
        base_onnx(ctx),
        calibration,
        tensorrt_form,
        request.calib_method,
        request.max_accuracy_drop,
        weight_bits=weight_bits,
    )
    assert_qdq_rules(onnx.load(str(result.path)))
    if ctx.runtime == "onnxruntime":
        from ..calibration.ort_qdq import write_onnxruntime_qdq

        with step("quantise for onnxruntime's INT8 kernels"):
            ctx.manifest["qdq"] = write_onnxruntime_qdq(
                base_onnx(ctx), calibration.images, destination, result.method, result.float_layers, result.weight_bits
            )
    runner = parity_runner(ctx, destination, weight_bits)
    try:
        ctx.check_parity(QDQ_ONNX, runner, primary=primary)
    except IGCVError as error:
        if ctx.runtime == "onnxruntime" and weight_bits == 8:
            raise IGCVError(
                error.problem,
                "8-bit weights saturate onnxruntime's int8 kernels on x86 CPUs without "
                "VNNI: use --weight-bits 7, or --allow-parity-failure on a GPU/VNNI-only bundle",
            ) from error
        raise
    ctx.manifest.update(write_report(result, ctx.bundle_dir, ctx.manifest.get("qdq")))
    ctx.manifest["calibration"]["weight_bits_reason"] = why
    if ctx.runtime == "onnxruntime":
        _check_shipped_accuracy(ctx, runner, calibration)
    return dataclasses.replace(result, path=destination)


def parity_runner(ctx: ExportContext, path, weight_bits: int) -> OnnxRuntimeRunner:
    """onnxruntime as the target runs it; unfused Q/DQ where this host would saturate what the target does not.

    Where the target's CPU class takes 8-bit weights and this host's kernels add u8 x s8 pairs in saturating
    int16, the fused kernels here would report an error the target never makes. With graph optimisations
    off onnxruntime runs each DequantizeLinear and the float op: the integer grid, without the saturation.
    """
    from ..isa import host_class, host_saturates

    unfused = ctx.runtime == "onnxruntime" and host_saturates(weight_bits)
    if unfused:
        ctx.manifest["parity_method"] = (
            f"Q/DQ unfused (onnxruntime graph optimisations off): this host ({host_class().name}) saturates "
            "8-bit weights in its int8 kernels"
        )
    return OnnxRuntimeRunner(path, optimize=not unfused)


def _check_shipped_accuracy(ctx: ExportContext, runner, calibration) -> None:
    """The budget was fitted on the TensorRT form; hold the shipped onnxruntime form to it too."""
    accuracy = ctx.labelled_accuracy(runner, calibration)
    if accuracy is None:
        return
    ctx.manifest["accuracy"] = accuracy
    budget = ctx.request.max_accuracy_drop
    if budget is not None and accuracy["drop_points"] > budget and not ctx.request.allow_parity_failure:
        raise IGCVError(
            f"{QDQ_ONNX} loses {accuracy['drop_points']} top-1 points in onnxruntime (budget {budget})",
            "raise --max-accuracy-drop, try another --calib-method, or pass --allow-parity-failure to keep it",
        )
