"""The Q/DQ ONNX on tiny IGCV3-like graphs: TensorRT rules, placement, runtimes, sweep, sensitivity, budget."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from igcv_deploy.calibration.bundle_report import write_report
from igcv_deploy.calibration.calibrators import CALIBRATORS
from igcv_deploy.calibration.evaluate import runtimes
from igcv_deploy.calibration.qdq import quantize_model
from igcv_deploy.calibration.qdq_writer import write_qdq
from igcv_deploy.errors import UsageError

from .checks import build_with_tensorrt_rtx, check_rules
from .graphs import block_net, random_set, saturating_net, save


@pytest.fixture(scope="module")
def fragile(tmp_path_factory):
    """quantize_model on a net with one deliberately fragile layer and an accuracy budget of 10 points."""
    folder = tmp_path_factory.mktemp("fragile")
    fp32 = save(block_net(fragile=50.0), folder)
    result = quantize_model(fp32, random_set(), folder / "int8.onnx", max_accuracy_drop=10.0, progress=False)
    return fp32, result


def test_qdq_model_obeys_the_tensorrt_rules(fragile):
    _, result = fragile
    model = onnx.load(str(result.path))
    assert check_rules(model) == []
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") == len(result.amax)
    # activations: per-tensor, int8, zero-point 0, scale amax / 127
    scales = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for tensor, amax in result.amax.items():
        assert scales[f"{tensor}_scale"] == pytest.approx(amax / 127, rel=1e-6)
        assert scales[f"{tensor}_zero_point"].dtype == np.int8 and scales[f"{tensor}_zero_point"] == 0


@pytest.mark.parametrize("bits, limit", [(7, 63), (8, 127)])
def test_weights_are_per_channel_on_the_output_axis_and_biases_stay_float(bits, limit):
    model = write_qdq(
        block_net(),
        {"input": 4.0, "s1": 4.0, "a2": 6.0, "c2": 4.0, "c3": 4.0, "flat": 2.0},
        {"/conv1", "/conv2", "/conv3", "/add", "/fc"},
        weight_bits=bits,
    )
    tensors = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    fp32 = {init.name: numpy_helper.to_array(init) for init in block_net().graph.initializer}
    for weight in ("w1", "w2", "w3", "fc"):
        amax = np.abs(fp32[weight]).reshape(len(fp32[weight]), -1).max(axis=1)
        assert tensors[f"{weight}_scale"] == pytest.approx(amax / limit, rel=1e-6)
        assert tensors[f"{weight}_quantized"].dtype == np.int8 and np.abs(tensors[f"{weight}_quantized"]).max() == limit
    assert all(tensors[b].dtype == np.float32 for b in ("b1", "b2", "b3", "fc_b"))
    dequantize = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    dq_axes = {n.input[0]: n.attribute[0].i for n in dequantize if n.attribute}
    assert dq_axes == {"w1_quantized": 0, "w2_quantized": 0, "w3_quantized": 0, "fc_quantized": 0}


def test_matches_onnxruntime_quantize_static(tmp_path):
    """onnxruntime's quantize_static with TensorRT options and the same ranges computes the same function.

    (Residual Adds left out: onnxruntime quantises both inputs, we only the residual one.)
    """
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    amax = {"input": 3.0, "s1": 2.5, "a2": 3.5, "flat": 1.5}
    layers = ["/conv1", "/conv2", "/conv3", "/fc"]
    ranges = {t: TensorData(lowest=np.float32(-a), highest=np.float32(a)) for t, a in amax.items()}
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, ranges), tmp_path / "ranges.json")
    quantize_static(
        str(save(block_net(), tmp_path)),
        str(tmp_path / "ort.onnx"),
        None,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=layers,
        calibration_cache_path=tmp_path / "ranges.json",
        extra_options={
            "ActivationSymmetric": True,
            "WeightSymmetric": True,
            "QuantizeBias": False,
            "OpTypesToExcludeOutputQuantization": ["Conv", "Gemm"],
        },
    )
    ours = save(write_qdq(block_net(), amax, set(layers), weight_bits=8), tmp_path, "ours.onnx")
    x = random_set(1).images
    outputs = [ort.InferenceSession(str(p)).run(None, {"input": x})[0] for p in (tmp_path / "ort.onnx", ours)]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)


def test_runs_in_every_runtime_like_fp32(fragile):
    fp32, result = fragile
    assert set(runtimes()) == {"onnxruntime", "openvino"}
    assert set(result.accuracy["runtimes"]) == {"onnxruntime", "openvino"}
    from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner
    from igcv_deploy.runtimes.openvino import OpenVINORunner

    x = random_set(1, seed=5).images
    reference = OnnxRuntimeRunner(fp32).run(x)
    for runner in (OnnxRuntimeRunner(result.path), OpenVINORunner(result.path, precision="fp32")):
        assert np.abs(runner.run(x) - reference).max() < 0.25 * np.abs(reference).max()


def test_builds_with_tensorrt_rtx(fragile):
    build_with_tensorrt_rtx(fragile[1].path)


def test_sensitivity_ranks_the_fragile_layer_first(fragile):
    ranking = fragile[1].sensitivity
    assert ranking[0]["layer"] == "/conv2" and ranking[0]["error"] > 10 * ranking[1]["error"]
    assert [entry["rank"] for entry in ranking] == list(range(1, len(ranking) + 1))


def test_budget_keeps_the_fragile_layer_in_float(fragile):
    _, result = fragile
    assert result.budget_trace[0]["drop_points"] > 10.0
    assert result.float_layers == ["/conv2"] and "s1" not in result.amax
    assert all(figures["drop_points"] <= 10.0 for figures in result.accuracy["runtimes"].values())


def test_auto_sweep_keeps_the_measured_best(tmp_path):
    """One huge input pixel that ReLU6 saturates anyway: clipping it at the 99.99th percentile wins by far."""
    calib = random_set(64)
    calib.images[5, 0, 3, 3] = 400.0
    result = quantize_model(save(saturating_net(), tmp_path), calib, tmp_path / "int8.onnx", progress=False)
    assert set(result.method_errors) == set(CALIBRATORS)
    assert result.method == min(result.method_errors, key=result.method_errors.get) == "percentile"
    assert result.method_errors["percentile"] < result.method_errors["minmax"] / 100
    assert result.amax["input"] < 5


def test_float_layers_and_bad_options(tmp_path):
    fp32 = save(block_net(), tmp_path)
    result = quantize_model(
        fp32, random_set(16), tmp_path / "a.onnx", method="minmax", float_layers=["/fc"], progress=False
    )
    assert result.float_layers == ["/fc"] and "flat" not in result.amax and set(result.method_errors) == {"minmax"}
    with pytest.raises(UsageError, match="no quantisable layer named '/nope'"):
        quantize_model(fp32, random_set(16), tmp_path / "b.onnx", float_layers=["/nope"], progress=False)
    with pytest.raises(UsageError, match="unknown calibration method"):
        quantize_model(fp32, random_set(16), tmp_path / "b.onnx", method="kl", progress=False)
    with pytest.raises(UsageError, match="2..8 bits"):
        quantize_model(fp32, random_set(16), tmp_path / "b.onnx", weight_bits=9, progress=False)
    with pytest.raises(UsageError, match="max-accuracy-drop"):
        quantize_model(fp32, random_set(16), tmp_path / "b.onnx", max_accuracy_drop=-1, progress=False)


def test_report_and_manifest_sections(fragile, tmp_path):
    _, result = fragile
    sections = write_report(result, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"calibration_report.md", "sensitivity.png", "sensitivity.json"}
    assert json.loads((tmp_path / "sensitivity.json").read_text())[0]["layer"] == "/conv2"
    assert sections["calibration"]["float_layers"] == ["/conv2"] and sections["calibration"]["n_samples"] == 64
    assert "accuracy" not in sections  # random images have no labels: agreement only
    text = (tmp_path / "calibration_report.md").read_text()
    assert "top-1 agreement" in text and "/conv2" in text and "10.0 points" in text
