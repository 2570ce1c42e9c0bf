"""Your own model in, verified bundle out: Python callables, .pt2 programs, foreign ONNX, nn.Module objects."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import igcv_deploy
from igcv_deploy.bundle import sha256
from igcv_deploy.runtimes.onnxruntime import OnnxRuntimeRunner

from .conftest import read_manifest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shufflenet_v2.py"
SHUFFLES = 4  # channel_shuffle calls in the example's four units
SMALL = ("--imgsz", "64")


def example_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("shufflenet_v2_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_ok(run_cli, *args) -> dict:
    code, _, err = run_cli(*args)
    assert code == 0, err
    return read_manifest(Path(args[args.index("--output") + 1]))


def assert_verified_and_folded(manifest: dict, source: str, shuffles: int = SHUFFLES) -> None:
    assert manifest["model"]["source"] == source
    assert manifest["parity"]["max_rel_err"] <= 1e-4 and manifest["parity"]["top1_agreement"] == 1.0
    assert manifest["folding"]["before"]["total"] >= shuffles
    assert manifest["folding"]["after"]["total"] <= manifest["folding"]["before"]["total"]


@pytest.mark.parametrize("target", ["onnx", "openvino"])
def test_python_file_callable(workdir, run_cli, target):
    manifest = export_ok(run_cli, "--model", f"{EXAMPLE}:build", "--target", target, *SMALL, "--output", "b")
    assert_verified_and_folded(manifest, "python")
    assert manifest["model"]["sha256"] == sha256(EXAMPLE)
    assert manifest["preprocessing"]["input_size"] == [3, 64, 64] and manifest["num_classes"] == 1000


def test_module_callable_with_num_classes(workdir, run_cli, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    args = ("--model", "shufflenet_v2:build", "--num-classes", "10", *SMALL, "--output", "b")
    manifest = export_ok(run_cli, *args)
    assert_verified_and_folded(manifest, "python")
    assert manifest["num_classes"] == 10


def test_exported_program(workdir, run_cli):
    program = torch.export.export(example_module().build(), (torch.zeros(1, 3, 64, 64),))
    torch.export.save(program, "net.pt2")
    manifest = export_ok(run_cli, "--model", "net.pt2", "--target", "openvino", *SMALL, "--output", "b")
    assert_verified_and_folded(manifest, "exported_program")
    assert manifest["model"]["name"] == "net"


def test_foreign_onnx_keeps_its_size_and_folds(workdir, run_cli):
    model = example_module().build()
    torch.onnx.export(model, (torch.zeros(1, 3, 80, 80),), "foreign.onnx", dynamo=False, input_names=["data"])
    manifest = export_ok(run_cli, "--model", "foreign.onnx", "--target", "openvino", "--output", "b")
    assert_verified_and_folded(manifest, "onnx")
    assert manifest["parity"]["reference"] == "onnxruntime (original ONNX file)"
    assert manifest["preprocessing"]["input_size"] == [3, 80, 80]
    assert manifest["model"]["macs"] > 0 and manifest["model"]["params"] > 0


def test_foreign_onnx_int8(workdir, run_cli):
    torch.onnx.export(example_module().build(), (torch.zeros(1, 3, 64, 64),), "f.onnx", dynamo=False)
    manifest = export_ok(run_cli, "--model", "f.onnx", "--precision", "int8", "--calib-size", "8", "--output", "b")
    assert manifest["model"]["source"] == "onnx" and manifest["calibration"]["n_samples"] == 8


def test_python_api_takes_a_module(workdir):
    bundle = igcv_deploy.export(example_module().build(), target="onnx", imgsz=64, output="b", force=True)
    assert_verified_and_folded(bundle.manifest, "python")
    outputs = OnnxRuntimeRunner(bundle.path / "model.onnx").run(np.zeros((1, 3, 64, 64), np.float32))
    assert outputs.shape == (1, 1000)


def test_preprocessing_flags_go_into_the_manifest(workdir, run_cli):
    args = (
        "--model",
        f"{EXAMPLE}:build",
        "--input-size",
        "3,72,64",
        "--mean",
        "0.5,0.5,0.5",
        "--std",
        "0.25,0.25,0.25",
    )
    manifest = export_ok(run_cli, *args, "--channel-order", "bgr", "--output", "b")
    preprocessing = manifest["preprocessing"]
    assert preprocessing["input_size"] == [3, 72, 64] and preprocessing["mean"] == [0.5, 0.5, 0.5]
    assert preprocessing["std"] == [0.25, 0.25, 0.25] and preprocessing["channel_order"] == "BGR"


IMGSZ = ("--imgsz", "64")


@pytest.mark.parametrize(
    "make, args, code, fragment",
    [
        (None, ("--model", "missing.py:build", *IMGSZ), 2, "does not exist"),
        (None, ("--model", f"{EXAMPLE}:missing", *IMGSZ), 2, "has no callable 'missing'"),
        ("raises", ("--model", "bad.py:build", *IMGSZ), 1, "raised ValueError: broken"),
        ("not_module", ("--model", "bad.py:build", *IMGSZ), 2, "returned int, not an nn.Module"),
        ("import_error", ("--model", "bad.py:build", *IMGSZ), 1, "No module named 'not_a_package_here'"),
        (None, ("--model", "not_a_package_here.models:build"), 1, "cannot import 'not_a_package_here.models'"),
        (None, ("--model", "missing.pt2"), 2, "does not exist"),
        ("bad_pt2", ("--model", "bad.pt2"), 1, "cannot load the torch.export program"),
        ("two_inputs", ("--model", "two.onnx"), 2, "takes 2 inputs (x, y); igcv-export exports single-image models"),
        ("dynamic", ("--model", "dyn.onnx"), 2, "pass --imgsz N or --input-size C,H,W"),
        (None, ("--model", f"{EXAMPLE}:build", "--weights", "w.pt"), 2, "--weights applies to registered models"),
        (None, ("--model", "igcv3-0.25", "--input-size", "3,64"), 2, "--input-size"),
        (None, ("--model", f"{EXAMPLE}:build", "--channel-order", "grb"), 2, "unknown --channel-order 'grb'"),
        (None, ("--model", f"{EXAMPLE}:build", "--imgsz", "64", "--input-size", "3,64,64"), 2, "pass only one"),
        (None, ("--model", "pytorchcv.models.shufflenetv2:shufflenetv2_wd2", *IMGSZ), 1, "fails on a 1x3x64x64 input"),
        (None, ("--model", "igcv3-0.25", "--imgsz", "0"), 2, "input size 3x0x0 has a dimension below 1"),
        (None, ("--model", "igcv3-0.25", "--imgsz", "-5"), 2, "has a dimension below 1"),
        (None, ("--model", "igcv3-0.25", "--imgsz", "100000"), 2, "GiB of memory is available"),
        (None, ("--model", "igcv3-0.25", "--input-size", "1,64,64"), 2, "takes 3 input channels, not 1"),
        (None, ("--model", "igcv3-0.25", "--mean", "0.5,0.5"), 2, "--mean has 2 values for 3 channels"),
    ],
)
def test_bad_user_models_fail_in_one_line(workdir, run_cli, make, args, code, fragment):
    if make:
        BAD_INPUTS[make](workdir)
    got, _, err = run_cli(*args, "--output", "b")
    assert got == code, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # step lines may come before
    assert len(errors) == 1 and fragment in errors[0], err
    assert "Traceback" not in err and not Path("b").exists()


def _python_file(body: str):
    return lambda folder: (folder / "bad.py").write_text(f"import torch\n\n\ndef build():\n    {body}\n")


def _two_inputs(folder: Path) -> None:
    x, y = (onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, 3, 8, 8]) for n in "xy")
    out = onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Add", ["x", "y"], ["z"])], "g", [x, y], [out])
    onnx.save(onnx.helper.make_model(graph), str(folder / "two.onnx"))


def _dynamic(folder: Path) -> None:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, "h", "w"])
    out = onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1, 3, "h", "w"])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["z"])], "g", [x], [out])
    onnx.save(onnx.helper.make_model(graph), str(folder / "dyn.onnx"))


BAD_INPUTS = {
    "raises": _python_file("raise ValueError('broken')"),
    "not_module": _python_file("return 3"),
    "import_error": lambda folder: (folder / "bad.py").write_text("import not_a_package_here\n"),
    "bad_pt2": lambda folder: shutil.copyfile(EXAMPLE, folder / "bad.pt2"),
    "two_inputs": _two_inputs,
    "dynamic": _dynamic,
}


def test_user_model_int8_on_its_own_image_folder(workdir, run_cli):
    """A 10-class user model calibrated on the user's labelled folder gets a top-1 before/after INT8 record."""
    from .calibration.test_image_folder import write_digits

    write_digits(workdir / "labelled")
    args = ("--model", f"{EXAMPLE}:build", "--num-classes", "10", "--imgsz", "32", "--precision", "int8")
    manifest = export_ok(run_cli, *args, "--calib-data", "labelled", "--calib-size", "16", "--output", "b")
    accuracy = manifest["accuracy"]
    assert accuracy["n_samples"] == 40 and "held-out split" in accuracy["dataset"]
    assert {"reference_top1", "quantized_top1", "drop_points"} <= set(accuracy)


