"""The first vertical slice end to end: igcv3 -> ONNX bundle, and the CLI contract around it."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest

from igcv_deploy.bundle import sha256
from igcv_deploy.models import list_models

from .conftest import read_manifest


@pytest.fixture(scope="module")
def igcv3_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("slice") / "igcv3_onnx_fp32"
    from igcv_deploy.cli import main

    assert main(["--model", "igcv3", "--target", "onnx", "--output", str(out)]) == 0
    return out


def test_manifest_contract(igcv3_bundle):
    manifest = read_manifest(igcv3_bundle)
    for key in (
        "schema_version",
        "model",
        "target",
        "precision",
        "inputs",
        "preprocessing",
        "files",
        "parity",
        "versions",
        "created_utc",
    ):
        assert key in manifest, key
    assert manifest["model"] == {**manifest["model"], "name": "igcv3", "params": 3_491_688, "weights": "random-init"}
    assert abs(manifest["model"]["macs"] - 313.0e6) < 0.1e6
    assert manifest["inputs"] == [{"name": "input", "shape": [1, 3, 224, 224], "dtype": "float32"}]
    assert set(manifest["preprocessing"]) >= {"mean", "std", "input_size", "crop", "channel_order"}
    assert manifest["files"]["model.onnx"] == sha256(igcv3_bundle / "model.onnx")


def test_parity_on_real_images(igcv3_bundle):
    parity = read_manifest(igcv3_bundle)["parity"]
    assert parity["reference"] == "pytorch"
    assert parity["n_samples"] >= 8
    assert parity["max_rel_err"] <= 1e-4
    assert parity["top1_agreement"] == 1.0
    assert parity["cosine"] > 0.99999


def test_onnx_passes_full_checker(igcv3_bundle):
    onnx.checker.check_model(onnx.load(str(igcv3_bundle / "model.onnx")), full_check=True)


def test_random_init_is_loud(workdir, run_cli):
    code, _, err = run_cli("--model", "igcv3-0.25", "--imgsz", "64", "--output", "b")
    assert code == 0
    assert "RANDOM initialisation" in err
    assert read_manifest(workdir / "b")["model"]["weights"] == "random-init"


def test_default_output_folder_and_overwrite_refusal(workdir, run_cli):
    args = ("--model", "igcv3-0.25", "--target", "onnx", "--imgsz", "64")
    assert run_cli(*args)[0] == 0
    bundle = workdir / "artifacts" / "igcv3-0.25_onnx_fp32"
    assert (bundle / "manifest.json").is_file()
    before = (bundle / "manifest.json").read_bytes()
    code, _, err = run_cli(*args)
    assert code == 1
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert (bundle / "manifest.json").read_bytes() == before
    assert run_cli(*args, "--force")[0] == 0


def test_list_models_one_per_line(run_cli):
    code, out, _ = run_cli("--list-models", "--names-only")
    assert code == 0
    assert out.split() == list_models()
    assert "igcv3" in out.split()


def test_list_models_table(run_cli):
    code, out, _ = run_cli("--list-models")
    assert code == 0
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert list(lines) == list_models()
    assert "3.49M" in lines["igcv3"] and "312.97M" in lines["igcv3"] and "3x224x224" in lines["igcv3"]
    assert "shipped" in lines["igcv3-digits"] and "random-init" in lines["igcv2-cifar"]
    assert "importable (pytorchcv-igcv3)" in lines["igcv3-0.5"]


@pytest.mark.parametrize("name", ["igcv3-digits", "igcv1-cifar", "mobilenetv2"])
def test_listed_complexity_matches_the_real_model(name):
    """The table counts on the meta device; the manifest counts on the real model: they must agree."""
    from igcv_deploy.models import create_model, get_config
    from igcv_deploy.models.complexity import count_macs, count_params
    from igcv_deploy.models.listing import complexity

    config = get_config(name)
    model = create_model(name)
    assert complexity(name, config) == (count_params(model), count_macs(model, config.input_size))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--model", "nope", "--target", "onnx"), "unknown model 'nope'"),
        (("--model", "igcv3", "--target", "coreml"), "unknown target 'coreml'"),
        (("--model", "igcv3", "--target", "onnx", "--precision", "int4"), "does not support precision"),
        (("--model", "igcv3", "--batch", "two"), "invalid int value"),
        (("--model", "igcv3", "--target", "tensorrt-rtx", "--device", "arm"), "--device does not apply"),
    ],
)
def test_usage_errors_exit_2(run_cli, args, fragment):
    if "two" in args:
        with pytest.raises(SystemExit) as exc:
            run_cli(*args)
        assert exc.value.code == 2
        return
    code, _, err = run_cli(*args)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_console_script_exit_codes(tmp_path):
    """The installed entry point, as a user runs it: usage error 2, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "igcv_deploy.cli", "--model", "igvc3", "--target", "onnx"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "did you mean 'igcv3'" in result.stderr
    assert "Traceback" not in result.stderr
