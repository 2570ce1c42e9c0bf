"""The ExecuTorch target: XNNPACK-delegated .pte (FP32 parity, INT8 accuracy), bundled self-test, igcv-profile."""

from __future__ import annotations

import json

import executorch  # noqa: F401  (make setup installs it: a broken install fails here, never skips)
import pytest

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64", "--target", "executorch")
DIGITS_INT8 = ("--model", "igcv3-digits", "--target", "executorch", "--precision", "int8")


@pytest.fixture(scope="module")
def fp32_bundle(tmp_path_factory):
    from igcv_deploy.cli import main

    bundle = tmp_path_factory.mktemp("et") / "fp32"
    assert main([*SMALL, "--output", str(bundle)]) == 0
    return bundle


@pytest.mark.slow
def test_fp32_pte_parity_and_delegation(fp32_bundle):
    manifest = read_manifest(fp32_bundle)
    assert manifest["primary_artifact"] == "model.pte"
    assert set(manifest["files"]) >= {"model.pte", "model_bundled.bpte"}
    assert manifest["parity"]["runtime"] == "executorch"
    assert manifest["parity"]["max_rel_err"] <= 1e-4
    section = manifest["executorch"]
    assert section["delegated_subgraphs"] >= 1
    assert section["delegated_nodes"] > 0
    assert section["delegated_ops"]["aten.convolution.default"] > 0
    assert section["heavy_ops_on_portable_kernels"] == []
    folding = manifest["folding"]
    blocks = folding["grouped_conv_lowering"]["blocks"]
    assert folding["enabled"] is True and sum(blocks.values()) == 32
    shuffles = folding["executorch_shuffle_ops"]
    permutes = sum(shuffles[where]["aten.permute_copy.default"] for where in ("delegated", "outside"))
    assert permutes == blocks.get("native", 0)  # a lowered block leaves no shuffle in the program


@pytest.mark.slow
def test_bundled_program_round_trip(fp32_bundle):
    from igcv_deploy.exporters.executorch import verify_bundled_program

    record = read_manifest(fp32_bundle)["executorch"]["bundled_program"]
    assert record["test_cases"] >= 1
    verify_bundled_program(fp32_bundle / record["file"], record["test_cases"], record["rtol"], record["atol"])


@pytest.mark.slow
def test_runner_reads_the_pte(fp32_bundle):
    import numpy as np

    from igcv_deploy.runtimes import load_runner

    runner = load_runner(fp32_bundle / "model.pte")
    assert runner.name == "executorch"
    assert runner.input_shape() == [1, 3, 64, 64]
    assert runner.run(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 1000)
    assert runner.config()["delegate"] == "XnnpackBackend"


@pytest.mark.slow
def test_igcv_profile_runs_the_bundle(fp32_bundle, tmp_path):
    from igcv_deploy.profiling.cli import main as profile_main
    from igcv_deploy.profiling.harness import SCHEMA

    out = tmp_path / "p.json"
    args = [str(fp32_bundle), "--iterations", "20", "--duration", "1", "--quiet", "--output", str(out)]
    assert profile_main(args) == 0
    document = json.loads(out.read_text())
    assert document["schema"] == SCHEMA and document["runtime"] == "executorch"
    assert document["artifact"]["target"] == "executorch"
    assert {"schema", "artifact", "runtime", "runtime_version", "settings", "environment", "runs"} <= set(document)
    run = document["runs"][0]
    assert run["iterations"] >= 20 and run["input_shape"] == [1, 3, 64, 64] and run["runtime_config"]["threads"] >= 1


@pytest.mark.slow
def test_digits_int8_accuracy_budget(workdir, run_cli):
    """With 8 calibration images the PyTorch measurement of all-INT8 loses one held-out image (0.28 points) on
    the development host, so the budget keeps the most sensitive layer in float; the .pte is held to it too."""
    budget = 0.2
    code, _, err = run_cli(*DIGITS_INT8, "--calib-size", "8", "--max-accuracy-drop", str(budget), "--output", "d")
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    calibration = manifest["calibration"]
    assert calibration["method"] == "pt2e xnnpack per-channel symmetric"
    assert calibration["n_samples"] == 8 and calibration["max_accuracy_drop"] == budget
    all_int8 = calibration["budget_trace"][0]
    assert all_int8["float_units"] == 0
    assert bool(calibration["float_layers"]) == (all_int8["drop_points"] > budget)
    assert calibration["search_accuracy"]["drop_points"] <= budget
    assert set(calibration["files"]) <= set(manifest["files"])
    accuracy = manifest["accuracy"]
    assert accuracy["runtime"] == "executorch" and accuracy["n_samples"] >= 300
    assert accuracy["drop_points"] <= budget
    assert manifest["executorch"]["heavy_ops_on_portable_kernels"] == []


