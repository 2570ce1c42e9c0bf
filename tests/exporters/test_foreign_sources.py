"""Models and files this project never saw, second pass (issue 25): each exports with parity or is refused in one line.

The matrix exports ONNX files written by both torch exporters (TorchScript and dynamo), opsets 11-18, fixed and
dynamic batch, through onnx, openvino and tensorrt at FP32 and INT8 (the TensorRT Q/DQ rules checked), and
a torch.export program through executorch (FP32): every exporter, opset range, batch kind, target and precision appears
at least once, not the full product (CI time).
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from igcv_deploy.calibration.evaluate import evaluation_model
from igcv_deploy.errors import unexpected_failure
from igcv_deploy.progress import step

from ..calibration.checks import check_rules
from ..conftest import read_manifest
from ..graph import foreign_models as fm

SIZE = str(fm.SIZE)


def calib(precision: str) -> tuple[str, ...]:
    return ("--calib-size", "16") if precision == "int8" else ()


# (exporter, opset, dynamic batch, target, precision)
MATRIX = [
    ("torchscript", 11, False, "onnx", "int8"),
    ("torchscript", 13, True, "openvino", "int8"),
    ("torchscript", 15, True, "onnx", "fp32"),
    ("torchscript", 17, False, "tensorrt", "int8"),
    ("dynamo", 18, False, "onnx", "int8"),  # the case: Reshape(allowzero=1) at a fixed batch of 1
    ("dynamo", 18, False, "tensorrt", "int8"),
    ("dynamo", 18, True, "openvino", "fp32"),
    ("torchscript", 12, False, "tensorrt", "fp32"),
]


def foreign_onnx(folder: Path, exporter: str, opset: int, dynamic: bool) -> Path:
    model = fm.randomize(fm.torchvision_shufflenet_v2())
    path = folder / f"{exporter}-{opset}-{'dynamic' if dynamic else 'fixed'}.onnx"
    onnx.save(fm.export(model, exporter, dynamic, opset, simplify=False), str(path))
    return path


def export_ok(run_cli, *args) -> dict:
    code, _, err = run_cli(*args)
    assert code == 0, err
    return read_manifest(Path(args[args.index("--output") + 1]))


@pytest.mark.slow
@pytest.mark.parametrize("exporter, opset, dynamic, target, precision", MATRIX)
def test_foreign_onnx_through_every_target(workdir, run_cli, exporter, opset, dynamic, target, precision):
    path = foreign_onnx(workdir, exporter, opset, dynamic)
    size = ("--imgsz", SIZE) if dynamic else ()
    args = ("--model", path, "--target", target, "--precision", precision, *size, *calib(precision), "--output", "b")
    manifest = export_ok(run_cli, *args)
    parity = manifest["parity"]
    assert parity["reference"] == "onnxruntime (original ONNX file)"
    if precision == "fp32":
        assert parity["max_rel_err"] <= 1e-4 and parity["top1_agreement"] == 1.0
    else:
        assert parity["cosine"] >= 0.9 and manifest["calibration"]["n_samples"] == 16
    if target == "tensorrt" and precision == "int8":
        assert check_rules(onnx.load(str(Path("b") / "model_qdq.onnx"))) == []


def static_program(path: Path, size: int = 96) -> None:
    model = fm.randomize(fm.torchvision_shufflenet_v2())
    torch.export.save(torch.export.export(model, (torch.zeros(1, 3, size, size),)), str(path))


@pytest.mark.slow
def test_static_program_through_executorch(workdir, run_cli):
    """FP32 only: ExecuTorch INT8 (minutes per export) is covered by tests/exporters/test_executorch.py."""
    static_program(workdir / "net.pt2", 64)
    manifest = export_ok(run_cli, "--model", "net.pt2", "--target", "executorch", "--output", "b")
    assert manifest["preprocessing"]["input_size"] == [3, 64, 64]
    assert manifest["parity"]["max_rel_err"] <= 1e-4 and manifest["parity"]["top1_agreement"] == 1.0


def test_static_program_states_its_own_size(workdir, run_cli):
    static_program(workdir / "net96.pt2")
    manifest = export_ok(run_cli, "--model", "net96.pt2", "--output", "b")
    assert manifest["preprocessing"]["input_size"] == [3, 96, 96] and manifest["parity"]["max_rel_err"] <= 1e-4
    code, _, err = run_cli("--model", "net96.pt2", "--imgsz", "64", "--output", "c")
    assert code == 2 and "net96.pt2 takes 3x96x96 inputs, not 3x64x64" in err and not Path("c").exists()
    code, _, err = run_cli("--model", "net96.pt2", "--batch", "2", "--output", "c")
    assert code == 2 and "was exported for batch 1, not 2" in err


def test_a_batch_baked_in_where_the_rewrite_cannot_see_it_is_measured_at_its_own_batch():
    """Flatten spelled as Reshape(x, Concat([1], [-1])): the shape is computed, so the batch-free copy would fold
    a whole calibration batch into one row. The check catches it and evaluation runs one image per call."""
    from onnx import TensorProto, helper

    one, minus_one = (helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("one", 1), ("rest", -1)))
    nodes = [
        helper.make_node("Concat", ["one", "rest"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"]),
    ]
    weight = helper.make_tensor("w", TensorProto.FLOAT, [12, 3], np.random.default_rng(0).random(36).tolist())
    graph = helper.make_graph(
        nodes,
        "baked",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [one, minus_one, weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    images = np.random.default_rng(1).random((8, 3, 2, 2), dtype=np.float32)
    chosen, per_call = evaluation_model(model, images)
    assert per_call == 1 and chosen is model
    reshaped = copy.deepcopy(model)
    reshaped.graph.node[1].input[1] = "fixed"
    reshaped.graph.initializer.append(helper.make_tensor("fixed", TensorProto.INT64, [2], [1, 12]))
    assert evaluation_model(reshaped, images)[1] > 1  # a plain constant shape is rewritten, and checked


def test_an_exception_without_a_message_names_its_type_and_step():
    class Silent(Exception):
        pass

    with pytest.raises(Silent) as caught, step("calibrate the model"):
        raise Silent()
    assert unexpected_failure(caught.value) == "Silent: (no message) during 'calibrate the model'"


def test_cli_error_line_is_never_empty(workdir, run_cli, monkeypatch):
    from igcv_deploy.exporters import base_onnx

    def silent_failure(*args, **kwargs):
        raise RuntimeError()

    monkeypatch.setattr(base_onnx, "simplify", silent_failure)
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "32", "--output", "b")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1
    assert "RuntimeError: (no message) during 'simplify (onnxslim) and fold permutations'" in errors[0]


HEADS = textwrap.dedent(
    """
    import torch
    from torch import nn

    from igcv_deploy.models import create_model
    from igcv_deploy.models.init import init_random_weights


    class Segmenter(nn.Module):
        '''An IGCV3 backbone with a 1x1 segmentation head: N x 5 x h x w.'''

        def __init__(self):
            super().__init__()
            net = create_model("igcv3-0.25")
            self.backbone = nn.Sequential(net.stem, net.blocks, net.head)
            self.classify = nn.Conv2d(net.classifier.fc.in_features, 5, 1)
            init_random_weights(self)

        def forward(self, x):
            return self.classify(self.backbone(x))


    class TwoHeads(nn.Module):
        '''Main and auxiliary heads, returned as a tuple.'''

        def __init__(self):
            super().__init__()
            net = create_model("igcv3-0.25", num_classes=10)
            self.features = nn.Sequential(net.stem, net.blocks, net.head, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.main, self.aux = net.classifier.fc, nn.Linear(net.classifier.fc.in_features, 4)
            init_random_weights(self)

        def forward(self, x):
            features = self.features(x)
            return self.main(features), self.aux(features)


    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = create_model("igcv3-0.25", num_classes=10)

        def forward(self, image, mask):
            return self.net(image * mask)


    def segmenter():
        return Segmenter()


    def two_heads():
        return TwoHeads()


    def two_inputs():
        return TwoInputs()
    """
)


@pytest.fixture
def heads(workdir) -> Path:
    (workdir / "heads.py").write_text(HEADS)
    return workdir / "heads.py"


@pytest.mark.parametrize("target", ["onnx", "openvino"])
def test_dense_map_gets_per_pixel_agreement(heads, run_cli, target):
    manifest = export_ok(run_cli, "--model", f"{heads}:segmenter", "--target", target, "--imgsz", "64", "--output", "b")
    assert manifest["outputs"] == [{"name": "logits", "shape": [1, 5, 2, 2], "dtype": "float32", "kind": "dense_map"}]
    parity = manifest["parity"]
    assert "top1_agreement" not in parity and parity["pixel_agreement"] == 1.0 and parity["max_rel_err"] <= 1e-4
    assert manifest["num_classes"] == 5


@pytest.mark.parametrize("target", ["onnx", "openvino"])
def test_every_output_of_a_tuple_is_checked(heads, run_cli, target):
    manifest = export_ok(run_cli, "--model", f"{heads}:two_heads", "--target", target, "--imgsz", "64", "--output", "b")
    assert [(o["name"], o["shape"]) for o in manifest["outputs"]] == [("logits", [1, 10]), ("output_1", [1, 4])]
    per_output = manifest["parity"]["per_output"]
    assert len(per_output) == 2 and all(o["max_rel_err"] <= 1e-4 and o["top1_agreement"] == 1.0 for o in per_output)


def test_verify_judges_every_output_of_the_bundle(heads, run_cli, capsys):
    from igcv_deploy.profiling.cli import main as profile

    export_ok(run_cli, "--model", f"{heads}:two_heads", "--imgsz", "64", "--output", "b")
    assert profile(["verify", "b", "--output", "verified.json"]) == 0
    figures = json.loads(Path("verified.json").read_text())["figures"]
    assert len(figures["per_output"]) == 2 and all(o["max_rel_err"] <= 1e-4 for o in figures["per_output"])


def test_a_broken_auxiliary_output_fails_the_export(heads, run_cli, monkeypatch):
    """Parity is judged on every output: corrupting only the second one still fails."""
    from igcv_deploy.exporters import base_onnx

    original = base_onnx.simplify

    def corrupt_aux(model, *args):
        model = original(model, *args)
        producer = next(node for node in model.graph.node if "output_1" in node.output)
        bias = next(init for init in model.graph.initializer if init.name == producer.input[2])
        bias.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(bias) + 1.0, bias.name))
        return model

    monkeypatch.setattr(base_onnx, "simplify", corrupt_aux)
    code, _, err = run_cli("--model", f"{heads}:two_heads", "--imgsz", "64", "--output", "b")
    assert (
        code == 1 and "disagrees with PyTorch in onnxruntime: output 1: max rel err" in err and not Path("b").exists()
    )


def test_two_input_model_is_refused_in_a_sentence(heads, run_cli):
    code, _, err = run_cli("--model", f"{heads}:two_inputs", "--imgsz", "64", "--output", "b")
    assert code == 2 and "takes 2 inputs; igcv-export exports single-image models" in err
    assert "TypeError" not in err and not Path("b").exists()


PYTORCHCV_IGCV3 = textwrap.dedent(
    """
    from pytorchcv.models.igcv3 import igcv3_w1
    from torch import nn


    def build():
        model = igcv3_w1()  # pytorchcv's own default random initialisation: an ill-conditioned network
        model.features.final_pool = nn.AdaptiveAvgPool2d(1)  # its 7x7 pool needs 224x224 inputs
        return model
    """
)


@pytest.mark.slow
def test_ill_conditioned_network_is_judged_against_float64(workdir, run_cli):
    """pytorchcv's IGCV3 with its default random init: PyTorch's own FP32 result is about 1e-3 from float64, so a
    correct export cannot be within 1e-4 of it; the gate scales with that noise and records both figures."""
    (workdir / "pcv.py").write_text(PYTORCHCV_IGCV3)
    manifest = export_ok(run_cli, "--model", "pcv.py:build", "--imgsz", "96", "--output", "b")
    parity = manifest["parity"]
    noise = parity["float64"]["pytorch_fp32_max_rel_err"]
    assert noise > 1e-4 and parity["max_rel_err"] > 1e-4  # the plain gate would have failed it
    assert parity["limits"] == {**parity["limits"], "against": "pytorch-float64", "max_rel_err": 10 * noise}
    assert parity["float64"]["artifact"]["max_rel_err"] <= 10 * noise
    assert parity["float64"]["artifact"]["top1_agreement"] == 1.0


def test_registered_models_keep_the_plain_gate(workdir, run_cli):
    manifest = export_ok(run_cli, "--model", "igcv3-0.25", "--imgsz", "64", "--output", "b")
    assert manifest["parity"]["limits"]["against"] == "reference" and "float64" not in manifest["parity"]
    assert manifest["parity"]["limits"]["max_rel_err"] == 1e-4
