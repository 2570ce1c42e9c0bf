"""The Q/DQ ONNX that ONNX Runtime runs with INT8 kernels (the `onnx` and `ort-mobile` INT8 artifacts).

The TensorRT-style Q/DQ graph (symmetric int8, Q/DQ on compute inputs only, float biases) is numerically
right in ONNX Runtime but runs slower than FP32 there: ORT fuses DQ -> Conv -> Q into QLinearConv only when
the conv's output is quantised and its bias is int32, and it cannot drop a ReLU6 in front of a signed Q.
Measured on this project's AVX2 machine: MobileNetV2 INT8 19.3 ms with the TensorRT form vs 4.4 ms in this
form (FP32 8.8 ms). So ONNX Runtime targets get onnxruntime.quantization's own QDQ placement (uint8
activations, int8 per-channel weights, int32 biases), calibrated on the same data, with the same layers kept
in float as the sensitivity/budget search chose.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np
import onnx

from .qdq_writer import WEIGHT_BITS

# Our calibrators -> onnxruntime's; it has no MSE search, whose nearest relative is percentile clipping.
ORT_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile", "mse": "Percentile"}
ORT_PERCENTILE = 99.99  # the same percentile as calibrators.percentile


def write_onnxruntime_qdq(
    fp32_onnx: Path,
    images: np.ndarray,
    output: Path,
    method: str,
    float_layers: list[str],
    weight_bits: int = WEIGHT_BITS,
) -> dict:
    """Quantise `fp32_onnx` for onnxruntime into `output`; return the manifest's description of it."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    source = onnx.load(str(fp32_onnx))
    batch = source.graph.input[0].type.tensor_type.shape.dim[0].dim_value or 1
    ort_method = ORT_METHODS[method]
    bits = 8 if weight_bits >= 8 else 7  # onnxruntime offers full range or reduce_range (7 bits), nothing between
    with _quiet():  # its calibrators print() progress and log a pre-processing hint our graph does not need
        quantize_static(
            str(fp32_onnx),
            str(output),
            _Reader(source.graph.input[0].name, images, batch),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=bits == 7,  # see qdq_writer.WEIGHT_BITS
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(float_layers),
            calibrate_method=getattr(CalibrationMethod, ort_method),
            extra_options={"CalibPercentile": ORT_PERCENTILE},
        )
    _keep_metadata(source, output)
    return {
        "flavour": "onnxruntime",
        "quantizer": "onnxruntime.quantization.quantize_static (QDQ)",
        "activations": "uint8 asymmetric, per tensor",
        "weights": f"int8 per channel, {bits} bits",
        "bias": "int32",
        "method": ort_method,
        "float_layers": list(float_layers),
        "int8_kernels": int8_kernels(output),
    }


def int8_kernels(path: Path) -> dict[str, int]:
    """How many convolutions onnxruntime runs as QLinearConv (INT8) and as float Conv, after its graph fusions.

    Measured, not assumed: onnxruntime quantises the float weights of a conv that sits alone between a
    DequantizeLinear and a QuantizeLinear itself, so an isolated float layer can still run in INT8 (the budget
    keeps whole blocks in float, which stay float; the shipped file's accuracy is checked against it anyway)."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="igcv-ort-") as scratch:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(scratch) / "optimized.onnx")
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        ops = [node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node]
    return {"QLinearConv": ops.count("QLinearConv"), "float_conv": ops.count("Conv") + ops.count("FusedConv")}


@contextlib.contextmanager
def _quiet():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over an image array, in batches the model accepts."""

    def __init__(self, name: str, images: np.ndarray, batch: int):
        usable = len(images) - len(images) % batch
        self._feeds = iter([{name: images[i : i + batch]} for i in range(0, usable, batch)])

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def _keep_metadata(source: onnx.ModelProto, output: Path) -> None:
    model = onnx.load(str(output))
    del model.metadata_props[:]
    model.metadata_props.extend(source.metadata_props)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(output))
