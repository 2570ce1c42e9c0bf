"""`igcv-profile verify` (here and --on), `igcv-profile tune --on` and `igcv-export --lowering tune --on`."""

from __future__ import annotations

import json
import shutil

import numpy as np

from igcv_deploy.bundle import MANIFEST, REFERENCE, write_manifest
from igcv_deploy.profiling.cli import main


def test_bundles_carry_a_small_hashed_reference_set(small_bundle):
    manifest = json.loads((small_bundle / MANIFEST).read_text())
    assert REFERENCE in manifest["files"] and (small_bundle / REFERENCE).stat().st_size < 1 << 20
    with np.load(small_bundle / REFERENCE) as data:
        assert data["input"].shape[1:] == (3, 64, 64) and data["input"].dtype == np.float32
        assert data["output_0"].shape == (len(data["input"]), 1000)


def test_verify_on_the_device_reproduces_the_export_parity(sshd, device, small_bundle, tmp_path, capsys):
    assert main(["verify", str(small_bundle), "--output", str(tmp_path / "here.json")]) == 0
    assert "ok: within the export's limits" in capsys.readouterr().out
    assert main(["verify", str(small_bundle), *sshd.args(), "--output", str(tmp_path / "there.json")]) == 0
    err = capsys.readouterr().err
    assert "[testdev] onnxruntime 1." in err and "max rel err" in err
    there = json.loads((tmp_path / "there.json").read_text())
    exported = json.loads((small_bundle / MANIFEST).read_text())["parity"]
    assert there["device"] == "testdev" and there["exceeded"] == []
    assert there["figures"]["n_samples"] == exported["n_samples"]  # at 64x64 the reference set holds every sample
    for key in ("max_rel_err", "cosine", "top1_agreement"):  # the same samples, runtime and version as the export
        assert np.isclose(there["figures"][key], exported[key], rtol=1e-3, atol=1e-9), key


def test_verify_refuses_a_tampered_reference(small_bundle, tmp_path, capsys):
    bundle = shutil.copytree(small_bundle, tmp_path / "b")
    with np.load(bundle / REFERENCE) as data:
        arrays = dict(data)
    np.savez_compressed(bundle / REFERENCE, input=arrays["input"], output_0=arrays["output_0"] * 1.5)
    assert main(["verify", str(bundle)]) == 1
    assert f"error: bundle file '{REFERENCE}' does not match its manifest sha256" in capsys.readouterr().err


def test_verify_fails_an_artifact_that_computes_the_wrong_thing(sshd, device, small_bundle, tmp_path, capsys):
    import onnx
    from onnx import numpy_helper

    bundle = shutil.copytree(small_bundle, tmp_path / "wrong")
    model = onnx.load(str(bundle / "model.onnx"))
    # the classifier bias, shifted: other outputs, and the hashes re-written to match
    bias = next(t for t in model.graph.initializer if list(t.dims) == [1000] and t.data_type == onnx.TensorProto.FLOAT)
    shifted = numpy_helper.to_array(bias) + np.linspace(0, 30, 1000, dtype=np.float32)
    bias.CopyFrom(numpy_helper.from_array(shifted, bias.name))
    onnx.save(model, str(bundle / "model.onnx"))
    write_manifest(bundle, {k: v for k, v in json.loads((bundle / MANIFEST).read_text()).items() if k != "files"})
    assert main(["verify", str(bundle)]) == 1
    assert "disagree with the export's reference in onnxruntime" in capsys.readouterr().err
    assert main(["verify", str(bundle), *sshd.args()]) == 1
    assert "error: testdev: the bundle's outputs disagree" in capsys.readouterr().err


def test_tune_on_the_device_writes_a_plan_it_measured(sshd, device, small_bundle, tmp_path, capsys):
    plan = tmp_path / "plan.json"
    quick = ["--rounds", "1", "--seconds", "0.01", "--threads", "1"]
    assert main(["tune", str(small_bundle), *quick, *sshd.args(), "--output", str(plan)]) == 0
    document = json.loads(plan.read_text())
    assert document["tuned_on"]["device"] == "testdev" and document["tuned_on"]["isa_class"]
    assert document["plan"] and set(document["plan"]) == set(document["blocks_ms"])


def test_export_tunes_on_the_device(sshd, device, tmp_path, monkeypatch, capsys):
    from igcv_deploy.cli import main as export
    from igcv_deploy.exporters import lowering

    monkeypatch.setattr(lowering, "TUNE_BUDGET_S", 2.0)
    out = tmp_path / "tuned"
    args = ["--model", "igcv3-0.25", "--imgsz", "64", "--lowering", "tune", "--output", str(out)]
    assert export([*args, "--on", "testdev", "--ssh-config", str(sshd.config)]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    record = manifest["folding"]["grouped_conv_lowering"]
    assert record["source"] == "plan file" and record["tuned_on"]["device"] == "testdev"
    assert record["tuned_on"]["cpu_model"] and manifest["device"]["isa_class"] == record["tuned_on"]["isa_class"]
    assert manifest["device"]["chosen_by"] == "--device"


def test_export_on_needs_lowering_tune_and_no_device_class(capsys):
    from igcv_deploy.cli import main as export

    assert export(["--model", "igcv3-0.25", "--on", "testdev"]) == 2
    assert "igcv-export --on measures the lowering on the device (add --lowering tune)" in capsys.readouterr().err
    assert export(["--model", "igcv3-0.25", "--lowering", "tune", "--device", "arm", "--on", "testdev"]) == 2
    assert "error: --on chooses the CPU class (the device's) (drop --device)" in capsys.readouterr().err
