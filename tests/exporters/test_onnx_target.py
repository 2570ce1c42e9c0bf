"""The ONNX target: exporters, static/dynamic batch, metadata, determinism, the parity gate, .ort."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import igcv_deploy
from igcv_deploy.exporters import base_onnx
from igcv_deploy.exporters.lowering_defaults import default_lowering
from igcv_deploy.isa import host_class
from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64")


def export(run_cli, out, *extra):
    code, _, err = run_cli(*SMALL, "--output", out, *extra)
    assert code == 0, err
    return out


@pytest.mark.parametrize("exporter, opset", [("torchscript", 17), ("dynamo", 18)])
def test_both_exporters_verified(workdir, run_cli, exporter, opset):
    bundle = export(run_cli, workdir / exporter, "--exporter", exporter, "--opset", str(opset))
    manifest = read_manifest(bundle)
    assert manifest["export"]["exporter"] == exporter
    model = onnx.load(str(bundle / "model.onnx"))
    assert model.opset_import[0].version == opset
    assert manifest["parity"]["max_rel_err"] <= 1e-4


def test_onnxsim_simplifier_verified_and_folded_like_onnxslim(workdir, run_cli):
    bundles = {name: export(run_cli, workdir / name, "--simplifier", name) for name in ("onnxslim", "onnxsim")}
    manifests = {name: read_manifest(bundle) for name, bundle in bundles.items()}
    assert manifests["onnxsim"]["export"]["simplifier"] == "onnxsim"
    assert manifests["onnxsim"]["parity"]["max_rel_err"] <= 1e-4
    assert manifests["onnxsim"]["parity"]["top1_agreement"] == 1.0
    assert manifests["onnxsim"]["folding"]["before"]["total"] > 0
    assert manifests["onnxsim"]["folding"]["after"] == manifests["onnxslim"]["folding"]["after"]
    images = np.random.default_rng(1).standard_normal((4, 3, 64, 64)).astype(np.float32)
    outputs = [OnnxRuntimeRunner(bundle / "model.onnx").run_batches(images) for bundle in bundles.values()]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)


def test_unknown_simplifier_is_a_usage_error(run_cli):
    code, _, err = run_cli(*SMALL, "--simplifier", "polygraphy")
    assert code == 2 and "unknown simplifier 'polygraphy'" in err and "onnxsim" in err


def test_dynamo_cannot_write_opset_17(run_cli):
    code, _, err = run_cli(*SMALL, "--exporter", "dynamo", "--opset", "17")
    assert code == 2 and "--opset 18" in err


def test_static_shapes_are_constant(workdir, run_cli):
    model = onnx.load(str(export(run_cli, workdir / "b", "--batch", "2", "--lowering", "native") / "model.onnx"))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 3, 64, 64]
    initializers = {init.name for init in model.graph.initializer}
    reshapes = [n for n in model.graph.node if n.op_type == "Reshape"]
    assert reshapes and all(n.input[1] in initializers for n in reshapes)
    assert not [n for n in model.graph.node if n.op_type in ("Shape", "Constant")]


def test_dynamic_batch_same_per_sample_outputs(workdir, run_cli):
    bundle = export(run_cli, workdir / "dyn", "--dynamic-batch")
    model = onnx.load(str(bundle / "model.onnx"))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    runner = OnnxRuntimeRunner(bundle / "model.onnx")
    images = np.random.default_rng(0).standard_normal((8, 3, 64, 64)).astype(np.float32)
    batched = runner.run(images)
    singles = np.concatenate([runner.run(images[i : i + 1]) for i in range(8)])
    np.testing.assert_allclose(batched, singles, rtol=1e-5, atol=1e-5)


def test_metadata_props(workdir, run_cli):
    model = onnx.load(str(export(run_cli, workdir / "m") / "model.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["model"] == "igcv3-0.25"
    assert json.loads(props["preprocessing"])["input_size"] == [3, 64, 64]
    assert props["num_classes"] == "1000"
    assert props["toolchain"].startswith("igcv-deploy ")
    assert props["bundle_schema_version"] == "1.0"


def test_same_command_twice_is_byte_identical(workdir, run_cli):
    first = read_manifest(export(run_cli, workdir / "one"))["files"]["model.onnx"]
    second = read_manifest(export(run_cli, workdir / "two"))["files"]["model.onnx"]
    assert first == second


def test_parity_gate_fails_a_corrupted_graph(workdir, run_cli, monkeypatch):
    """A graph that computes the wrong thing must fail the export and leave no bundle behind."""
    original = base_onnx.simplify

    def corrupting_simplify(model, *args):
        model = original(model, *args)
        weight = next(init for init in model.graph.initializer if len(init.dims) == 4)
        array = -onnx.numpy_helper.to_array(weight)  # the stem conv computes the negated features
        weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
        return model

    monkeypatch.setattr(base_onnx, "simplify", corrupting_simplify)
    code, _, err = run_cli(*SMALL, "--output", workdir / "bad")
    assert code == 1
    assert "disagrees with PyTorch" in err and "max rel err" in err
    assert not (workdir / "bad").exists()
    assert not list(workdir.glob(".bad.partial-*"))
    code, _, _ = run_cli(*SMALL, "--output", workdir / "forced", "--allow-parity-failure")
    assert code == 0
    assert read_manifest(workdir / "forced")["parity"]["max_rel_err"] > 1e-4


def test_ort_mobile(workdir, run_cli):
    bundle = export(run_cli, workdir / "ort", "--target", "ort-mobile")
    manifest = read_manifest(bundle)
    assert set(manifest["files"]) == {"model.ort", "required_operators.config", "reference.npz"}
    assert manifest["primary_artifact"] == "model.ort"
    assert manifest["parity"]["max_rel_err"] <= 1e-4
    config = (bundle / "required_operators.config").read_text()
    assert "ai.onnx;" in config and "Conv" in config and "/tmp" not in config
    outputs = OnnxRuntimeRunner(bundle / "model.ort").run(np.zeros((1, 3, 64, 64), np.float32))
    assert outputs.shape == (1, 1000)


@pytest.mark.parametrize("target, primary", [("onnx", "model_qdq.onnx"), ("ort-mobile", "model.ort")])
def test_int8_runs_on_onnxruntime_int8_kernels(workdir, run_cli, target, primary):
    """The INT8 file for onnxruntime is the form its kernels fuse: every conv a QLinearConv, within a point of FP32."""
    code, _, err = run_cli("--model", "igcv3-digits", "--target", target, "--precision", "int8", "--output", "d")
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    assert manifest["primary_artifact"] == primary and manifest["qdq"]["flavour"] == "onnxruntime"
    host = host_class()
    expected = default_lowering(host.name, host.arch, "onnxruntime", "int8")[1]["variant"]
    assert manifest["folding"]["grouped_conv_lowering"]["variant"] == expected
    convs = sum(node.op_type == "Conv" for node in onnx.load(str(workdir / "d" / "model_qdq.onnx")).graph.node)
    assert manifest["qdq"]["int8_kernels"] == {"QLinearConv": convs, "float_conv": 0}
    assert manifest["accuracy"]["n_samples"] >= 300 and manifest["accuracy"]["drop_points"] <= 1.0
    assert "Shipped form: onnxruntime" in (workdir / "d" / "calibration_report.md").read_text()


def test_onnxruntime_qdq_keeps_the_float_layers_in_float(tmp_path):
    """A block the budget keeps in float stays float convs in the onnxruntime form; the rest run in INT8."""
    from igcv_deploy.calibration.ort_qdq import write_onnxruntime_qdq

    bundle = tmp_path / "fp32"
    igcv_deploy.export(model="igcv3-digits", target="onnx", output=bundle)
    source = bundle / "model.onnx"
    convs = [node.name for node in onnx.load(str(source)).graph.node if node.op_type == "Conv"]
    images = np.random.default_rng(0).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32)
    block = [name for name in convs if name.startswith("/blocks/blocks.1/")]
    described = write_onnxruntime_qdq(source, images, tmp_path / "q.onnx", "minmax", block)
    assert len(block) >= 3 and described["int8_kernels"] == {
        "QLinearConv": len(convs) - len(block),
        "float_conv": len(block),
    }
    assert onnx.load(str(tmp_path / "q.onnx")).metadata_props == onnx.load(str(source)).metadata_props


def test_int8_accuracy_budget_holds_for_the_shipped_onnxruntime_form(workdir, run_cli):
    """The budget's float layers stay float convs in the shipped file, and its measured drop is within the budget."""
    args = ("--model", "igcv3-digits", "--precision", "int8", "--max-accuracy-drop", "0.3", "--output", "d")
    code, _, err = run_cli(*args)
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    float_layers = manifest["calibration"]["float_layers"]
    assert manifest["qdq"]["float_layers"] == float_layers
    float_convs = [
        n
        for n in onnx.load(str(workdir / "d" / "model_qdq.onnx")).graph.node
        if n.op_type == "Conv" and n.name in float_layers
    ]
    assert manifest["qdq"]["int8_kernels"]["float_conv"] == len(float_convs)
    assert manifest["accuracy"]["drop_points"] <= 0.3