@pytest.mark.slow
def test_switchable_quantization_is_the_pt2e_model():
    """What the budget search measures is what convert_pt2e builds: all switches on is the INT8 model, all off FP32."""
    import copy

    import numpy as np

    from igcv_deploy.calibration.data import load_calibration_set
    from igcv_deploy.exporters.context import ExportRequest
    from igcv_deploy.exporters.executorch_int8 import xnnpack_quantizer
    from igcv_deploy.exporters.prepared_model import prepare_model
    from igcv_deploy.exporters.pt2e_int8 import (
        SwitchableQuantization,
        convert_pt2e,
        measurement_program,
        prepare_pt2e,
        run_batches,
    )

    prepared_model = prepare_model(ExportRequest(model="igcv3-digits"))
    calib = load_calibration_set(None, prepared_model.config, 8, progress=False)
    program, batch = measurement_program(prepared_model.module, calib.images, 1)
    assert batch is None  # IGCV exports with a free batch dimension
    observed = prepare_pt2e(program.module(), xnnpack_quantizer())
    run_batches(observed, calib.images, batch)
    converted = convert_pt2e(copy.deepcopy(observed))
    search = SwitchableQuantization(observed, batch, calib, prepared_model.reference)
    assert len(search.layers) == 99  # every conv and the classifier
    images = search.eval_images[:32]
    search.quantize_only(set(search.layers), activations=True)
    np.testing.assert_array_equal(run_batches(search.model, images, batch), run_batches(converted, images, batch))
    search.quantize_only(set(), activations=False)
    np.testing.assert_allclose(run_batches(search.model, images, batch), prepared_model.reference(images), atol=1e-4)


def test_onnx_source_is_refused(workdir, run_cli, tmp_path):
    import torch

    from igcv_deploy.models import create_model, get_config

    onnx_file = tmp_path / "tiny.onnx"
    model = create_model("igcv3-digits").eval()
    example = torch.zeros(1, *get_config("igcv3-digits").input_size)
    torch.onnx.export(model, (example,), str(onnx_file), dynamo=False)
    code, _, err = run_cli("--model", str(onnx_file), "--target", "executorch")
    assert code == 2 and "the executorch target needs a PyTorch model" in err


def test_calib_method_is_not_accepted(run_cli):
    code, _, err = run_cli(*SMALL, "--precision", "int8", "--calib-method", "entropy")
    assert code == 2 and "--calib-method does not apply" in err


TWO_BLOCKS = """
from torch import nn


def block(c_in, mid, c_out, stride):
    return [
        nn.Conv2d(c_in, mid, 1, groups=2, bias=False), nn.BatchNorm2d(mid), nn.ChannelShuffle(2),
        nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
        nn.Conv2d(mid, c_out, 1, groups=2, bias=False), nn.BatchNorm2d(c_out),
    ]


def build():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1), *block(8, 48, 16, 2), *block(16, 96, 16, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )
"""


@pytest.mark.slow
def test_lowering_tune_times_block_forms_in_executorch(workdir, run_cli, monkeypatch):
    """--lowering tune on the .pte path: each block shape's forms exported as .pte files and timed in ExecuTorch,
    the fastest kept; a user's model with torch's own nn.ChannelShuffle."""
    from igcv_deploy.exporters import lowering

    monkeypatch.setattr(lowering, "TUNE_BUDGET_S", 1.0)
    (workdir / "two_blocks.py").write_text(TWO_BLOCKS)
    args = ("--model", "two_blocks.py:build", "--imgsz", "32", "--target", "executorch", "--lowering", "tune")
    code, _, err = run_cli(*args, "--output", "b")
    assert code == 0, err
    manifest = read_manifest(workdir / "b")
    record = manifest["folding"]["grouped_conv_lowering"]
    assert record["source"] == "tuned during the export" and record["tuned_on"]["isa_class"]
    assert set(record["plan"]) == set(record["blocks_ms"]) == {"8-48-16 g2/2 16x16->8x8", "16-96-16 g2/2 8x8->8x8"}
    for signature, by_variant in record["blocks_ms"].items():
        assert set(by_variant) == {"native", "dense_projection", "dense_expansion", "split"}
        assert by_variant[record["plan"][signature]] == min(by_variant.values())
    assert manifest["parity"]["max_rel_err"] <= 1e-4
    assert sum(record["blocks"].values()) == 2


def test_negative_budget_is_refused(workdir, run_cli):
    code, _, err = run_cli(*DIGITS_INT8, "--max-accuracy-drop", "-1", "--output", "d")
    assert code == 2 and "--max-accuracy-drop must be 0 or more" in err


def test_fixed_batch_larger_than_the_calibration_set_is_a_usage_error():
    import numpy as np
    import torch

    from igcv_deploy.errors import UsageError
    from igcv_deploy.exporters.pt2e_int8 import measurement_program

    class FixedBatchOfFour(torch.nn.Module):
        def forward(self, x):
            return x.reshape(4, -1).mean(dim=1)

    images = np.zeros((3, 3, 8, 8), dtype=np.float32)
    with pytest.raises(UsageError, match="only 3") as error:
        measurement_program(FixedBatchOfFour(), images, 4)
    assert "--calib-size 4" in error.value.fix
