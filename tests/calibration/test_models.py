"""INT8 on real models: the trained digits IGCV3 (accuracy, budget) and random-init ImageNet IGCV3 (agreement)."""

from __future__ import annotations

import onnx
import pytest

from igcv_deploy.calibration.bundle_report import write_report
from igcv_deploy.calibration.data import load_calibration_set
from igcv_deploy.calibration.qdq import quantize_model
from igcv_deploy.models import create_model, get_config

from .checks import build_with_tensorrt_rtx, check_rules


def export(model, config, path):
    """FP32 ONNX as the pipeline's base_onnx makes it: TorchScript exporter, opset 17, onnxslim."""
    from igcv_deploy.exporters.base_onnx import simplify, torch_to_onnx

    raw = path.with_suffix(".raw.onnx")
    torch_to_onnx(model, [1, *config.input_size], raw, "torchscript", 17, False)
    onnx.save(simplify(onnx.load(str(raw))), str(path))
    return path


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """One run with a 0.5-point budget: its first measurement is the all-INT8 model."""
    folder = tmp_path_factory.mktemp("digits")
    config = get_config("igcv3-digits")
    fp32 = export(create_model("igcv3-digits"), config, folder / "fp32.onnx")
    calib = load_calibration_set(None, config, size=64, progress=False)
    return quantize_model(fp32, calib, folder / "int8.onnx", max_accuracy_drop=0.5, progress=False)


def test_digits_int8_loses_at_most_one_point_in_every_runtime(digits):
    all_int8 = digits.budget_trace[0]
    print("\ndigits, every layer INT8:", all_int8, "method", digits.method, digits.method_errors)
    assert all_int8["float_units"] == 0 and set(all_int8["runtimes"]) == {"onnxruntime", "openvino"}
    assert digits.accuracy["n_samples"] == 360 and digits.accuracy["reference_top1"] > 0.95
    assert all(figures["drop_points"] <= 1.0 for figures in all_int8["runtimes"].values())


def test_digits_accuracy_budget_of_half_a_point(digits, tmp_path):
    print("\ndigits, budget 0.5:", digits.accuracy["runtimes"], "float:", digits.float_layers)
    assert all(figures["drop_points"] <= 0.5 for figures in digits.accuracy["runtimes"].values())
    sections = write_report(digits, tmp_path)
    assert sections["accuracy"]["drop_points"] <= 0.5 and sections["accuracy"]["n_samples"] == 360
    assert sections["calibration"]["float_layers"] == digits.float_layers
    assert check_rules(onnx.load(str(digits.path))) == []


def test_imagenet_igcv3_agreement_on_real_photos(tmp_path):
    from igcv_deploy.models.init import init_random_weights

    config = get_config("igcv3-0.25").with_overrides(input_size=(3, 96, 96))
    fp32 = export(init_random_weights(create_model("igcv3-0.25")), config, tmp_path / "fp32.onnx")
    calib = load_calibration_set(None, config, size=16, progress=False)
    result = quantize_model(fp32, calib, tmp_path / "int8.onnx", progress=False)
    print(
        "\nIGCV3-0.25 ImageNet random init, 96px, INT8 vs FP32 on photos:",
        result.accuracy["runtimes"],
        "method errors",
        result.method_errors,
    )
    assert set(result.accuracy["runtimes"]) == {"onnxruntime", "openvino"} and "top1_agreement" in result.accuracy
    assert result.method_errors[result.method] < 0.05
    assert len(result.sensitivity) == 35  # stem, 32 blocks, head, classifier
    assert sum(result.signed.values()) > len(result.signed) / 2  # IGCV3's un-activated tensors are signed
    model = onnx.load(str(result.path))
    assert check_rules(model) == []
    build_with_tensorrt_rtx(result.path)
