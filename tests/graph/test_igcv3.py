"""IGCV3-D exported by both torch exporters, static and dynamic batch: fold, count, check parity.

The full ImageNet IGCV3-D (32 blocks, 32 shuffles) at 64x64 through the TorchScript exporter and
onnxslim; the dynamic-batch exports (both exporters) on a few IGCV3 blocks, which export quickly.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxslim
import pytest
import torch

from igcv_deploy.graph import count_permutations, fold_permutations

from .conftest import rel_error, run_ort, run_ov

SIZE = 64


def randomize_batchnorm(model, seed: int = 0):
    """Non-trivial BN statistics, so the biases folded into the convs carry the channel order too."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(c, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)
    return model


def export(model, x, path, **kw) -> onnx.ModelProto:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["logits"], **kw)
    return onnx.load(str(path))


@pytest.fixture(scope="module")
def igcv3():
    from igcv_deploy.models import create_model

    torch.manual_seed(0)
    model = randomize_batchnorm(create_model("igcv3"))
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        reference = model(x).numpy()
    return model, x.numpy(), reference


@pytest.fixture(scope="module")
def torchscript(igcv3, tmp_path_factory):
    model, x, _ = igcv3
    exported = export(
        model, torch.from_numpy(x[:1]), tmp_path_factory.mktemp("ts") / "igcv3.onnx", dynamo=False, opset_version=17
    )
    return onnxslim.slim(exported)


def remaining_shuffles(model: onnx.ModelProto) -> list[tuple[str, str, int]]:
    """(producer of the shuffled tensor, consumer op, consumer groups) for every lowered shuffle."""
    producers = {out: node for node in model.graph.node for out in node.output}
    consumers = {inp: node for node in model.graph.node for inp in node.input}
    found = []
    for transpose in (n for n in model.graph.node if n.op_type == "Transpose"):
        before = producers[producers[transpose.input[0]].input[0]]
        after = consumers[consumers[transpose.output[0]].output[0]]
        groups = next((a.i for a in after.attribute if a.name == "group"), 1)
        found.append((before.op_type, after.op_type, groups))
    return found


@pytest.fixture(scope="module")
def folded(torchscript):
    return {runtime: fold_permutations(torchscript, runtime) for runtime in ("onnxruntime", "openvino")}


def test_igcv3_shuffles_slide_to_the_projection_and_stay_4d(torchscript, folded):
    before = count_permutations(torchscript)
    folded, log = folded["onnxruntime"]
    after = count_permutations(folded)
    assert before == {"total": 32, "reshape_transpose": 32, "gather": 0, "concat": 0, "all_4d_constant": False}
    assert after == {"total": 32, "reshape_transpose": 32, "gather": 0, "concat": 0, "all_4d_constant": True}
    # each shuffle now sits after depthwise -> ReLU6 (the stride-2 output in strided blocks), before the g=2 projection
    assert remaining_shuffles(folded) == [("Clip", "Conv", 2)] * 32
    reindexed = [e for e in log if e["pass"] == "slide_down" and e["reindexed"]]
    assert len(reindexed) == 32 and all(e["op"] == "Conv" for e in reindexed)


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_igcv3_parity_with_pytorch(igcv3, folded, runtime):
    _, x, reference = igcv3
    run = run_ov if runtime == "openvino" else run_ort
    errors = [rel_error(reference[i : i + 1], run(folded[runtime][0], x[i : i + 1])) for i in range(len(x))]
    assert max(errors) <= 1e-4, errors
    assert np.abs(reference).max() > 1e-3  # the comparison means something


def conv_bn(c_in, c_out, kernel=1, stride=1, groups=1, act=None):
    layers = [
        torch.nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        torch.nn.BatchNorm2d(c_out),
    ]
    return torch.nn.Sequential(*layers, *([act()] if act else []))


class Block(torch.nn.Module):
    """The IGCV3 block (g=2 expand, BN, shuffle(2), depthwise, BN, ReLU6, g=2 project, BN [+ x])."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int = 6):
        super().__init__()
        from igcv_deploy.models.layers import ChannelShuffle

        mid = c_in * expansion
        depthwise = conv_bn(mid, mid, 3, stride, groups=mid, act=torch.nn.ReLU6)
        self.body = torch.nn.Sequential(
            conv_bn(c_in, mid, groups=2), ChannelShuffle(mid, 2), depthwise, conv_bn(mid, c_out, groups=2)
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


@pytest.fixture(scope="module")
def blocks():
    """A few IGCV3 blocks (strided, residual) with a classifier head: quick to export."""
    torch.manual_seed(1)
    stem = conv_bn(3, 16, 3, 2, act=torch.nn.ReLU6)
    head = [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(24, 10)]
    model = randomize_batchnorm(torch.nn.Sequential(stem, Block(16, 24, 2), Block(24, 24, 1), *head).eval())
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        reference = model(x).numpy()
    return model, x, reference


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_dynamic_batch_exports(blocks, exporter, tmp_path):
    """TorchScript dynamic axes (unsimplified: Shape/Gather/Concat reshape targets) and dynamo
    (opset 18, allowzero reshapes with -1 batch): both fold to constant 4-D shuffles, batch kept symbolic."""
    model, x, reference = blocks
    if exporter == "dynamo":
        dynamic = {"dynamic_shapes": ({0: torch.export.Dim("batch")},), "external_data": False}
        exported = export(model, x, tmp_path / "blocks.onnx", dynamo=True, opset_version=18, **dynamic)
    else:
        dynamic = {"dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}}
        exported = export(model, x, tmp_path / "blocks.onnx", dynamo=False, opset_version=17, **dynamic)
        assert sum(n.op_type == "Shape" for n in exported.graph.node) >= 6
    assert count_permutations(exported)["reshape_transpose"] == 2
    for runtime in ("onnxruntime", "openvino"):
        folded, _ = fold_permutations(exported, runtime)
        assert count_permutations(folded) == {
            "total": 2,
            "reshape_transpose": 2,
            "gather": 0,
            "concat": 0,
            "all_4d_constant": True,
        }
        assert not any(n.op_type in ("Shape", "Gather", "Concat") for n in folded.graph.node)
        assert folded.graph.input[0].type.tensor_type.shape.dim[0].dim_param
        run = run_ov if runtime == "openvino" else run_ort
        assert rel_error(reference, run(folded, x.numpy())) <= 1e-4
