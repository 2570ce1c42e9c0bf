"""The `onnx` target: the folded FP32/FP16 ONNX, or the Q/DQ ONNX onnxruntime's INT8 kernels fuse."""

from __future__ import annotations

from .base_onnx import write_float_onnx
from .context import ExportContext


def export(ctx: ExportContext) -> str:
    if ctx.precision == "int8":
        from .int8 import write_qdq_onnx

        return write_qdq_onnx(ctx).path.name
    return write_float_onnx(ctx)
