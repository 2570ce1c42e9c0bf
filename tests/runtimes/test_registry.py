"""The registry of runtimes: names, suffix defaults, the checks `load_runner` makes, and its one-line errors."""

from __future__ import annotations

import pytest

from igcv_deploy.errors import IGCVError, UsageError
from igcv_deploy.runtimes import (
    RUNTIMES,
    default_runtime,
    get_runtime,
    known_suffixes,
    load_runner,
    runtime_for,
    runtime_names,
    runtimes_listing,
)


def test_names_and_runner_classes():
    assert runtime_names() == ("onnxruntime", "openvino", "tensorrt", "executorch", "litert", "torch")
    assert [spec.runner for spec in RUNTIMES] == [
        "onnxruntime:OnnxRuntimeRunner",
        "openvino:OpenVINORunner",
        "tensorrt:TensorRTRunner",
        "executorch:ExecuTorchRunner",
        "litert:LiteRTRunner",
        "torch_eager:TorchEagerRunner",
    ]
    assert get_runtime("tensorrt").needs_gpu and not get_runtime("openvino").needs_gpu


@pytest.mark.parametrize(
    "suffix, runtime",
    [
        (".onnx", "onnxruntime"),
        (".ort", "onnxruntime"),
        (".xml", "openvino"),
        (".engine", "tensorrt"),
        (".pte", "executorch"),
        (".tflite", "litert"),
        (".pt", None),
    ],
)
def test_default_runtime_by_suffix(suffix, runtime):
    assert default_runtime(suffix) == runtime


def test_suffixes():
    assert known_suffixes() == (".engine", ".onnx", ".ort", ".pte", ".tflite", ".xml")
    assert runtimes_listing(".onnx") == ("onnxruntime", "openvino")  # torch loads any bundle file but lists none


def test_runtime_for_picks_and_checks():
    assert runtime_for("b/model.onnx") == "onnxruntime"
    assert runtime_for("b/model.onnx", "openvino") == "openvino"
    assert runtime_for("b/model.engine", "torch") == "torch"  # the model is rebuilt from the bundle's manifest


@pytest.mark.parametrize(
    "path, runtime, line",
    [
        ("b/model.pt", None, "no runtime for 'model.pt' (expected one of .engine, .onnx, .ort, .pte, .tflite, .xml)"),
        (
            "b/model.onnx",
            "tvm",
            "unknown runtime 'tvm' (choose one of onnxruntime, openvino, tensorrt, executorch, litert, torch)",
        ),
        ("b/model.onnx", "tensorrt", "tensorrt cannot run 'model.onnx' (it runs .engine files)"),
        ("b/model.ort", "openvino", "openvino cannot run 'model.ort' (it runs .onnx, .xml files)"),
    ],
)
def test_usage_errors_are_one_line(path, runtime, line):
    with pytest.raises(UsageError) as error:
        load_runner(path, runtime)
    assert error.value.line() == line and error.value.exit_code == 2


def test_torch_runner_needs_a_bundle(tiny_onnx):
    with pytest.raises(UsageError, match="--runtime torch needs a bundle"):
        load_runner(tiny_onnx, "torch")


def test_engine_without_gpu(tmp_path):
    from igcv_deploy.runtimes.tensorrt import NO_GPU, cuda_compute_capabilities

    if cuda_compute_capabilities():
        pytest.skip("this machine has a GPU")
    (tmp_path / "model.engine").write_bytes(b"not an engine")
    with pytest.raises(IGCVError, match=NO_GPU):
        load_runner(tmp_path / "model.engine")