@pytest.mark.parametrize("factory", ["shufflenetv2.shufflenetv2_wd2"])
def test_third_party_zoo_models(workdir, run_cli, factory):
    """pytorchcv's own model code, unmodified, in a user's file that gives it weights (no download here).

    One model end to end here; tests/graph/test_foreign_models.py folds pytorchcv's ShuffleNet, ShuffleNetV2 and
    IGCV3 for every runtime.

    PyTorch's default init leaves a deep net's logits nearly constant, where rounding alone moves them by 1e-3
    relative; the file uses the variance-preserving init an untrained zoo model gets, as a trained model would.
    """
    module, name = factory.rsplit(".", 1)
    Path("third_party.py").write_text(
        f"from pytorchcv.models.{module} import {name}\n"
        "from igcv_deploy.models.init import init_random_weights\n\n\n"
        f"def build():\n    return init_random_weights({name}())\n"
    )
    manifest = export_ok(run_cli, "--model", "third_party.py:build", "--target", "openvino", "--output", "b")
    assert manifest["model"]["source"] == "python" and manifest["parity"]["max_rel_err"] <= 1e-4
    assert manifest["preprocessing"]["input_size"] == [3, 224, 224]  # their pooling needs 224x224
    assert manifest["folding"]["before"]["total"] > 0


def test_fine_tuned_checkpoint_is_read_as_another_head(workdir, run_cli):
    from igcv_deploy.models import create_model
    from igcv_deploy.models.init import init_random_weights

    torch.save(init_random_weights(create_model("igcv3-0.25", num_classes=10)).state_dict(), "tuned.pt")
    code, _, err = run_cli("--model", "igcv3-0.25", "--weights", "tuned.pt", *IMGSZ, "--output", "b")
    assert code == 0, err
    assert "tuned.pt has a 10-class head; building igcv3-0.25 with num_classes=10" in err
    manifest = read_manifest(Path("b"))
    assert manifest["num_classes"] == 10 and manifest["model"]["name"] == "igcv3-0.25"
    assert manifest["parity"]["max_rel_err"] <= 1e-4
