"""An ONNX file from anywhere as the export's source: its input, its head, its size, and the form folding takes.

The reference for parity is onnxruntime on the original, unfolded file. The file is brought to the shape every
target expects (one input named like ours, the requested batch, an opset per-channel Q/DQ can use) before the
shared base-ONNX step simplifies and folds it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from ..errors import UsageError
from .input_size import check_single_input, fixed_input_size

MIN_OPSET = 13  # per-channel Q/DQ


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The real inputs: old exporters also list initializers as graph inputs."""
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def dims(value: onnx.ValueInfoProto) -> list[int | None]:
    return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]


def onnx_input_size(path: Path, requested: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """(C, H, W) of a single-input NCHW model: its own fixed size, else the requested one."""
    model = onnx.load(str(path), load_external_data=False)
    inputs = graph_inputs(model)
    check_single_input(path.name, len(inputs), ", ".join(value.name for value in inputs))
    shape = dims(inputs[0])
    if len(shape) != 4:
        raise UsageError(f"{path.name}'s input has rank {len(shape)}, not NCHW", "export an NCHW image model")
    return fixed_input_size(path.name, shape, requested, "or export the file with a dynamic size")


def onnx_reference(path: Path):
    """A function images -> logits running the original file in onnxruntime (its own batch size)."""
    from ..runtimes.onnxruntime import OnnxRuntimeRunner

    runner = OnnxRuntimeRunner(path)
    batch = runner.input_shape()[0] or 1
    return lambda images: [runner.run_batches(np.ascontiguousarray(images, dtype=np.float32), batch)]


def onnx_complexity(path: Path) -> tuple[int, int]:
    """(parameters, MACs): weight elements, and Conv/Gemm/MatMul multiply-accumulates from inferred shapes."""
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    weights = {init.name: list(init.dims) for init in model.graph.initializer}
    shapes = {value.name: dims(value) for value in [*model.graph.value_info, *model.graph.output]}
    macs = 0
    for node in model.graph.node:
        weight = weights.get(node.input[1]) if len(node.input) > 1 else None
        out = shapes.get(node.output[0])
        if node.op_type == "Conv" and weight and out and None not in out[1:]:
            macs += int(np.prod(out[1:])) * int(np.prod(weight[1:]))
        elif node.op_type in ("Gemm", "MatMul") and weight:
            macs += int(np.prod(weight))
    return int(sum(np.prod(shape) for shape in weights.values())), macs


def prepare(path: Path, destination: Path, batch: int | str, opset: int, names: tuple[str, str]) -> None:
    """The file with our (input, output) `names`, the export's batch and an opset of at least MIN_OPSET."""
    model = onnx.load(str(path))
    if model.opset_import and _default_opset(model) < MIN_OPSET:
        model = onnx.version_converter.convert_version(model, opset)
    _rename(model, graph_inputs(model)[0].name, names[0])
    _rename(model, model.graph.output[0].name, names[1])
    del model.graph.output[1:]
    for value in (graph_inputs(model)[0], model.graph.output[0]):
        _set_batch(value, batch)
    del model.graph.value_info[:]  # re-inferred after the batch change
    onnx.save(model, str(destination))


def _default_opset(model: onnx.ModelProto) -> int:
    return next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 0)


def _rename(model: onnx.ModelProto, old: str, new: str) -> None:
    if old == new:
        return
    for value in [*model.graph.input, *model.graph.output]:
        if value.name == old:
            value.name = new
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def _set_batch(value: onnx.ValueInfoProto, batch: int | str) -> None:
    dimension = value.type.tensor_type.shape.dim[0]
    if isinstance(batch, str):
        dimension.dim_param = batch
    else:
        dimension.dim_value = batch
