"""The grouped-conv lowering in the export pipeline: per-class default, --lowering, --lowering-plan, tune."""

from __future__ import annotations

import json

import numpy as np
import pytest

from igcv_deploy.calibration.images import reference_images
from igcv_deploy.exporters import lowering
from igcv_deploy.isa import CLASS, host_class
from igcv_deploy.models import get_config
from igcv_deploy.profiling.cli import main as igcv_profile
from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner
from igcv_deploy.runtimes.openvino import OpenVINORunner

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64")
BLOCKS = 32  # IGC blocks (grouped expansion -> permutation -> grouped projection) in IGCV3
TOL = 1e-5


def export(run_cli, out, *extra):
    code, _, err = run_cli(*SMALL, "--output", out, *extra)
    assert code == 0, err
    return out


def outputs(bundle, target):
    images = reference_images(get_config("igcv3-0.25").with_overrides(input_size=(3, 64, 64)))
    if target == "openvino":
        return OpenVINORunner(bundle / "model.xml", precision="fp32").run_batches(images, 1)
    return OnnxRuntimeRunner(bundle / "model.onnx").run_batches(images, 1)


def rel_err(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize(
    "target, device, variant",
    [
        ("onnx", "x86-vnni", "split"),
        ("openvino", "x86-avx2", "dense_projection"),
        ("openvino", "x86-avx512-bf16", "split"),
    ],
)
def test_default_lowering_is_exact_and_recorded(workdir, run_cli, target, device, variant):
    """The default export lowers every block with the form measured on the device's class (this model's block
    shapes are not the 224x224 ones the per-block plans name); outputs equal the folding-only export."""
    lowered = export(run_cli, workdir / "auto", "--target", target, "--device", device)
    native = export(run_cli, workdir / "native", "--target", target, "--lowering", "native")
    record = read_manifest(lowered)["folding"]["grouped_conv_lowering"]
    assert record["source"].startswith(f"measured default for {device}") and record["measured_on"]
    assert record["blocks"] == {variant: BLOCKS}
    assert read_manifest(lowered)["device"] == {
        "isa_class": device,
        "label": CLASS[device].label,
        "chosen_by": "--device",
        "host_isa_class": host_class().name,
    }
    assert read_manifest(native)["folding"]["grouped_conv_lowering"]["blocks"] == {"native": BLOCKS}
    assert read_manifest(lowered)["folding"]["after"]["total"] == 0  # the permutations went into weights/wiring
    assert rel_err(outputs(lowered, target), outputs(native, target)) <= TOL


def test_tuned_plan_round_trip(workdir, run_cli, capsys):
    """igcv-profile tune writes a plan for every block shape; the export applies it and records its hash."""
    native = export(run_cli, workdir / "native", "--lowering", "native")
    code = igcv_profile(["tune", str(native), "--rounds", "1", "--seconds", "0.01", "--output", "plan.json"])
    assert code == 0, capsys.readouterr().err
    tuned = json.loads((workdir / "plan.json").read_text())
    assert tuned["runtime"] == "onnxruntime" and len(tuned["plan"]) == len(tuned["blocks_ms"]) > 1
    bundle = export(run_cli, workdir / "tuned", "--lowering-plan", "plan.json")
    record = read_manifest(bundle)["folding"]["grouped_conv_lowering"]
    assert record["source"] == "plan file" and sum(record["blocks"].values()) == BLOCKS
    chosen = {e["signature"]: e["variant"] for e in read_manifest(bundle)["folding"]["log"] if "signature" in e}
    assert chosen == tuned["plan"]
    assert rel_err(outputs(bundle, "onnx"), outputs(native, "onnx")) <= TOL


def test_lowering_tune_times_this_cpu_during_the_export(workdir, run_cli, monkeypatch):
    """--lowering tune picks each block shape's fastest form here, records the plan and the CPU, and stays exact."""
    monkeypatch.setattr(lowering, "TUNE_BUDGET_S", 2.0)
    bundle = export(run_cli, workdir / "tuned", "--lowering", "tune")
    native = export(run_cli, workdir / "native", "--lowering", "native")
    record = read_manifest(bundle)["folding"]["grouped_conv_lowering"]
    assert record["source"] == "tuned during the export" and record["tuned_on"]["isa_class"] == host_class().name
    assert record["seconds_per_timing"] <= 2.0 / (record["rounds"] * 4 * len(record["plan"]))
    assert set(record["plan"]) == set(record["blocks_ms"]) and sum(record["blocks"].values()) == BLOCKS
    for signature, variant in record["plan"].items():
        assert record["blocks_ms"][signature][variant] == min(record["blocks_ms"][signature].values())
    assert rel_err(outputs(bundle, "onnx"), outputs(native, "onnx")) <= TOL


def test_tuning_a_lowered_model_says_how_to_get_one(workdir, run_cli, capsys):
    lowered = export(run_cli, workdir / "split", "--lowering", "split")
    code = igcv_profile(["tune", str(lowered), "--rounds", "1", "--seconds", "0.01"])
    err = capsys.readouterr().err
    assert code == 1 and "no grouped-conv blocks" in err and "--lowering native" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (("--lowering", "splt"), "unknown --lowering 'splt'"),
        (("--lowering", "split", "--lowering-plan", "plan.json"), "pass only one of them"),
        (("--lowering-plan", "missing.json"), "cannot read lowering plan"),
        (("--lowering-plan", "bad.json"), "is not a lowering plan"),
        (("--target", "openvino", "--lowering-plan", "ort.json"), "tuned on onnxruntime"),
        (("--lowering", "tune", "--device", "arm-dotprod"), "--lowering tune measures this CPU"),
        (("--device", "riscv"), "unknown --device 'riscv'"),
        (("--tuning", "plan.json"), "is not a tuning store"),
        (("--lowering", "split", "--tuning", "plan.json"), "--tuning is the store --lowering auto reads"),
    ],
)
def test_bad_lowering_options_are_usage_errors(workdir, run_cli, args, message):
    (workdir / "plan.json").write_text(json.dumps({"*": "split"}))
    (workdir / "bad.json").write_text(json.dumps({"*": "densest"}))
    (workdir / "ort.json").write_text(json.dumps({"runtime": "onnxruntime", "plan": {"*": "split"}}))
    code, _, err = run_cli(*SMALL, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not list(workdir.glob("artifacts"))
