"""TensorRT targets on a CPU-only machine: TRT-RTX engines, parser compatibility, the device bundle.

Standard TensorRT is not installable here (see docs/tensorrt.md), so the `tensorrt` target writes
a bundle whose engine is built on the device; TensorRT-RTX builds real engines without a GPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import onnx
import pytest

from igcv_deploy.bundle import Bundle
from igcv_deploy.errors import IGCVError
from igcv_deploy.runtimes.tensorrt import cuda_compute_capabilities

from ..conftest import read_manifest

SMALL = ("--model", "igcv3-0.25", "--imgsz", "64")
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
CAN_BUILD_TENSORRT = HAS_TENSORRT and bool(cuda_compute_capabilities())


def export(tmp_path_factory, *args) -> Path:
    return export_with_output(tmp_path_factory, *args)[0]


def export_with_output(tmp_path_factory, *args) -> tuple[Path, str, str]:
    """Run igcv-export in-process; returns the bundle, stdout and stderr."""
    from igcv_deploy.cli import main

    out, stdout, stderr = tmp_path_factory.mktemp("trt") / "bundle", io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*SMALL, "--output", str(out), *args])
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def trt_export(tmp_path_factory):
    return export_with_output(tmp_path_factory, "--target", "trt")


@pytest.fixture(scope="module")
def trt_bundle(trt_export):
    return trt_export[0]


@pytest.fixture(scope="module", params=["fp32", "fp16", "int8"])
def rtx_bundle(request, tmp_path_factory):
    return export(tmp_path_factory, "--target", "tensorrt-rtx", *precision_args(request.param))


def precision_args(precision: str) -> tuple[str, ...]:
    if precision != "int8":
        return ("--precision", precision)
    return ("--precision", "int8", "--calib-size", "8", "--calib-method", "minmax")


# --- tensorrt: the device bundle --------------------------------------------------------------------


@pytest.mark.skipif(
    CAN_BUILD_TENSORRT, reason="TensorRT and a GPU are here: the engine is built (test_tensorrt_gpu.py)"
)
def test_tensorrt_bundle_without_builder(trt_bundle):
    manifest = read_manifest(trt_bundle)
    engine = manifest["engine"]
    assert engine["status"] == "not built"
    assert "'tensorrt' Python package" in engine["reason"] or HAS_TENSORRT
    assert engine["build_command"] == f"igcv-export build-engine {trt_bundle}"
    assert engine["plan"]["onnx"] == manifest["primary_artifact"] == "model.onnx"
    assert not (trt_bundle / "model.engine").exists()
    assert manifest["compatibility"] == {"parser": manifest["compatibility"]["parser"], "accepted": ["model.onnx"]}
    assert manifest["compatibility"]["parser"].startswith("TensorRT-RTX")
    assert manifest["parity"]["runtime"] == "onnxruntime"
    Bundle.load(trt_bundle)


@pytest.mark.skipif(CAN_BUILD_TENSORRT, reason="TensorRT and a GPU are here")
def test_tensorrt_cli_says_so_in_one_line(trt_export):
    bundle, out, err = trt_export
    notes = [line for line in err.splitlines() if "model.engine" in line]
    assert len(notes) == 1 and "not built" in notes[0] and f"igcv-export build-engine {bundle}" in notes[0]
    assert f"igcv-export build-engine {bundle}" in out


def test_tensorrt_int8_bundle(tmp_path_factory, tmp_path):
    """Q/DQ ONNX for TensorRT 11, FP32 ONNX + calibration cache for TensorRT 10; both parse."""
    from igcv_deploy.calibration.trt_cache import read_calibration_cache
    from igcv_deploy.exporters.tensorrt.builder import BuildPlan, build
    from igcv_deploy.exporters.tensorrt.library import load_builder

    bundle = export(tmp_path_factory, "--target", "tensorrt", *precision_args("int8"))
    manifest = read_manifest(bundle)
    plan = manifest["engine"]["plan"]
    assert (plan["onnx"], plan["implicit_onnx"], plan["calibration_cache"]) == (
        "model_qdq.onnx",
        "model.onnx",
        "calibration.cache",
    )
    assert manifest["compatibility"]["accepted"] == ["model_qdq.onnx", "model.onnx"]
    header, scales = read_calibration_cache(bundle / "calibration.cache")
    assert header == "TRT-100300-MinMaxCalibration" and "input" in scales
    assert "calibration" in manifest and manifest["artifacts"]["model.onnx"]["precision"] == "fp32"
    # The strongly typed path a TensorRT 11 device takes, run by TensorRT-RTX's identical builder API.
    copy = shutil.copytree(bundle, tmp_path / "bundle")
    assert build(load_builder("tensorrt_rtx"), BuildPlan(**plan), copy)["source"] == "model_qdq.onnx"


BUILD_ENGINE = """
import sys
sys.modules["torch"] = None  # any torch import on this path fails loudly
from igcv_deploy.exporters.tensorrt.build_engine import main
code = main(sys.argv[1:])
assert "torch" not in [name for name, module in sys.modules.items() if module is not None], "torch imported"
sys.exit(code)
"""


def build_engine(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BUILD_ENGINE, *map(str, args)], capture_output=True, text=True)


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed here")
def test_build_engine_without_tensorrt_fails_in_one_line(trt_bundle):
    result = build_engine(trt_bundle)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: TensorRT (the 'tensorrt' Python package) is not installed "
        "(on a Jetson it comes with JetPack (python3-libnvinfer); on a desktop GPU: pip install tensorrt)"
    ]
    assert result.stdout == ""


def test_build_engine_checks_hashes_first(trt_bundle, tmp_path):
    copy = shutil.copytree(trt_bundle, tmp_path / "bundle")
    (copy / "model.onnx").write_bytes((copy / "model.onnx").read_bytes() + b"\0")
    result = build_engine(copy)
    assert result.returncode == 1
    assert "model.onnx' does not match its manifest sha256" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_build_engine_refuses_other_bundles(rtx_bundle):
    result = build_engine(rtx_bundle)
    assert result.returncode == 1 and "is not a tensorrt bundle" in result.stderr


# --- tensorrt-rtx: engines built here -----------------------------------------------------------


def test_rtx_engine_built_from_our_bundle(rtx_bundle):
    manifest = read_manifest(rtx_bundle)
    engine, precision = manifest["engine"], manifest["precision"]
    assert engine["status"] == "built" and engine["library"] == "tensorrt_rtx" and engine["mode"] == "strongly typed"
    assert engine["source"] == {"fp32": "model.onnx", "fp16": "model.onnx", "int8": "model_qdq.onnx"}[precision]
    assert engine["compute_capabilities"] == ["8.0", "8.6", "8.9", "12.0"]
    assert manifest["primary_artifact"] == "model.engine"
    assert (rtx_bundle / "model.engine").stat().st_size == engine["size_bytes"] > 100_000
    assert (
        engine["parity"].startswith("not measured") if "parity" in engine else "model.engine" in manifest["artifacts"]
    )
    Bundle.load(rtx_bundle)
    print(f"{precision}: TRT-RTX build {engine['build_seconds']} s, {engine['size_bytes'] / 2**20:.1f} MB")


def test_rtx_engine_layers(rtx_bundle):
    report = json.loads((rtx_bundle / "engine_layers.json").read_text())
    types = {layer["type"] for layer in report["network_layers"]}
    assert "CONVOLUTION" in types
    outputs = {dtype for layer in report["network_layers"] for dtype in layer["outputs"]}
    expected = {"fp32": "FLOAT", "fp16": "HALF", "int8": "INT8"}[read_manifest(rtx_bundle)["precision"]]
    assert expected in outputs
    if not cuda_compute_capabilities():
        assert "needs a CUDA device" in report["unavailable"]["engine_layers"]


def test_rtx_dynamic_batch_and_compute_capabilities(tmp_path_factory):
    bundle = export(
        tmp_path_factory,
        "--target",
        "rtx",
        "--precision",
        "fp16",
        "--dynamic-batch",
        "--batch",
        "4",
        "--compute-capability",
        "8.6",
        "12.0",
    )
    engine = read_manifest(bundle)["engine"]
    assert engine["compute_capabilities"] == ["8.6", "12.0"]
    assert engine["profile"] == {"min": [1, 3, 64, 64], "opt": [4, 3, 64, 64], "max": [32, 3, 64, 64]}


def test_unknown_compute_capability(workdir, run_cli):
    code, _, err = run_cli(*SMALL, "--target", "rtx", "--compute-capability", "9.0", "--output", "b")
    assert code == 2 and "unknown --compute-capability 9.0" in err and "8.6" in err


def test_turing_fp32_gemm_fails_clearly(tmp_path):
    from igcv_deploy.exporters.tensorrt.builder import BuildPlan, build
    from igcv_deploy.exporters.tensorrt.library import load_builder

    onnx.save(tiny_gemm(), tmp_path / "model.onnx")
    with pytest.raises(IGCVError) as raised:
        build(
            load_builder("tensorrt_rtx"),
            BuildPlan("fp32", "model.onnx", "x", [1, 8], compute_capabilities=["7.5"]),
            tmp_path,
        )
    assert "FP32 GEMM is not supported" in raised.value.problem and "--precision fp16" in raised.value.fix


def tiny_gemm():
    import numpy as np
    from onnx import helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 8), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
        "gemm",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# --- parser compatibility ----------------------------------------------------------------------------


def zoo_models():
    from igcv_deploy.models import list_models

    return list_models()


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo_models())
def test_parser_accepts_every_zoo_model(name, tmp_path):
    """The ONNX our exporter writes for every registered model, at a small input size."""
    from igcv_deploy.exporters.base_onnx import base_onnx
    from igcv_deploy.exporters.context import ExportContext, ExportRequest
    from igcv_deploy.exporters.prepared_model import prepare_model
    from igcv_deploy.exporters.tensorrt.compat import check_compatibility
    from igcv_deploy.models import get_config

    request = ExportRequest(name, imgsz=min(64, get_config(name).input_size[1]))
    prepared = prepare_model(request)
    ctx = ExportContext(
        request, "onnx", "fp32", prepared, tmp_path, tmp_path, None, None, {"model": {"weights": prepared.weights}}
    )
    path = base_onnx(ctx)
    assert check_compatibility(path.parent, [path.name])["accepted"] == [path.name]


def test_parser_names_unsupported_nodes(tmp_path):
    from onnx import helper

    from igcv_deploy.exporters.tensorrt.compat import check_compatibility

    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"], name="relu0"),
            helper.make_node("FancyOp", ["r"], ["y"], name="fancy0", domain="custom"),
        ],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)])
    onnx.save(model, tmp_path / "bad.onnx")
    with pytest.raises(IGCVError) as raised:
        check_compatibility(tmp_path, ["bad.onnx"])
    assert "cannot parse bad.onnx" in raised.value.problem
    assert "fancy0 (FancyOp)" in raised.value.problem and "relu0" not in raised.value.problem


# --- TensorRT 10 pieces (no TensorRT 10 here: checked against a stand-in of its API) --------------


def test_calibration_cache_is_retagged_for_the_device():
    from igcv_deploy.exporters.tensorrt.trt10 import retag, version_tag

    assert version_tag("10.3.0.30") == 100300 and version_tag("8.6.1") == 80601
    cache = b"TRT-100300-MinMaxCalibration\ninput: 3c010a14\n"
    assert retag(cache, "10.7.0.23") == (b"TRT-100700-MinMaxCalibration\ninput: 3c010a14\n", "MinMaxCalibration")


def test_trt10_int8_sets_flags_and_calibrator(tmp_path):
    from igcv_deploy.exporters.tensorrt.builder import BuildPlan
    from igcv_deploy.exporters.tensorrt.trt10 import set_precision

    (tmp_path / "calibration.cache").write_bytes(b"TRT-100300-EntropyCalibration2\ninput: 3c010a14\n")
    config = SimpleNamespace(
        flags=[],
        set_flag=lambda flag: config.flags.append(flag),
        set_calibration_profile=lambda profile: setattr(config, "profile", profile),
    )
    trt = SimpleNamespace(
        BuilderFlag=SimpleNamespace(FP16="FP16", INT8="INT8"), IInt8EntropyCalibrator2=object, __version__="10.7.0.23"
    )
    plan = BuildPlan(
        "int8",
        "model_qdq.onnx",
        "input",
        [1, 3, 64, 64],
        implicit_onnx="model.onnx",
        calibration_cache="calibration.cache",
    )
    flags, calibrator = set_precision(trt, config, plan, tmp_path, profile="p")
    assert list(flags) == config.flags == ["FP16", "INT8"] and config.profile == "p"
    assert config.int8_calibrator is calibrator and calibrator.get_batch(["input"]) is None
    assert calibrator.read_calibration_cache().startswith(b"TRT-100700-EntropyCalibration2\n")
    library = SimpleNamespace(strongly_typed=False)
    assert plan.source(library) == "model.onnx"
    assert plan.source(SimpleNamespace(strongly_typed=True)) == "model_qdq.onnx"
