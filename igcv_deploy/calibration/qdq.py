"""FP32 ONNX + calibration set -> one INT8 Q/DQ ONNX for onnxruntime, OpenVINO and TensorRT."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from ..errors import UsageError
from .budget import fit_budget
from .calibrators import CALIBRATORS, get_calibrator
from .collect import activation_histograms
from .evaluate import Evaluator
from .qdq_writer import WEIGHT_BITS, write_qdq
from .quantizable import activation_inputs, layer_units, quantizable_layers, resolve_layers
from .sensitivity import rank_layers


@dataclass
class QuantizationResult:
    path: Path
    method: str
    amax: dict[str, float]  # every quantised activation tensor -> symmetric range (scale = amax / 127)
    float_layers: list[str]
    sensitivity: list[dict]  # most sensitive first
    accuracy: dict | None
    method_errors: dict[str, float]  # output error vs FP32 of every method tried
    n_samples: int = 0
    data_sha256: str = ""
    data_description: str = ""
    signed: dict[str, bool] = field(default_factory=dict)  # activation tensor -> has negative values
    max_accuracy_drop: float | None = None
    budget_trace: list[dict] = field(default_factory=list)  # every count of float units the budget search measured
    weight_bits: int = WEIGHT_BITS


def quantize_model(
    fp32_onnx: Path,
    calib,
    output: Path,
    method: str = "auto",
    max_accuracy_drop: float | None = None,
    float_layers: list[str] = (),
    progress: bool = True,
    weight_bits: int = WEIGHT_BITS,
) -> QuantizationResult:
    """Calibrate, pick the method, rank layer sensitivity, fit the accuracy budget, write the Q/DQ ONNX."""
    if max_accuracy_drop is not None and max_accuracy_drop < 0:
        raise UsageError(f"--max-accuracy-drop must be 0 or more, got {max_accuracy_drop}", "pass a drop in points")
    if not 2 <= weight_bits <= 8:
        raise UsageError(f"weights can be quantised to 2..8 bits, not {weight_bits}", f"use {WEIGHT_BITS} or 8")
    calibrators = {name: get_calibrator(name) for name in (list(CALIBRATORS) if method == "auto" else [method])}
    model = onnx.load(str(fp32_onnx))
    layers = quantizable_layers(model)
    kept = resolve_layers(float_layers, layers)
    quantized = [node.name for node in layers if node.name not in kept]
    with tempfile.TemporaryDirectory(prefix="igcv-calib-") as scratch:
        evaluator = Evaluator(model, calib, Path(scratch), weight_bits)
        tensors = activation_inputs(model, [node for node in layers if node.name in quantized])
        histograms = activation_histograms(evaluator.model, tensors, calib.images, progress)
        best, amax, errors = sweep(evaluator, histograms, calibrators, quantized, progress)
        units = {unit: [n for n in nodes if n in quantized] for unit, nodes in layer_units(layers).items()}
        ranking = rank_layers(evaluator, amax, {unit: nodes for unit, nodes in units.items() if nodes}, progress)
        if max_accuracy_drop is None:
            budget_float, accuracy, trace = [], evaluator.accuracy(amax, quantized), []
        else:
            budget_float, accuracy, trace = fit_budget(evaluator, amax, ranking, quantized, max_accuracy_drop, progress)
    kept += budget_float
    quantized = [name for name in quantized if name not in kept]
    amax = {t: amax[t] for t in activation_inputs(model, [node for node in layers if node.name in quantized])}
    qdq = write_qdq(model, amax, quantized, weight_bits=weight_bits)
    onnx.checker.check_model(qdq)
    onnx.save(qdq, str(output))
    return QuantizationResult(
        Path(output),
        best,
        amax,
        kept,
        ranking,
        accuracy,
        errors,
        len(calib.images),
        calib.sha256,
        calib.description,
        {t: histograms[t].signed for t in amax},
        max_accuracy_drop,
        trace,
        weight_bits,
    )


def sweep(evaluator, histograms: dict, calibrators: dict, quantized: list[str], progress: bool = True):
    """(best method, its ranges, every method's output error): the method that disturbs the outputs least."""
    ranges = {name: {t: float(f(h)) for t, h in histograms.items()} for name, f in calibrators.items()}
    errors = {name: evaluator.error(ranges[name], quantized) for name in calibrators}
    best = min(errors, key=errors.get)
    if progress:
        print(
            "calibration methods: " + ", ".join(f"{m} {e:.3g}" for m, e in errors.items()) + f" -> {best}",
            file=sys.stderr,
        )
    return best, ranges[best], errors
