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


def evaluation_model(fp32: onnx.ModelProto, images: np.ndarray) -> tuple[onnx.ModelProto, int]:
    """(model, images per call): the batch-free copy where it computes what the original does, else the original
    at its own batch (a foreign file whose batch is baked in somewhere `batched` does not rewrite)."""
    import onnxruntime as ort

    own_batch = fp32.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    if not own_batch:
        return fp32, CHUNK
    free = batched(fp32)
    probe = images[: 2 * own_batch] if len(images) >= 2 * own_batch else images[:own_batch]

    def run(model, inputs):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: inputs})[0]

    expected = np.concatenate([run(fp32, probe[i : i + own_batch]) for i in range(0, len(probe), own_batch)])
    try:
        agrees = np.allclose(run(free, probe), expected, rtol=1e-4, atol=1e-5)
    except Exception:  # onnxruntime refuses a shape the rewrite missed
        agrees = False
    return (free, CHUNK) if agrees else (fp32, own_batch)


class Evaluator:
    """The FP32 graph with a free batch dimension (or at its own), its data, and its FP32 outputs in every runtime."""

    def __init__(self, fp32: onnx.ModelProto, calib, workdir: Path, weight_bits: int):
        self.model, self.chunk = evaluation_model(fp32, calib.images)
        self.workdir = workdir
        self.weight_bits = weight_bits
        self.images = self._whole_calls(calib.images)
        self.reference = self.run(self.model, self.images)
        eval_images, labels, self.dataset = calib.evaluation()
        self.eval_images = self._whole_calls(eval_images)
        self.labels = None if labels is None else labels[: len(self.eval_images)]
        self.eval_reference = {rt: self.run(self.model, self.eval_images, rt) for rt in runtimes()}

    def _whole_calls(self, images: np.ndarray) -> np.ndarray:
        """The images a model with a fixed batch can take: a whole number of its batches."""
        return images if self.chunk == CHUNK else images[: len(images) - len(images) % self.chunk]

    def run(self, model: onnx.ModelProto, images: np.ndarray, runtime: str = "onnxruntime") -> np.ndarray:
        from ..runtimes import load_runner

        path = self.workdir / "measure.onnx"
        onnx.save(model, str(path))
        runner = load_runner(path, runtime)  # OpenVINO runs at fp32 unless told otherwise: INT8 is measured vs FP32
        return np.concatenate([runner.run(images[i : i + self.chunk]) for i in range(0, len(images), self.chunk)])

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
        images = self._whole_calls(self.images[:samples])
        name = session.get_inputs()[0].name
        errors = {}
        for i, unit in enumerate(progress_bar(units, "layer sensitivity", progress)):
            switches = {f"quantize_unit_{j}": np.array(i == j) for j in range(len(units))}
            outputs = [
                session.run(None, {name: images[k : k + self.chunk], **switches})[0]
                for k in range(0, len(images), self.chunk)
            ]
            errors[unit] = output_error(self.reference[: len(images)], np.concatenate(outputs))
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
