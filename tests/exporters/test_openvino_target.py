"""The OpenVINO target: FP32/FP16/INT8 IRs, explicit-precision parity, rt_info metadata, ARM defaults."""

from __future__ import annotations

import openvino as ov
import pytest

from igcv_deploy.isa import host_class

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64", "--target", "openvino")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    from igcv_deploy.cli import main

    root = tmp_path_factory.mktemp("ov")
    for precision in ("fp32", "fp16"):
        assert main([*SMALL, "--precision", precision, "--output", str(root / precision)]) == 0
    return root


def test_fp32_ir_parity(bundles):
    manifest = read_manifest(bundles / "fp32")
    assert set(manifest["files"]) == {"model.xml", "model.bin", "reference.npz"}
    assert manifest["parity"]["runtime"] == "openvino"
    assert manifest["parity"]["max_rel_err"] <= 1e-4
    default = manifest["openvino"]["default_precision_parity"]
    assert default["execution_precision"] in ("f32", "bf16", "f16")


def test_fp16_ir_parity(bundles):
    manifest = read_manifest(bundles / "fp16")
    assert manifest["parity"]["max_rel_err"] <= 1e-2
    assert manifest["parity"]["top1_agreement"] >= 0.99
    fp32_size = (bundles / "fp32" / "model.bin").stat().st_size
    assert (bundles / "fp16" / "model.bin").stat().st_size < 0.6 * fp32_size


def test_rt_info_metadata(bundles):
    model = ov.Core().read_model(str(bundles / "fp32" / "model.xml"))
    assert model.get_rt_info(["igcv_deploy", "model"]).astype(str) == "igcv3-0.25"
    assert "input_size" in model.get_rt_info(["igcv_deploy", "preprocessing"]).astype(str)
    assert model.get_rt_info(["igcv_deploy", "bundle_schema_version"]).astype(str) == "1.0"


def test_arm_device_defaults_to_fp16(workdir, run_cli):
    code, _, err = run_cli(*SMALL, "--device", "arm")
    assert code == 0, err
    bundle = workdir / "artifacts" / "igcv3-0.25_openvino_fp16"
    manifest = read_manifest(bundle)
    assert manifest["precision"] == "fp16"
    assert manifest["openvino"]["device"] == "arm"
    assert "cortex-a72" not in manifest["openvino"]["int8_supported_cores"]


def test_unknown_device_is_a_usage_error(run_cli):
    code, _, err = run_cli(*SMALL, "--device", "riscv")
    assert code == 2 and "unknown --device 'riscv'" in err


def test_digits_int8_accuracy(workdir, run_cli):
    code, _, err = run_cli("--model", "igcv3-digits", "--target", "openvino", "--precision", "int8", "--output", "d")
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    accuracy = manifest["accuracy"]
    assert accuracy["n_samples"] >= 300
    assert accuracy["drop_points"] <= 1.0


@pytest.mark.parametrize("option", [("--max-accuracy-drop", "1"), ("--calib-method", "entropy")])
def test_int8_options_nncf_does_not_take_are_refused(run_cli, option):
    """NNCF's post-training quantisation has its own range estimators and no accuracy budget here: refused, not
    silently ignored."""
    code, _, err = run_cli(*SMALL, "--precision", "int8", *option)
    assert code == 2 and f"{option[0]} does not apply to target 'openvino' at int8" in err


def test_vnni_device_keeps_eight_bit_weights(workdir, run_cli):
    """NNCF's overflow fix (7-bit weights) is for CPUs that saturate u8 x s8 sums; a VNNI bundle goes without it."""
    code, _, err = run_cli(*SMALL, "--precision", "int8", "--device", "x86-vnni", "--calib-size", "8", "--output", "d")
    assert code == 0, err
    calibration = read_manifest(workdir / "d")["calibration"]
    assert calibration["weight_bits"] == 8 and "overflow fix" not in calibration["method"]
    assert "do not saturate" in calibration["weight_bits_reason"]
    assert ("host_note" in calibration) == (not host_class().int8_dot)
