"""Measure Q/DQ variants of one FP32 graph: output error on the calibration set, accuracy per runtime."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx

from ..progress import progress_bar
from .qdq_writer import write_qdq
from .quantizable import batched

CHUNK = 32  # images per inference call


def runtimes() -> tuple[str, ...]:
    """The runtimes every accuracy check uses: onnxruntime, and OpenVINO when it is installed."""
    return ("onnxruntime",) + (("openvino",) if importlib.util.find_spec("openvino") else ())


def output_error(reference: np.ndarray, outputs: np.ndarray) -> float:
    """Quantisation noise relative to the signal: sum (q - r)^2 / sum r^2 over all samples and logits."""
    reference = reference.astype(np.float64)
    return float(((outputs - reference) ** 2).sum() / max((reference**2).sum(), 1e-30))


def top1(logits: np.ndarray, targets: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == targets).mean())


class Evaluator:
    """The FP32 graph with a free batch dimension, its data, and its FP32 outputs in every runtime."""

    def __init__(self, fp32: onnx.ModelProto, calib, workdir: Path, weight_bits: int):
        self.model = batched(fp32)
        self.workdir = workdir
        self.weight_bits = weight_bits
        self.images = calib.images
        self.reference = self.run(self.model, self.images)
        self.eval_images, self.labels, self.dataset = calib.evaluation()
        self.eval_reference = {rt: self.run(self.model, self.eval_images, rt) for rt in runtimes()}

    def run(self, model: onnx.ModelProto, images: np.ndarray, runtime: str = "onnxruntime") -> np.ndarray:
        from ..runtimes import load_runner

        path = self.workdir / "measure.onnx"
        onnx.save(model, str(path))
        runner = load_runner(path, runtime)  # OpenVINO runs at fp32 unless told otherwise: INT8 is measured vs FP32
        return np.concatenate([runner.run(images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)])

    def qdq(self, amax: dict[str, float], layers, switches: dict[str, str] | None = None) -> onnx.ModelProto:
        return write_qdq(self.model, amax, layers, switches, self.weight_bits)

    def error(self, amax: dict[str, float], layers) -> float:
        """Output error of the Q/DQ graph (given layers quantised) vs FP32 on the calibration images."""
        return output_error(self.reference, self.run(self.qdq(amax, layers), self.images))

    def unit_errors(
        self, amax: dict[str, float], units: dict[str, list[str]], samples: int, progress: bool = True
    ) -> dict[str, float]:
        """Output error with only one unit quantised, for every unit, from one switchable Q/DQ graph."""
        import onnxruntime as ort

        flags = {node: f"quantize_unit_{i}" for i, nodes in enumerate(units.values()) for node in nodes}
        model = self.qdq(amax, set(flags), flags)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {session.get_inputs()[0].name: self.images[:samples]}
        errors = {}
        for i, unit in enumerate(progress_bar(units, "layer sensitivity", progress)):
            switches = {f"quantize_unit_{j}": np.array(i == j) for j in range(len(units))}
            errors[unit] = output_error(self.reference[:samples], session.run(None, {**feeds, **switches})[0])
        return errors

    def accuracy(self, amax: dict[str, float], layers) -> dict:
        """Top-1 (labelled data) or top-1 agreement with FP32, and the drop in points, per runtime."""
        model = self.qdq(amax, layers)
        figures = {rt: self._figures(rt, self.run(model, self.eval_images, rt)) for rt in runtimes()}
        worst = max(figures.values(), key=lambda f: f["drop_points"])
        summary = {"dataset": self.dataset, "n_samples": int(len(self.eval_images)), **worst, "runtimes": figures}
        if self.labels is not None:
            summary["reference_top1"] = figures["onnxruntime"]["reference_top1"]
        return summary

    def _figures(self, runtime: str, outputs: np.ndarray) -> dict:
        reference = self.eval_reference[runtime]
        if self.labels is None:
            agreement = top1(outputs, reference.argmax(axis=1))
            return {"top1_agreement": agreement, "drop_points": round(100 * (1 - agreement), 4)}
        before, after = top1(reference, self.labels), top1(outputs, self.labels)
        return {"reference_top1": before, "quantized_top1": after, "drop_points": round(100 * (before - after), 4)}
