"""GPU-only: deserialise our engines, run them, compare with onnxruntime, time them.

Skipped with a reason on machines without a CUDA device; they run unchanged where one is.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time

import numpy as np
import pytest

from igcv_deploy.bundle import Bundle
from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner
from igcv_deploy.runtimes.parity import compare
from igcv_deploy.runtimes.tensorrt import NO_GPU, TensorRTRunner, cuda_compute_capabilities

from ..conftest import read_manifest
from .test_tensorrt import build_engine, export

DEVICES = cuda_compute_capabilities()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not DEVICES, reason=NO_GPU)]


def needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="module")
def rtx_bundle(tmp_path_factory):
    """A TensorRT-RTX engine for this GPU, with a dynamic batch."""
    needs("tensorrt_rtx")
    from igcv_deploy.exporters.tensorrt.library import load_library
    from igcv_deploy.exporters.tensorrt.rtx import compute_capabilities

    if DEVICES[0] not in compute_capabilities(load_library("tensorrt_rtx").trt):
        pytest.skip(f"TensorRT-RTX has no kernels for this GPU (compute capability {DEVICES[0]})")
    return export(tmp_path_factory, "--target", "rtx", "--dynamic-batch", "--compute-capability", DEVICES[0])


@pytest.fixture(scope="module")
def trt_bundle(tmp_path_factory):
    needs("tensorrt")
    return export(tmp_path_factory, "--target", "tensorrt", "--precision", "fp16")


@pytest.fixture(params=["rtx_bundle", "trt_bundle"])
def bundle(request):
    return request.getfixturevalue(request.param)


def inputs(batch: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((batch, 3, 64, 64)).astype(np.float32)


def test_engine_matches_onnxruntime(bundle):
    manifest = read_manifest(bundle)
    engine, reference = TensorRTRunner(bundle / "model.engine"), OnnxRuntimeRunner(bundle / "model.onnx")
    batch = 4 if manifest["engine"]["profile"] else 1
    figures = compare(reference.run(inputs(batch)), engine.run(inputs(batch)), "onnxruntime")
    limit = {"fp32": 1e-3, "fp16": 2e-2}[manifest["precision"]]
    assert figures["max_rel_err"] < limit and figures["top1_agreement"] == 1.0, figures
    assert manifest["artifacts"]["model.engine"]["parity"]["runtime"] == "tensorrt"  # measured at export


def test_engine_inspector_layers(bundle):
    report = json.loads((bundle / "engine_layers.json").read_text())
    assert report["engine_layers"] and read_manifest(bundle)["engine"]["inspection"]["source"] == "engine inspector"


def test_engine_latency(bundle):
    """Warm up, then time synchronous runs (each copies in, enqueues, copies out and synchronises)."""
    runner, x = TensorRTRunner(bundle / "model.engine"), inputs(1)
    for _ in range(10):
        runner.run(x)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        runner.run(x)
        times.append(time.perf_counter() - start)
    median_ms = 1e3 * float(np.median(times))
    print(f"{read_manifest(bundle)['engine']['library']}: median {median_ms:.3f} ms over 50 runs")
    assert 0 < median_ms < 100


def test_build_engine_on_the_device(trt_bundle, tmp_path):
    copy = shutil.copytree(trt_bundle, tmp_path / "bundle")
    result = build_engine(copy)
    assert result.returncode == 0, result.stderr
    manifest = Bundle.load(copy).manifest
    assert manifest["engine"]["status"] == "built" and manifest["primary_artifact"] == "model.engine"
    assert (copy / "timing.cache").is_file()
    TensorRTRunner(copy / "model.engine").run(inputs(1))
