"""PyTorch -> clean, simplified, folded, checked, byte-deterministic ONNX (the `onnx` target)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..bundle import SCHEMA_VERSION
from ..errors import UsageError
from ..progress import step
from ..runtimes.onnxruntime import OnnxRuntimeRunner
from .context import ExportContext

INPUT_NAME, OUTPUT_NAME = "input", "logits"
EXPORTERS = ("torchscript", "dynamo")
# Which runtime's permutation lowering each target gets (OpenVINO must never see a Gather form).
FOLDING_RUNTIME = {
    "onnx": "onnxruntime",
    "ort-mobile": "onnxruntime",
    "openvino": "openvino",
    "tensorrt": "tensorrt",
    "tensorrt-rtx": "tensorrt",
}
# torch 2.13's dynamo exporter emits opset 18 and its down-conversion to 17 fails (ReduceMean axes).
DYNAMO_MIN_OPSET = 18


def check_exporter(exporter: str, opset: int) -> None:
    if exporter not in EXPORTERS:
        raise UsageError(f"unknown exporter '{exporter}'", f"choose one of {', '.join(EXPORTERS)}")
    if opset < 13:
        raise UsageError(f"opset {opset} is too old", "use --opset 13 or newer (per-channel Q/DQ needs 13)")
    if exporter == "dynamo" and opset < DYNAMO_MIN_OPSET:
        raise UsageError(
            f"the dynamo exporter cannot write opset {opset}",
            f"use --opset {DYNAMO_MIN_OPSET} or --exporter torchscript",
        )


def torch_to_onnx(model, input_shape: list, path: Path, exporter: str, opset: int, dynamic_batch: bool) -> None:
    import torch

    example = torch.zeros([1 if dynamic_batch else input_shape[0], *input_shape[1:]])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        if exporter == "dynamo":
            dims = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}} if dynamic_batch else None
            program = torch.onnx.export(
                model,
                (example,),
                dynamo=True,
                opset_version=opset,
                dynamic_shapes=dims,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                verbose=False,
            )
            program.save(str(path), external_data=False)
        else:
            axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
            )


def simplify(model):
    """onnxslim: constant-folds shape noise so no Reshape takes a run-time shape (TensorRT needs that)."""
    import onnxslim

    return onnxslim.slim(model)


def fold(ctx: ExportContext, model):
    """The permutation-folding passes, logged into the manifest (or skipped with --no-fold)."""
    from ..graph import count_permutations, fold_permutations

    before = count_permutations(model)
    if not ctx.request.fold:
        ctx.manifest["folding"] = {"enabled": False, "permutations": before}
        return model
    from .lowering import lowering_for, summarize

    runtime = FOLDING_RUNTIME[ctx.target]
    plan, source = lowering_for(ctx.request.lowering, ctx.request.lowering_plan, runtime, ctx.precision)
    model, log = fold_permutations(model, target=runtime, lowering=plan)
    ctx.manifest["folding"] = {
        "enabled": True,
        "lowered_for": runtime,
        "before": before,
        "after": count_permutations(model),
        "grouped_conv_lowering": {**source, **summarize(log)},
        "log": log,
    }
    return model


def finalize(model, metadata: dict):
    """Full checker, shape inference, and metadata_props; no timestamps so bytes are reproducible."""
    import onnx

    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    del model.metadata_props[:]
    for key, value in sorted(metadata.items()):
        model.metadata_props.add(key=key, value=value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    model.producer_name, model.producer_version = "igcv-deploy", __version__
    onnx.checker.check_model(model, full_check=True)
    return model


def onnx_metadata(ctx: ExportContext) -> dict:
    config = ctx.config
    return {
        "model": config.name,
        "preprocessing": config.preprocessing(),
        "num_classes": config.num_classes,
        "labels": list(config.labels),
        "toolchain": f"igcv-deploy {__version__}",
        "bundle_schema_version": SCHEMA_VERSION,
        "weights": ctx.manifest["model"]["weights"],
    }


def base_onnx(ctx: ExportContext) -> Path:
    """The FP32 ONNX every target starts from (exported once per run, cached in the context)."""
    if "base_onnx" not in ctx.cache:
        import onnx

        request = ctx.request
        raw = ctx.scratch / "raw.onnx"
        with step(f"torch.onnx export ({request.exporter}, opset {request.opset})"):
            torch_to_onnx(ctx.model, ctx.input_shape, raw, request.exporter, request.opset, request.dynamic_batch)
        with step("simplify (onnxslim) and fold permutations"):
            model = fold(ctx, simplify(onnx.load(str(raw))))
        ctx.manifest["export"] = {
            "exporter": request.exporter,
            "opset": request.opset,
            "simplifier": "onnxslim",
            "dynamic_batch": request.dynamic_batch,
        }
        path = ctx.scratch / "model.onnx"
        onnx.save(finalize(model, onnx_metadata(ctx)), str(path))
        ctx.cache["base_onnx"] = path
    return ctx.cache["base_onnx"]


def to_fp16(source: Path, destination: Path) -> None:
    """FP16 weights and compute with FP32 inputs/outputs (what TensorRT 11 strongly typed builds need)."""
    import onnx
    from onnxconverter_common import float16

    model = float16.convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(destination))


def export(ctx: ExportContext) -> str:
    if ctx.precision == "int8":
        from .int8 import write_qdq_onnx

        return write_qdq_onnx(ctx, flavour="onnxruntime").path.name
    source = base_onnx(ctx)
    destination = ctx.bundle_dir / "model.onnx"
    if ctx.precision == "fp16":
        to_fp16(source, destination)
    else:
        shutil.copyfile(source, destination)
    ctx.check_parity(destination.name, OnnxRuntimeRunner(destination), primary=True)
    return destination.name


def input_spec(ctx: ExportContext) -> list[dict]:
    return [{"name": INPUT_NAME, "shape": ctx.input_shape, "dtype": str(np.dtype(np.float32))}]
