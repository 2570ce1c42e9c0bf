"""One runner per runtime does both jobs: parity runs and the timing harness's calls, on the same engine."""

from __future__ import annotations

import numpy as np
import pytest

from igcv_deploy.errors import UsageError
from igcv_deploy.profiling.timing import Plan, measure
from igcv_deploy.runtimes import Runner, load_runner
from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner
from igcv_deploy.runtimes.openvino import OpenVINORunner

from .conftest import CHANNELS, SIZE, reference

QUICK = Plan(warmup_iters=1, warmup_s=0, iterations=3, duration_s=0)


@pytest.fixture(params=["onnxruntime", "openvino"])
def runner(request, tiny_onnx) -> Runner:
    return load_runner(tiny_onnx, request.param, threads=1)


def test_load_runner_opens_the_registry_class(tiny_onnx):
    assert type(load_runner(tiny_onnx)) is OnnxRuntimeRunner
    assert type(load_runner(tiny_onnx, "openvino", precision="fp32")) is OpenVINORunner


def test_parity_and_timing_on_one_runner(runner, images):
    assert runner.version and runner.input_shape() == [None, CHANNELS, SIZE, SIZE]
    expected = reference(images)
    np.testing.assert_allclose(runner.run(images), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(runner.run_batches(images, 2), expected, rtol=1e-5, atol=1e-5)
    samples, warmup = measure(runner.bind(images[:1]), QUICK)
    assert len(samples) == 3 and warmup["iterations"] == 1 and (samples > 0).all()
    assert runner.config() and runner.run_extras(images[:1], 3, 0.0) == {}


def test_layer_times(runner, images):
    profile = runner.layer_times(images[:1], runs=2)
    assert profile["runs"] == 2 and profile["layers"]
    assert all(layer["ms"] >= 0 and layer["name"] for layer in profile["layers"])


def test_onnxruntime_config_and_precision(tiny_onnx):
    runner = OnnxRuntimeRunner(tiny_onnx)
    assert runner.precision is None  # runs the model as stored
    assert runner.config() == {
        "intra_op_num_threads": "default (physical cores)",
        "inter_op_num_threads": 1,
        "execution_provider": "CPUExecutionProvider",
    }


def test_openvino_speaks_the_export_precision_words(tiny_onnx):
    runner = OpenVINORunner(tiny_onnx, threads=1)  # fp32 unless asked otherwise
    assert runner.precision == "fp32" and runner.execution_precision == "f32"
    assert runner.config()["inference_precision_hint"] == "f32" and runner.config()["inference_num_threads"] == "1"
    assert OpenVINORunner(tiny_onnx, precision="default").precision in ("fp32", "bf16", "fp16")
    with pytest.raises(UsageError, match="unknown OpenVINO precision 'f32'"):
        OpenVINORunner(tiny_onnx, precision="f32")


def test_openvino_throughput_hint_adds_async_throughput(tiny_onnx, images):
    runner = OpenVINORunner(tiny_onnx, hint="throughput", streams=2)
    extras = runner.run_extras(images[:1], 3, 0.0)
    assert runner.config()["num_streams"] == "2" and extras["async_requests"] >= 2
    assert extras["async_throughput_fps"] > 0
