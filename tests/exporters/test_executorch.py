"""The ExecuTorch target: XNNPACK-delegated .pte (FP32 parity, INT8 accuracy), bundled self-test, igcv-profile."""

from __future__ import annotations

import json

import executorch  # noqa: F401  (make setup installs it: a broken install fails here, never skips)
import pytest

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64", "--target", "executorch")


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
    assert manifest["folding"]["enabled"] is False
    assert "executorch" in manifest["folding"]


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
def test_digits_int8_accuracy(workdir, run_cli):
    code, _, err = run_cli("--model", "igcv3-digits", "--target", "executorch", "--precision", "int8", "--output", "d")
    assert code == 0, err
    manifest = read_manifest(workdir / "d")
    assert manifest["calibration"]["method"] == "pt2e xnnpack per-channel symmetric"
    accuracy = manifest["accuracy"]
    assert accuracy["n_samples"] >= 300
    assert accuracy["drop_points"] <= 1.0
    assert manifest["executorch"]["heavy_ops_on_portable_kernels"] == []


def test_onnx_source_is_refused(workdir, run_cli, tmp_path):
    import torch

    from igcv_deploy.models import create_model, get_config

    onnx_file = tmp_path / "tiny.onnx"
    model = create_model("igcv3-digits").eval()
    example = torch.zeros(1, *get_config("igcv3-digits").input_size)
    torch.onnx.export(model, (example,), str(onnx_file), dynamo=False)
    code, _, err = run_cli("--model", str(onnx_file), "--target", "executorch")
    assert code == 2 and "the executorch target needs a PyTorch model" in err


def test_max_accuracy_drop_is_not_accepted(run_cli):
    code, _, err = run_cli(*SMALL, "--precision", "int8", "--max-accuracy-drop", "1")
    assert code == 2 and "--max-accuracy-drop does not apply" in err
