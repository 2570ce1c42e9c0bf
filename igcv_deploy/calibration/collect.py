"""Run the calibration set through the FP32 graph and histogram every tensor that gets quantised."""

from __future__ import annotations

import numpy as np
import onnx

from ..progress import progress_bar
from .calibrators import Histogram

ACTIVATION_BUDGET = 2**19  # input floats per chunk: bounds the memory of all intermediate outputs


def activation_histograms(
    model: onnx.ModelProto, tensors: list[str], images: np.ndarray, progress: bool = True
) -> dict[str, Histogram]:
    """Two passes, as TensorRT calibrates: max |x| per tensor, then |x| histograms over [0, max]."""

    run = _intermediate_runner(model, tensors)
    chunk = max(1, min(32, ACTIVATION_BUDGET // images[0].size))
    starts = range(0, len(images), chunk)
    amax = dict.fromkeys(tensors, 0.0)
    for start in progress_bar(starts, "calibration ranges", progress):
        for name, values in run(images[start : start + chunk]).items():
            amax[name] = max(amax[name], float(np.abs(values).max(initial=0.0)))
    histograms = {name: Histogram(amax[name]) for name in tensors}
    for start in progress_bar(starts, "calibration histograms", progress):
        for name, values in run(images[start : start + chunk]).items():
            histograms[name].add(values)
    return histograms


def _intermediate_runner(model: onnx.ModelProto, tensors: list[str]):
    """images -> {tensor: values}: the graph with the requested tensors exposed as outputs."""
    import onnxruntime as ort

    augmented = onnx.ModelProto()
    augmented.CopyFrom(model)
    inputs = {value.name for value in augmented.graph.input}
    outputs = [name for name in tensors if name not in inputs]
    del augmented.graph.output[:]
    augmented.graph.output.extend(onnx.ValueInfoProto(name=name) for name in outputs)
    session = ort.InferenceSession(augmented.SerializeToString(), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        values = dict(zip(outputs, session.run(outputs, {input_name: batch})))
        return {name: batch if name in inputs else values[name] for name in tensors}

    return run
