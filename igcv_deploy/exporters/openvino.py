"""OpenVINO IR for x86 and ARM CPUs: FP32, FP16 (compressed weights), INT8 (NNCF post-training)."""

from __future__ import annotations

import sys

from ..devices import ARM_PROFILES
from ..errors import require
from ..runtimes.openvino import OpenVINORunner
from .base_onnx import base_onnx, onnx_metadata
from .context import ExportContext

IR_FILES = ("model.xml", "model.bin")


def convert(ctx: ExportContext):
    """The folded ONNX as an OpenVINO model, with the bundle metadata in rt_info."""
    ov = require("openvino", "openvino")
    model = ov.convert_model(str(base_onnx(ctx)))
    for key, value in onnx_metadata(ctx).items():
        model.set_rt_info(str(value), ["igcv_deploy", key])
    return model


def quantize_int8(ctx: ExportContext, model):
    """NNCF post-training quantisation on the calibration set (performance preset: symmetric).

    Overflow fix (7-bit weight range) on every layer for CPU classes without int8 dot products: they
    saturate 16-bit sums of u8*s8 products. Measured on igcv3-digits (360 held-out) on an AVX2 host: NNCF
    without the fix 96.9% top-1, with it 99.4%, our Q/DQ ONNX read by OpenVINO 98.6% (FP32 99.2%); see
    docs/openvino.md. VNNI, AMX and ARM dot-product classes keep the full 8 bits (no fix).
    """
    nncf = require("nncf", "openvino")
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    from ..calibration.data import load_calibration_set

    request = ctx.request
    weight_bits, why = ctx.weight_bits()
    calib = load_calibration_set(request.calib_data, ctx.config, request.calib_size)
    batch = 1 if request.dynamic_batch else request.batch
    batches = [calib.images[i : i + batch] for i in range(0, len(calib.images) - batch + 1, batch)]
    quantized = nncf.quantize(
        model,
        nncf.Dataset(batches),
        subset_size=len(batches),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        advanced_parameters=AdvancedQuantizationParameters(
            overflow_fix=OverflowFix.ENABLE if weight_bits == 7 else OverflowFix.DISABLE
        ),
    )
    ctx.manifest["calibration"] = {
        "method": "nncf-ptq (performance preset" + (", overflow fix)" if weight_bits == 7 else ")"),
        "weight_bits": weight_bits,
        "weight_bits_reason": why,
        **_saturation_note(weight_bits),
        "n_samples": len(calib.images),
        "data": calib.description,
        "data_sha256": calib.sha256,
        "float_layers": [],
    }
    return quantized, calib


def _saturation_note(weight_bits: int) -> dict:
    from ..isa import host_class, host_saturates

    if not host_saturates(weight_bits):
        return {}
    return {"host_note": f"parity and accuracy were measured on {host_class().name}, which saturates 8-bit weights"}


def arm_defaults(ctx: ExportContext) -> dict:
    """What the ARM CPU plugin supports, per core (measured under qemu, docs/arm.md), for the manifest."""
    int8_cores = sorted(name for name, profile in ARM_PROFILES.items() if profile["int8"])
    if ctx.precision == "int8":
        print(
            "warning: OpenVINO 2026.4.1 runs INT8 IGCV models in floating point on ARM (no int8 convolutions) "
            "and the IR is validated only on dotprod cores; --precision fp16 is the ARM default",
            file=sys.stderr,
        )
    return {
        "device": "arm",
        "inference_precision_hint": "f16" if ctx.precision != "fp32" else "f32",
        "int8_supported_cores": int8_cores,
        "profiles": {
            name: {key: p[key] for key in ("default_precision", "export_precision", "int8", "int8_convs")}
            for name, p in ARM_PROFILES.items()
        },
    }


def export(ctx: ExportContext) -> str:
    ov = require("openvino", "openvino")
    model, calib = convert(ctx), None
    if ctx.precision == "int8":
        model, calib = quantize_int8(ctx, model)
    xml = ctx.bundle_dir / IR_FILES[0]
    ov.save_model(model, str(xml), compress_to_fp16=ctx.precision == "fp16")
    ctx.manifest["openvino"] = arm_defaults(ctx) if ctx.isa.arch == "arm" else {"device": "x86"}
    # Gate on an explicit f32 execution (the CPU default may be bf16); record the default too.
    runner = OpenVINORunner(xml, precision="fp32")
    ctx.check_parity(xml.name, runner, primary=True)
    if calib is not None:
        ctx.manifest["accuracy"] = ctx.labelled_accuracy(runner, calib)
    default = OpenVINORunner(xml, precision="default")
    parity = ctx.manifest["openvino"]["default_precision_parity"] = {
        **ctx.measure_parity(default),
        "execution_precision": default.execution_precision,
    }
    if ctx.precision == "fp32" and parity["execution_precision"] not in ("f32", None):
        print(
            f"note: OpenVINO's CPU plugin runs this FP32 IR in {parity['execution_precision']} by default here "
            f"(max rel err {parity['max_rel_err']:.1e} vs PyTorch, in the manifest); set INFERENCE_PRECISION_HINT=f32 "
            "for f32 results",
            file=sys.stderr,
        )
    return xml.name
