"""Shared artifacts for the profiler tests: one mid-size IGCV3 bundle (ms-range latency) and its IRs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

IMGSZ = 128
RUN_FIELDS = {
    "batch",
    "threads",
    "input_shape",
    "iterations",
    "warmup",
    "measured_s",
    "latency_ms",
    "cv",
    "unstable",
    "throughput_fps",
    "timing",
    "load_avg",
    "runtime_config",
    "samples_ms",
}
TOP_FIELDS = {
    "schema",
    "tool",
    "created_utc",
    "artifact",
    "runtime",
    "runtime_version",
    "precision",
    "options",
    "settings",
    "environment",
    "runs",
}
ENV_FIELDS = {"cpu_model", "cpu_count", "usable_cores", "governor", "gpus", "load_avg_before", "load_avg_after"}
QUICK = ["--warmup-iters", "2", "--warmup-time", "0", "--iterations", "5", "--duration", "0", "--quiet"]


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """igcv3 at 128x128, dynamic batch, as an ONNX bundle written by igcv-export; folding only (--lowering native),
    so the permutations whose time the role classifier attributes are still in the graph."""
    from igcv_deploy.cli import main

    out = tmp_path_factory.mktemp("profiling") / "igcv3_onnx"
    args = ["--model", "igcv3", "--imgsz", str(IMGSZ), "--dynamic-batch", "--lowering", "native", "--output", str(out)]
    assert main(args) == 0
    return out


def _ir(bundle: Path, folder: Path, shape) -> Path:
    import openvino as ov

    folder.mkdir(exist_ok=True)
    ov.save_model(ov.convert_model(bundle / "model.onnx", input=shape), folder / "model.xml")
    return folder / "model.xml"


@pytest.fixture(scope="session")
def static_ir(bundle, tmp_path_factory) -> Path:
    """The same model as a static-shape OpenVINO IR (what benchmark_app and latency runs use)."""
    return _ir(bundle, tmp_path_factory.mktemp("ir_static"), [1, 3, IMGSZ, IMGSZ])


@pytest.fixture(scope="session")
def dynamic_ir(bundle, tmp_path_factory) -> Path:
    return _ir(bundle, tmp_path_factory.mktemp("ir_dynamic"), [-1, 3, IMGSZ, IMGSZ])


@pytest.fixture
def profile_cli(capsys, tmp_path):
    """Run igcv-profile in-process; returns (exit code, result document or None, stderr)."""
    from igcv_deploy.profiling.cli import main

    def run(*args, output: str = "result.json"):
        path = tmp_path / output
        code = main([str(a) for a in args] + ["--output", str(path)])
        err = capsys.readouterr().err
        return code, json.loads(path.read_text()) if path.exists() else None, err

    return run


def assert_schema(document: dict) -> None:
    assert set(document) >= TOP_FIELDS, TOP_FIELDS - set(document)
    assert set(document["environment"]) >= ENV_FIELDS
    for run in document["runs"]:
        assert set(run) >= RUN_FIELDS, RUN_FIELDS - set(run)
        assert set(run["latency_ms"]) == {"p50", "p90", "p95", "p99", "mean", "std", "min", "max"}
        assert len(run["samples_ms"]) == run["iterations"]
        lat = run["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
