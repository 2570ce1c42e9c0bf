"""Every registered model builds, runs at its default size, traces with torch.export and exports to
ONNX with onnxruntime parity. Parametrised over the registry: new models are covered automatically."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from igcv_deploy.models import create_model, get_config, list_models
from igcv_deploy.models.layers import ChannelShuffle

from .helpers import rel_diff

EXPORT_SIZE = 64  # ImageNet-size models are exported at 64x64 to keep the suite fast


@pytest.fixture(scope="module", params=list_models())
def built(request):
    torch.manual_seed(0)
    return request.param, create_model(request.param), get_config(request.param)


def _count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(module, kind) for module in model.modules())


def _export_input(config) -> torch.Tensor:
    channels, height, width = config.input_size
    size = min(height, EXPORT_SIZE), min(width, EXPORT_SIZE)
    return torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(1))


def test_config_travels_with_model(built):
    name, model, config = built
    assert config.name == name and config.family and not model.training
    assert len(config.mean) == len(config.std) == config.input_size[0] == 3
    assert config.pixel_range in (1.0, 255.0)


def test_forward_at_default_size(built):
    _, model, config = built
    with torch.no_grad():
        out = model(torch.randn(1, *config.input_size))
    assert out.shape == (1, config.num_classes)
    assert torch.isfinite(out).all()


def test_torch_export_keeps_every_conv_and_shuffle(built):
    """The exported graph has one conv node per Conv2d, and every shuffle stays a recognisable module."""
    _, model, config = built
    graph = torch.export.export(model, (_export_input(config),)).graph
    calls = [node for node in graph.nodes if node.op == "call_function"]
    assert sum(node.target == torch.ops.aten.conv2d.default for node in calls) == _count(model, nn.Conv2d)
    shuffle_paths = {
        path
        for node in calls
        for path, kind in node.meta.get("nn_module_stack", {}).values()
        if kind.endswith(".ChannelShuffle")
    }
    assert len(shuffle_paths) == _count(model, ChannelShuffle)


def test_onnx_export_parity(built):
    import onnxruntime as ort

    _, model, config = built
    x = _export_input(config)
    buffer = io.BytesIO()
    torch.onnx.export(model, (x,), buffer, dynamo=False, opset_version=17, input_names=["input"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        reference = model(x).numpy()
    assert onnx_out.shape == reference.shape
    assert rel_diff(onnx_out, reference) <= 1e-4, np.abs(onnx_out - reference).max()


@pytest.mark.parametrize("name", list_models())
def test_pytorch_fp32_is_within_the_plain_gate_of_float64(name):
    """Every registered model, with the weights an export gives it, is well conditioned: PyTorch's FP32 result on
    the parity photos is within the plain 1e-4 gate of float64, so its exports keep that gate (issue 25)."""
    from igcv_deploy.exporters.context import ExportRequest
    from igcv_deploy.exporters.pipeline import parity_samples
    from igcv_deploy.exporters.prepared_model import prepare_model
    from igcv_deploy.runtimes.parity import PARITY_GATES, compare

    prepared = prepare_model(ExportRequest(name, imgsz=min(get_config(name).input_size[1], EXPORT_SIZE)))
    samples = parity_samples(prepared.config, 1)
    noise = compare(prepared.reference_float64(samples), prepared.reference(samples))["max_rel_err"]
    assert noise <= PARITY_GATES["fp32"]["max_rel_err"], noise