@pytest.mark.parametrize(
    "args, message",
    [
        (("--precision", "int8", "--weight-bits", "5"), "--weight-bits must be 7 or 8"),
        (("--target", "openvino", "--precision", "int8", "--weight-bits", "8"), "does not apply to target 'openvino'"),
        (("--weight-bits", "8"), "does not apply to target 'onnx' at fp32"),
    ],
)
def test_weight_bits_is_checked(run_cli, args, message):
    code, _, err = run_cli(*SMALL, *args)
    assert code == 2 and message in err


@pytest.mark.parametrize(
    "args, reason",
    [
        (("--device", "x86-vnni"), "do not saturate"),  # 7 bits on the other classes: tests/test_isa.py
        (("--device", "x86-avx2", "--weight-bits", "8"), "--weight-bits"),
    ],
)
def test_eight_bit_weights(workdir, run_cli, args, reason):
    """8-bit weights where the CPU class accumulates int8 products in int32 (or on request), with the reason in the
    manifest and the full int8 range in the shipped weights. Where this host saturates 8-bit weights, parity and
    accuracy are measured on the unfused Q/DQ graph, which computes what the target does: the gates hold here."""
    code, _, err = run_cli(
        "--model", "igcv3-digits", "--precision", "int8", "--calib-size", "32", *args, "--output", "d"
    )
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    assert manifest["calibration"]["weight_bits"] == 8 and manifest["qdq"]["weights"].endswith("8 bits")
    assert reason in manifest["calibration"]["weight_bits_reason"]
    assert ("parity_method" in manifest) == (not host_class().int8_dot)
    assert manifest["accuracy"]["drop_points"] <= 1.0
    model = onnx.load(str(workdir / "d" / "model_qdq.onnx"))
    weights = [onnx.numpy_helper.to_array(t) for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) > 63
