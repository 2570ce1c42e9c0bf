"""grouped_conv_lowering: every variant is exact (onnxruntime and OpenVINO f32, <= 1e-5 relative to the
unoptimised fold), removes what it should, and logs a JSON-serialisable choice per block."""

from __future__ import annotations

import json
import warnings

import onnx
import pytest

from igcv_deploy.graph import fold_permutations
from igcv_deploy.graph.passes import grouped_conv_lowering as lowering
from igcv_deploy.graph.perm_algebra import shuffle

from .builders import Net, igc_block
from .conftest import rel_error, run_ort, run_ov, sample_input

TOL = 1e-5
REWRITES = [v for v in lowering.VARIANTS if v != "native"]


def lowered(model: onnx.ModelProto, plan: dict, runtime: str = "onnxruntime"):
    """fold_permutations with the lowering pass bound to `plan`, and that pass's log."""
    folded, log = fold_permutations(model, runtime, lowering=plan)
    return folded, [entry for entry in log if entry["pass"] == lowering.NAME]


def small_igcv(groups: int = 2, dynamic_batch: bool = False) -> onnx.ModelProto:
    net = Net(channels=8, size=8, dynamic_batch=dynamic_batch)
    y = igc_block(net, "x", 8, groups=groups)
    y = igc_block(net, y, 16, groups=groups, stride=2)
    return net.model(net.head(igc_block(net, y, 16, groups=groups)))


def check_parity(reference: onnx.ModelProto, candidate: onnx.ModelProto, batch: int = 1) -> None:
    x = sample_input(reference, batch)
    for run in (run_ort, run_ov):
        assert rel_error(run(reference, x), run(candidate, x)) <= TOL, run.__name__


@pytest.mark.parametrize("variant", REWRITES)
@pytest.mark.parametrize("groups", [2, 4])
def test_variants_exact_on_small_igc_nets(variant, groups):
    model = small_igcv(groups)
    native, _ = fold_permutations(model, "openvino")
    candidate, log = lowered(model, {"*": variant}, "openvino")
    check_parity(native, candidate)
    assert [e["variant"] for e in log] == [variant] * 3
    assert not any(n.op_type == "Transpose" for n in candidate.graph.node)  # the permutations are gone
    json.dumps(log)


@pytest.mark.parametrize("variant", REWRITES)
def test_chained_group_convs_share_no_block(variant):
    """IGCV2's chain (grouped 1x1 -> shuffle -> grouped 1x1 -> shuffle -> grouped 1x1): the middle conv belongs to one
    block only, so the first shuffle is rewritten and the second is left to `lower`."""
    net = Net(channels=16, size=4)
    y = net.conv("x", 16, groups=4)
    for _ in range(2):
        y = net.conv(net.permute(y, shuffle(16, 4), "rtr5d"), 16, groups=4)
    model = net.model(y)
    candidate, log = lowered(model, {"*": variant})
    check_parity(fold_permutations(model)[0], candidate)
    assert [e["variant"] for e in log] == [variant]


def test_dynamic_batch_split():
    model = small_igcv(dynamic_batch=True)
    candidate, _ = lowered(model, {"*": "split"})
    check_parity(fold_permutations(model)[0], candidate, batch=3)


def test_plan_by_signature_and_added_macs():
    model = small_igcv()
    _, native_log = lowered(model, {})
    first = native_log[0]["signature"]
    candidate, log = lowered(model, {first: "dense_projection", "*": "split"})
    assert [e["variant"] for e in log] == ["dense_projection", "split", "split"]
    # 8 -> 48 -> 8 at 8x8: the densified projection multiplies the other group's 24 inputs by zero
    assert log[0]["added_macs"] == 8 * 24 * 8 * 8 and log[1]["added_macs"] == 0
    assert sum(n.op_type == "Concat" for n in candidate.graph.node) == 2


def test_blocks_outside_the_plan_stay_native():
    _, log = lowered(small_igcv(), {"no-such-signature": "split"})
    assert [e["variant"] for e in log] == ["native"] * 3


def test_unknown_variants_fail():
    model = small_igcv()
    with pytest.raises(ValueError, match="unknown grouped-conv variant"):
        lowered(model, {"*": "densest"})


@pytest.fixture(scope="module")
def igcv3_onnx(tmp_path_factory) -> onnx.ModelProto:
    """The full IGCV3-D (32 blocks) at 64x64, exported as igcv-export does (TorchScript, opset 17)."""
    import torch

    from igcv_deploy.models import create_model
    from igcv_deploy.models.init import init_random_weights

    path = tmp_path_factory.mktemp("igcv3") / "igcv3.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            init_random_weights(create_model("igcv3")),
            (torch.zeros(1, 3, 64, 64),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
        )
    return onnx.load(str(path))


@pytest.mark.slow
@pytest.mark.parametrize("variant", REWRITES)
@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_variants_exact_on_igcv3(igcv3_onnx, variant, runtime):
    candidate, log = lowered(igcv3_onnx, {"*": variant}, runtime)
    assert len(log) == 32 and {e["variant"] for e in log} == {variant}
    check_parity(fold_permutations(igcv3_onnx, runtime)[0], candidate)
