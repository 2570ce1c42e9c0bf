"""LiteRT (TensorFlow Lite) .tflite for Android apps: FP32, and full-integer INT8 by PT2E quantisation.

Starts from the PyTorch module, as the executorch target does (torch_module.py): the IGC blocks are lowered on
the module (graph/fx_lowering.py) so no channel shuffle reaches the converter, then litert-torch converts it
directly (no TensorFlow). The operators left in the file are counted from its flatbuffer (manifest "litert";
"folding" says which shuffle operators remain). --input-layout nhwc wraps the module so the file takes NHWC
input (camera frames, Android bitmaps) and the layout transpose folds away. Parity runs in ai-edge-litert's
Interpreter with its default XNNPACK delegate.
"""

from __future__ import annotations

from ..errors import IGCVError, UsageError, require
from ..runtimes.litert import LiteRTRunner, operator_counts
from .context import ExportContext
from .pt2e_int8 import Pt2eScheme, checked_accuracy, leave_in_float
from .torch_module import check_source, example_input, lowered_module

TFLITE = "model.tflite"
LAYOUTS = ("nchw", "nhwc")
# What a channel shuffle left in the module becomes: NHWC->NCHW TRANSPOSE, RESHAPE, TRANSPOSE, RESHAPE, back.
SHUFFLE_OPERATORS = ("TRANSPOSE", "RESHAPE", "GATHER", "GATHER_ND")


def litert_quantizer(float_layers=()):
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    return leave_in_float(quantizer, float_layers)  # this quantizer refuses set_module_name(name, None)


# litert-torch reads the weights' quantize ops itself: convert_pt2e must not fold them into int8 constants.
# Full integer: the file's input and output scales come from calibration too, so a few images are not enough.
MIN_CALIBRATION = 8
LITERT_PT2E = Pt2eScheme(
    "pt2e litert-torch per-channel symmetric", litert_quantizer, fold_quantize=False, min_samples=MIN_CALIBRATION
)


def check_layout(ctx: ExportContext) -> str:
    layout = ctx.request.input_layout
    if layout not in LAYOUTS:
        raise UsageError(f"unknown --input-layout '{layout}'", f"use {' or '.join(LAYOUTS)}")
    channels = ctx.config.input_size[0]
    if layout == "nhwc" and channels not in (1, 3):
        raise UsageError(
            f"--input-layout nhwc takes images with 1 or 3 channels; this model's input has {channels}",
            "drop --input-layout (NCHW input)",
        )
    return layout


def failing_node(error: Exception):
    """The FX node litert-torch was lowering when it failed: the deepest `node` local in the traceback."""
    from torch import fx

    found, frame = None, error.__traceback__
    while frame is not None:
        candidate = frame.tb_frame.f_locals.get("node")
        found = candidate if isinstance(candidate, fx.Node) else found
        frame = frame.tb_next
    return found


def layer_of(node) -> str:
    """'blocks.3.conv (Conv2d)' from the node's module stack; the model's own forward when it is at the top."""
    stack = list((node.meta.get("nn_module_stack") or {}).values())
    if not stack:
        return "an unknown layer"
    path, kind = stack[-1]
    kind = kind.rsplit(".", 1)[-1] if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    path = path.removeprefix("L['self']").lstrip(".")
    return f"layer {path} ({kind})" if path else f"the forward of {kind}"


def conversion_error(error: Exception) -> IGCVError:
    """One line naming the operator litert-torch could not convert, its layer and line of code."""
    cause = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    node = failing_node(error)
    if node is None:
        what = "the model"
    else:
        trace = (node.meta.get("stack_trace") or "").strip().splitlines()
        code = f": {trace[-1].strip()}" if trace else ""
        what = f"operator {getattr(node.target, '__name__', node.target)} in {layer_of(node)}{code}"
    return IGCVError(
        f"litert-torch cannot convert {what} ({cause})",
        "replace that layer with operators LiteRT supports, or export another target",
    )


def convert(module, example, path, quant_config=None, nhwc: bool = False) -> None:
    import litert_torch

    litert_torch.config.show_progress = False  # our own step spinner says what runs
    if nhwc:
        module, example = litert_torch.to_channel_last_io(module, args=[0]), example.permute(0, 2, 3, 1)
    try:
        litert_torch.convert(module, (example.contiguous(),), quant_config=quant_config).export(str(path))
    except Exception as error:  # litert-torch raises RuntimeError, ValueError, torch's errors ... per stage
        raise conversion_error(error) from error


def write_block(block, example, path) -> None:
    """One block form as a .tflite, for --lowering tune."""
    convert(block, example, path)


def quantized(ctx: ExportContext, module):
    """(module with PT2E quantise/dequantise ops, litert-torch QuantConfig, calibration set)."""
    require("torchao", "litert")
    from litert_torch.quantize.quant_config import QuantConfig

    from .pt2e_int8 import quantize_int8

    module, calib = quantize_int8(ctx, module, LITERT_PT2E)
    return module, QuantConfig(pt2e_quantizer=litert_quantizer(ctx.manifest["calibration"]["float_layers"])), calib


def input_record(ctx: ExportContext, runner: LiteRTRunner) -> list[dict]:
    """The manifest's "inputs": the file's own input tensor (layout, dtype, int8 scale and zero point)."""
    details = runner.input
    record = {
        "name": details["name"],
        "shape": [int(d) for d in details["shape"]],
        "layout": "NHWC" if runner.nhwc else "NCHW",
        "dtype": details["dtype"].__name__,
    }
    if ctx.precision == "int8":
        scale, zero_point = details["quantization"]
        record["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return [record]


def export(ctx: ExportContext) -> str:
    check_source(ctx)
    require("torch", "export")
    require("litert_torch", "litert")
    nhwc = check_layout(ctx) == "nhwc"
    module, ctx.manifest["folding"] = lowered_module(ctx, write_block, ".tflite")
    quant_config = calib = None
    if ctx.precision == "int8":
        module, quant_config, calib = quantized(ctx, module)
    path = ctx.bundle_dir / TFLITE
    convert(module, example_input(ctx), path, quant_config, nhwc)
    counts = operator_counts(path)
    ctx.manifest["litert"] = {"operators": counts, "delegate": "XNNPACK (the Interpreter's default)"}
    ctx.manifest["folding"]["litert_shuffle_ops"] = {op: counts.get(op, 0) for op in SHUFFLE_OPERATORS}
    runner = LiteRTRunner(path)
    ctx.manifest["inputs"] = input_record(ctx, runner)
    ctx.check_parity(TFLITE, runner, primary=True)
    if calib is not None:
        ctx.manifest["accuracy"] = checked_accuracy(ctx, runner, calib, TFLITE)
    return TFLITE
