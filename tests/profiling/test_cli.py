"""igcv-profile end to end on real runtimes: schema, runtimes, sweeps, per-layer, and its one-line errors."""

from __future__ import annotations

import json

import pytest

from .conftest import QUICK, assert_schema


def test_onnx_bundle_with_per_layer(profile_cli, bundle):
    code, doc, err = profile_cli(bundle, "--threads", "2", "--per-layer", "--layer-runs", "3", *QUICK)
    assert code == 0, err
    assert_schema(doc)
    assert (doc["runtime"], doc["precision"], doc["artifact"]["model"]["name"]) == ("onnxruntime", "fp32", "igcv3")
    assert doc["artifact"]["bundle"] == str(bundle) and doc["runs"][0]["threads"] == 2
    layers = doc["layers"]
    assert layers["mapped_fraction"] > 0.95
    assert all(layers["by_role"][r] > 0 for r in ("expansion", "permutation", "depthwise", "projection", "layout"))
    assert {"Conv", "Transpose", "Reshape"} <= set(layers["by_op_type"])
    assert layers["wall_ms"] > 0


def test_openvino_ir_with_per_layer(profile_cli, static_ir):
    code, doc, err = profile_cli(static_ir, "--precision", "fp32", "--per-layer", "--layer-runs", "3", *QUICK)
    assert code == 0, err
    assert_schema(doc)
    assert (doc["runtime"], doc["precision"]) == ("openvino", "fp32")
    config = doc["runs"][0]["runtime_config"]
    assert config["performance_hint"] == "LATENCY" and config["inference_precision_hint"] == "f32"
    layers = doc["layers"]
    assert layers["by_op_type"].get("ShuffleChannels", 0) > 0 and layers["by_role"]["permutation"] > 0
    assert layers["mapped_fraction"] > 0.95


def test_openvino_throughput_hint_measures_async_throughput(profile_cli, static_ir):
    code, doc, err = profile_cli(static_ir, "--hint", "throughput", "--streams", "2", *QUICK)
    assert code == 0, err
    run = doc["runs"][0]
    assert run["runtime_config"]["num_streams"] == "2" and run["async_requests"] >= 2
    assert run["async_throughput_fps"] > 0


def test_batch_and_thread_sweeps(profile_cli, bundle, dynamic_ir):
    code, doc, err = profile_cli(bundle, "--batch-sweep", "1", "2", "--thread-sweep", "1", "2", *QUICK)
    assert code == 0, err
    assert [(r["threads"], r["batch"]) for r in doc["runs"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    code, doc, err = profile_cli(dynamic_ir, "--batch", "2", *QUICK)
    assert code == 0 and doc["runs"][0]["batch"] == 2, err


def test_torch_eager_baseline(profile_cli, bundle):
    # one thread: PyTorch's OpenMP pool spins pathologically slowly on a loaded 2-core machine
    code, doc, err = profile_cli(bundle, "--runtime", "torch", "--threads", "1", *QUICK, "--iterations", "2")
    assert code == 0, err
    assert_schema(doc)
    assert doc["runtime"] == "torch" and doc["runs"][0]["runtime_config"]["num_threads"] == 1


def _one_line_error(code, err, expected_code, *words):
    assert code == expected_code
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert all(w in err for w in words), err


def test_static_batch_refused(profile_cli, static_ir):
    code, doc, err = profile_cli(static_ir, "--batch", "4", *QUICK)
    _one_line_error(code, err, 2, "static batch of 1", "--dynamic-batch")
    assert doc is None


@pytest.mark.parametrize(
    "args, words",
    [
        (("--hint", "throughput"), ("--hint", "openvino only")),
        (("--runtime", "tensorrt"), ("tensorrt cannot run",)),
        (("--batch", "1", "--batch-sweep", "1", "2"), ("sweep",)),
        (("--iterations", "0"), ("positive",)),
    ],
)
def test_usage_errors(profile_cli, bundle, args, words):
    _one_line_error(*profile_cli(bundle, *QUICK, *args)[::2], 2, *words)


def test_torch_needs_a_bundle_and_has_no_per_layer(profile_cli, bundle, static_ir):
    _one_line_error(*profile_cli(static_ir, "--runtime", "torch", *QUICK)[::2], 2, "needs a bundle")
    _one_line_error(*profile_cli(bundle, "--runtime", "torch", "--per-layer", *QUICK)[::2], 2, "--per-layer")


def _copy(bundle, folder):
    folder.mkdir()
    for f in bundle.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_tampered_bundle_refused(profile_cli, bundle, tmp_path):
    copy = _copy(bundle, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _one_line_error(*profile_cli(copy, *QUICK)[::2], 1, "does not match its manifest sha256")


def test_engine_without_gpu_is_one_clear_line(profile_cli, bundle, tmp_path):
    from igcv_deploy.profiling.environment import gpus

    if gpus():
        pytest.skip("this machine has a GPU")
    copy = _copy(bundle, tmp_path / "trt")
    (copy / "model.engine").write_bytes(b"not an engine")  # what igcv-export build-engine adds on a device
    _one_line_error(*profile_cli(copy, "--runtime", "tensorrt", *QUICK)[::2], 1, "GPU")


def test_openvino_runs_the_onnx_of_a_bundle(profile_cli, bundle):
    code, doc, err = profile_cli(bundle, "--runtime", "openvino", "--per-layer", "--layer-runs", "2", *QUICK)
    assert code == 0, err
    assert doc["runtime"] == "openvino" and doc["artifact"]["path"].endswith("model.onnx")
    assert doc["layers"]["graph"].endswith("model.onnx") and doc["layers"]["by_role"]["expansion"] > 0


def test_missing_artifact(profile_cli, tmp_path):
    _one_line_error(*profile_cli(tmp_path / "nope.onnx", *QUICK)[::2], 1, "does not exist")
