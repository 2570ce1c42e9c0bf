"""The passes are not IGCV-specific: ShuffleNet V1 units (built here) and torchvision's ShuffleNet V2
blocks (re-created in torch in foreign_models.py; torchvision itself does not import beside torch 2.13)."""

from __future__ import annotations

import warnings

import onnx
import torch

from igcv_deploy.graph import count_permutations, fold_permutations
from igcv_deploy.graph.perm_algebra import shuffle

from .builders import Net
from .conftest import rel_error, run_ort, run_ov, sample_input
from .foreign_models import InvertedResidual


def shufflenet_v1_unit(net: Net, x: str, c_out: int, groups: int = 3) -> str:
    """g-group 1x1 -> BN -> ReLU -> shuffle(g) -> 3x3 depthwise stride 2 -> BN -> g-group 1x1 -> BN,
    concatenated with the average-pooled input (the stride-2 ShuffleNet unit)."""
    mid = c_out // 4
    y = net.act(net.bn(net.conv(x, mid, groups=groups)))
    y = net.permute(y, shuffle(mid, groups), "rtr5d")
    y = net.bn(net.conv(net.bn(net.depthwise(y, 2)), c_out - net.channels(x), groups=groups))
    n, c, h, w = net.shapes[x]
    shortcut = net.pool(x)
    return net.act(net.op("Concat", [shortcut, y], [n, c_out, h // 2, w // 2], axis=1))


def test_shufflenet_v1_units():
    net = Net(12, 16)
    x = shufflenet_v1_unit(net, shufflenet_v1_unit(net, "x", 48), 96)
    model = net.model(net.head(x))
    folded, log = fold_permutations(model, "openvino")
    assert count_permutations(model)["total"] == count_permutations(folded)["total"] == 2
    assert count_permutations(folded)["all_4d_constant"]
    placed = [e for e in log if e["pass"] == "place" and "moves" in e]
    assert [e["moves"] for e in placed] == [4, 4]  # from the g=3 conv output to after the stride-2 depthwise + BN
    data = sample_input(model)
    assert rel_error(run_ort(model, data), run_ort(folded, data)) <= 1e-5
    assert rel_error(run_ort(model, data), run_ov(folded, data)) <= 1e-5


def test_torchvision_shufflenet_v2_blocks(tmp_path):
    torch.manual_seed(0)
    nn = torch.nn
    blocks = [InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1), InvertedResidual(48, 48, 1)]
    head = [nn.Conv2d(48, 64, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    model = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1), *blocks, *head).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = model(x).numpy()
        torch.onnx.export(model, (x,), str(tmp_path / "v2.onnx"), dynamo=False, opset_version=17, input_names=["input"])
    exported = onnx.load(str(tmp_path / "v2.onnx"))
    folded, _ = fold_permutations(exported, "openvino")
    # the last shuffle is absorbed by the dense head conv; the others feed chunk() (a Split) and stay
    assert count_permutations(exported)["total"] == 3
    assert count_permutations(folded) == {
        "total": 2,
        "reshape_transpose": 2,
        "gather": 0,
        "concat": 0,
        "all_4d_constant": True,
    }
    assert rel_error(reference, run_ort(folded, x.numpy())) <= 1e-4
    assert rel_error(reference, run_ov(folded, x.numpy())) <= 1e-4
