"""ONNX Runtime Mobile: the .ort file and the required-operators config for reduced-size builds."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..runtimes.onnxruntime import OnnxRuntimeRunner
from .base_onnx import base_onnx
from .context import ExportContext

# Mobile apps run on ARM: bake in no x86-only (NCHWc/AVX) optimisations.
TARGET_PLATFORM = "arm"


def convert_to_ort(onnx_path: Path, output_dir: Path) -> tuple[Path, Path]:
    """onnxruntime's own converter, 'Fixed' optimisation style; returns (.ort, operators config)."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    convert_onnx_models_to_ort(
        onnx_path, output_dir=output_dir, optimization_styles=[OptimizationStyle.Fixed], target_platform=TARGET_PLATFORM
    )
    config = sorted(output_dir.glob("*.config"))[0]
    # The converter names the temporary model path in a comment; keep the file reproducible.
    lines = config.read_text().splitlines()
    config.write_text(
        "\n".join(f"# - {onnx_path.stem}.ort" if line.startswith("# - ") else line for line in lines) + "\n"
    )
    return output_dir / f"{onnx_path.stem}.ort", config


def _source_onnx(ctx: ExportContext) -> Path:
    """FP32: the folded ONNX; INT8: the Q/DQ ONNX (shipped beside the .ort, with its calibration report)."""
    if ctx.precision != "int8":
        return base_onnx(ctx)
    from .int8 import write_qdq_onnx

    return write_qdq_onnx(ctx, primary=False).path


def export(ctx: ExportContext) -> str:
    staging = ctx.scratch / "ort"
    staging.mkdir()
    source = staging / "model.onnx"
    shutil.copyfile(_source_onnx(ctx), source)
    ort_file, config = convert_to_ort(source, staging)
    shutil.copyfile(ort_file, ctx.bundle_dir / "model.ort")
    shutil.copyfile(config, ctx.bundle_dir / "required_operators.config")
    ctx.manifest["ort_mobile"] = {
        "optimization_style": "Fixed",
        "target_platform": TARGET_PLATFORM,
        "operators_config": "required_operators.config",
    }
    ctx.check_parity("model.ort", OnnxRuntimeRunner(ctx.bundle_dir / "model.ort"), primary=True)
    return "model.ort"
