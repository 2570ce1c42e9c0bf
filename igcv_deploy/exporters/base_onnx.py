"""The ONNX step every target starts from: PyTorch -> clean, simplified, folded, checked, byte-deterministic ONNX.

Shared by all targets (trace, simplify, fold, finalize, metadata, input spec); no target module is imported here.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..bundle import SCHEMA_VERSION
from ..errors import IGCVError, UsageError
from ..progress import step
from ..runtimes.onnxruntime import OnnxRuntimeRunner
from ..runtimes.parity import output_kind
from .context import ExportContext

INPUT_NAME, OUTPUT_NAME = "input", "logits"
EXPORTERS = ("torchscript", "dynamo")
# Both constant-fold the exporter's shape arithmetic, so no Reshape takes a run-time shape (TensorRT needs that).
SIMPLIFIERS = ("onnxslim", "onnxsim")
# torch 2.13's dynamo exporter emits opset 18 and its down-conversion to 17 fails (ReduceMean axes).
DYNAMO_MIN_OPSET = 18


def check_simplifier(simplifier: str) -> None:
    if simplifier not in SIMPLIFIERS:
        raise UsageError(f"unknown simplifier '{simplifier}'", f"choose one of {', '.join(SIMPLIFIERS)}")


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


def torch_to_onnx(
    model, input_shape: list, path: Path, exporter: str, opset: int, dynamic_batch: bool, outputs: int = 1
) -> None:
    import torch

    names = output_names(outputs)

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
                output_names=names,
                verbose=False,
            )
            program.save(str(path), external_data=False)
        else:
            axes = {name: {0: "batch"} for name in [INPUT_NAME, *names]} if dynamic_batch else None
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=names,
                dynamic_axes=axes,
            )


def simplify(model, simplifier: str = "onnxslim"):
    """Constant-fold shape noise and fuse what the exporter left (onnxslim by default, or onnxsim)."""
    if simplifier == "onnxsim":
        import onnxsim

        simplified, checked = onnxsim.simplify(model)
        if not checked:
            raise IGCVError("onnxsim's simplified model disagrees with the original", "use --simplifier onnxslim")
        return simplified
    import onnxslim

    return onnxslim.slim(model)


def fold(ctx: ExportContext, model):
    """The permutation-folding passes, logged into the manifest (or skipped with --no-fold)."""
    from ..graph import count_permutations, fold_permutations

    before = count_permutations(model)
    if not ctx.request.fold:
        ctx.manifest["folding"] = {"enabled": False, "permutations": before}
        return model
    from .lowering import fold_lowered, summarize

    runtime = ctx.runtime
    model, log, source = fold_lowered(ctx, model, lambda plan: fold_permutations(model, runtime, lowering=plan))
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


def write_raw_onnx(ctx: ExportContext, raw: Path) -> None:
    """The unsimplified ONNX: traced from the PyTorch model, or the user's ONNX file brought to our names and batch."""
    request = ctx.request
    if ctx.model is None:
        from .onnx_source import prepare

        with step("read the ONNX file"):
            prepare(ctx.prepared.source.path, raw, ctx.input_shape[0], request.opset, (INPUT_NAME, OUTPUT_NAME))
        return
    with step(f"torch.onnx export ({request.exporter}, opset {request.opset})"):
        outputs = 1 + len(ctx.extra_references)
        torch_to_onnx(ctx.model, ctx.input_shape, raw, request.exporter, request.opset, request.dynamic_batch, outputs)


def base_onnx(ctx: ExportContext) -> Path:
    """The FP32 ONNX every target starts from (exported once per run, cached in the context)."""
    if "base_onnx" not in ctx.cache:
        import onnx

        request = ctx.request
        raw = ctx.scratch / "raw.onnx"
        write_raw_onnx(ctx, raw)
        with step(f"simplify ({request.simplifier}) and fold permutations"):
            model = fold(ctx, simplify(onnx.load(str(raw)), request.simplifier))
        ctx.manifest["export"] = {
            "exporter": request.exporter if ctx.model is not None else "none (ONNX file)",
            "opset": request.opset,
            "simplifier": request.simplifier,
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


def write_float_onnx(ctx: ExportContext, name: str = "model.onnx", primary: bool = True) -> str:
    """The folded ONNX at the context's float precision (FP32, or FP16 compute), written and parity-checked."""
    destination = ctx.bundle_dir / name
    if ctx.precision == "fp16":
        to_fp16(base_onnx(ctx), destination)
    else:
        shutil.copyfile(base_onnx(ctx), destination)
    ctx.check_parity(name, OnnxRuntimeRunner(destination), primary=primary)
    return name


def input_spec(ctx: ExportContext) -> list[dict]:
    return [{"name": INPUT_NAME, "shape": ctx.input_shape, "dtype": str(np.dtype(np.float32))}]


def output_names(count: int) -> list[str]:
    """The artifact's output names: the first is the logits (or map), then output_1, output_2, ..."""
    return [OUTPUT_NAME, *(f"output_{index}" for index in range(1, count))]


def output_spec(ctx: ExportContext) -> list[dict]:
    """Name, shape (batch as exported), dtype and kind of every output, from the reference outputs."""
    references = [ctx.reference, *ctx.extra_references]
    batch, dtype = ctx.input_shape[0], str(np.dtype(np.float32))
    return [
        {"name": name, "shape": [batch, *ref.shape[1:]], "dtype": dtype, "kind": output_kind(ref.shape)}
        for name, ref in zip(output_names(len(references)), references)
    ]
