"""Runtimes for the graph tests: onnxruntime and OpenVINO (FP32) on in-memory models."""

from __future__ import annotations

import numpy as np
import onnx


def run_ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {model.graph.input[0].name: x})[0]


def run_ov(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(model.SerializeToString(), b""), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    return compiled({0: x})[0]


def rel_error(reference: np.ndarray, value: np.ndarray) -> float:
    """max |a - b| / max |a|: the parity measure used throughout."""
    return float(np.abs(reference - value).max() / max(np.abs(reference).max(), 1e-12))


def sample_input(model: onnx.ModelProto, batch: int = 1, seed: int = 0) -> np.ndarray:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.dim_value else batch for d in dims]
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def permutes(graph_model) -> list[list[int]]:
    """The index vector of every internal ChannelPermute node left in an onnx-ir model."""
    from igcv_deploy.graph.ir_tools import attr, is_permute

    return [list(attr(n, "perm")) for n in graph_model.graph if is_permute(n)]


def op_types(graph_model) -> list[str]:
    return [n.op_type for n in graph_model.graph]
